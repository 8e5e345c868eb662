"""`congdanso` as operators run it (a real subprocess on a real data dir), then the accounts it made
used through the app: an officer logs in by phone + PIN + OTP, an agency gets OAuth client-credentials
tokens."""

from __future__ import annotations

import json
import os
import stat
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import TestClient
from sqlalchemy import text

from api.app import create_app
from api.settings import Settings
from storage.db import create_db_engine
from storage.migrate import current_revision, head_revision
from tests.factories import last_code

ROOT = Path(__file__).resolve().parents[2]
CONGDANSO = ROOT / ".venv" / "bin" / "congdanso"
AGENCY = {"code": "SOTP-DN", "name": "Sở Tư pháp Đà Nẵng"}
SCOPES = ("documents:issue", "consent:request")
OFFICER = {"phone": "0905123456", "e164": "+84905123456", "name": "Trần Thị Bích", "pin": "123456"}


@dataclass
class CliRuns:
    home: Path
    migrate: subprocess.CompletedProcess[str]
    agency: subprocess.CompletedProcess[str]
    officer: subprocess.CompletedProcess[str]
    duplicate: subprocess.CompletedProcess[str]
    unknown_scope: subprocess.CompletedProcess[str]

    @property
    def credentials(self) -> dict[str, str]:
        data: dict[str, str] = json.loads(self.agency.stdout)
        return data


def _env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WALLET_")}
    return env | {"WALLET_DATA_DIR": str(home), "WALLET_LOG_LEVEL": "warning"}


def _start(home: Path, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [str(CONGDANSO), *args],
        cwd=home.parent,
        env=_env(home),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _finish(process: subprocess.Popen[str]) -> subprocess.CompletedProcess[str]:
    stdout, stderr = process.communicate(timeout=120)
    return subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)


def _run(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return _finish(_start(home, *args))


@pytest.fixture(scope="module")
def cli(tmp_path_factory: pytest.TempPathFactory) -> CliRuns:
    """One data dir set up by the CLI; independent commands run side by side to keep this fast."""
    home = tmp_path_factory.mktemp("cli") / "data"
    migrated = _run(home, "migrate")
    scopes = ["--scopes", *SCOPES]
    agency = _run(home, "agency", "create", "--code", AGENCY["code"], "--name", AGENCY["name"], *scopes, "--json")
    started = [
        _start(
            home,
            *("officer", "create", "--phone", OFFICER["phone"], "--name", OFFICER["name"]),
            *("--agency", AGENCY["code"], "--pin", OFFICER["pin"], "--json"),
        ),
        _start(home, "agency", "create", "--code", AGENCY["code"], "--name", "Another name", "--json"),
        _start(home, "agency", "create", "--code", "OTHER", "--name", "N", "--scopes", "documents:burn", "--json"),
    ]
    officer, duplicate, unknown_scope = (_finish(p) for p in started)
    return CliRuns(home, migrated, agency, officer, duplicate, unknown_scope)


@pytest.fixture(scope="module")
def client(cli: CliRuns) -> Iterator[TestClient[Litestar]]:
    settings = Settings(data_dir=cli.home, log_level="warning")
    with TestClient(create_app(settings)) as client:
        yield client


def _token(client: TestClient[Litestar], **form: str) -> Any:
    return client.post("/api/v1/oauth/token", data=form)


def _credentials_form(cli: CliRuns, **extra: str) -> dict[str, str]:
    creds = cli.credentials
    return {"grant_type": "client_credentials", **creds} | extra


class TestMigrate:
    def test_brings_every_database_to_head(self, cli: CliRuns) -> None:
        assert cli.migrate.returncode == 0, cli.migrate.stderr
        assert "database at head" in cli.migrate.stdout
        settings = Settings(data_dir=cli.home)
        for chain, url in [
            ("main", settings.resolved_database_url),
            ("throttle", settings.resolved_throttle_url),
            ("keystore", settings.resolved_keystore_url),
        ]:
            engine = create_db_engine(url, pool_size=1)
            try:
                assert current_revision(engine, chain=chain) == head_revision(chain)  # type: ignore[arg-type]
            finally:
                engine.dispose()

    def test_the_data_dir_is_private_to_the_service(self, cli: CliRuns) -> None:
        # The container asks for 0700 (`data_dir.mkdir(mode=0o700)`), but `migrate` creates the
        # folders first, through `create_db_engine`, with the default umask.
        for folder in (cli.home, cli.home / "keys"):
            assert stat.S_IMODE(folder.stat().st_mode) & 0o077 == 0, f"{folder} is open to other users"


class TestAgencyCreate:
    def test_prints_the_client_credentials_as_json(self, cli: CliRuns) -> None:
        assert cli.agency.returncode == 0, cli.agency.stderr
        creds = cli.credentials
        assert set(creds) == {"client_id", "client_secret"}
        assert creds["client_id"] and len(creds["client_secret"]) >= 32

    def test_the_secret_is_not_stored_in_clear(self, cli: CliRuns) -> None:
        creds = cli.credentials
        files = [p for p in cli.home.rglob("*") if p.is_file()]
        assert any(p.name == "wallet.db" for p in files)
        # The client id is stored as is: finding it proves the search looks in the right files.
        assert [p for p in files if creds["client_id"].encode() in p.read_bytes()]
        assert [p.name for p in files if creds["client_secret"].encode() in p.read_bytes()] == []
        assert creds["client_secret"] not in cli.agency.stderr

    def test_the_same_code_again_is_refused(self, cli: CliRuns) -> None:
        assert cli.duplicate.returncode != 0
        assert "agency_exists" in cli.duplicate.stderr
        assert "client_secret" not in cli.duplicate.stdout

    def test_an_unknown_scope_is_refused_and_nothing_is_created(self, cli: CliRuns) -> None:
        assert cli.unknown_scope.returncode != 0
        assert "documents:burn" in cli.unknown_scope.stderr
        engine = create_db_engine(Settings(data_dir=cli.home).resolved_database_url, pool_size=1)
        try:
            with engine.connect() as connection:
                count = connection.execute(text("SELECT count(*) FROM agency WHERE code = 'OTHER'")).scalar()
        finally:
            engine.dispose()
        assert count == 0


class TestAgencyScopes:
    """`congdanso agency scopes`: what an agency holds, granted and withdrawn; a withdrawal ends its tokens at once."""

    @staticmethod
    def bearer(client: TestClient[Litestar], creds: dict[str, str]) -> dict[str, str]:
        answer = _token(client, grant_type="client_credentials", **creds)
        assert answer.status_code == 200, answer.text
        return {"Authorization": f"Bearer {answer.json()['access_token']}"}

    def test_create_without_scopes_says_so_and_how_to_add(self, cli: CliRuns) -> None:
        made = _run(cli.home, "agency", "create", "--code", "BARE-DN", "--name", "Phòng không quyền", "--json")
        assert made.returncode == 0, made.stderr
        assert "agency BARE-DN holds the scopes: (none)" in made.stderr
        assert "congdanso agency scopes --code BARE-DN --add" in made.stderr
        assert "applications:process" in made.stderr

    def test_grant_then_withdraw_and_earlier_tokens_stop_at_once(
        self, cli: CliRuns, client: TestClient[Litestar]
    ) -> None:
        made = _run(cli.home, "agency", "create", "--code", "XNC-DN", "--name", "Phòng Xuất nhập cảnh", "--json")
        creds = json.loads(made.stdout)
        granted = _run(
            cli.home, "agency", "scopes", "--code", "XNC-DN", "--add", "stats:read", "applications:process", "--json"
        )
        assert granted.returncode == 0, granted.stderr
        assert json.loads(granted.stdout) == {"code": "XNC-DN", "scopes": ["applications:process", "stats:read"]}
        before = self.bearer(client, creds)
        assert client.get("/api/v1/stats", headers=before).status_code == 200
        assert client.get("/api/v1/agency/applications", headers=before).status_code == 200

        withdrawn = _run(cli.home, "agency", "scopes", "--code", "XNC-DN", "--remove", "stats:read", "--json")
        assert json.loads(withdrawn.stdout)["scopes"] == ["applications:process"], withdrawn.stderr
        for path in ("/api/v1/stats", "/api/v1/agency/applications"):
            assert client.get(path, headers=before).status_code == 401, path
        after = self.bearer(client, creds)
        refused = client.get("/api/v1/stats", headers=after)
        assert refused.status_code == 403 and refused.json()["code"] == "insufficient_scope", refused.text
        assert client.get("/api/v1/agency/applications", headers=after).status_code == 200

    def test_an_unknown_scope_changes_nothing(self, cli: CliRuns) -> None:
        refused = _run(cli.home, "agency", "scopes", "--code", AGENCY["code"], "--add", "documents:burn")
        assert refused.returncode != 0 and "documents:burn" in refused.stderr
        shown = _run(cli.home, "agency", "scopes", "--code", AGENCY["code"], "--json")
        assert json.loads(shown.stdout)["scopes"] == sorted(SCOPES)


class TestOfficerCreate:
    def test_prints_the_officer(self, cli: CliRuns) -> None:
        assert cli.officer.returncode == 0, cli.officer.stderr
        officer = json.loads(cli.officer.stdout)
        assert officer["phone"] == OFFICER["e164"]
        assert officer["agency"] == AGENCY
        assert officer["id"]

    def test_the_officer_logs_in_by_phone_pin_and_otp(self, cli: CliRuns, client: TestClient[Litestar]) -> None:
        challenge = client.post("/api/v1/auth/login", json={"phone": OFFICER["phone"], "pin": OFFICER["pin"]})
        assert challenge.status_code == 202, challenge.text
        assert challenge.json()["channel"] == "sms"
        code = last_code(cli.home / "outbox.jsonl", to=OFFICER["e164"])
        tokens = client.post(
            "/api/v1/auth/otp/verify", json={"challenge_id": challenge.json()["challenge_id"], "code": code}
        )
        assert tokens.status_code == 200, tokens.text
        pair = tokens.json()
        assert pair["officer_id"] == json.loads(cli.officer.stdout)["id"]
        assert pair["citizen_id"] is None
        me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {pair['access_token']}"})
        assert me.status_code == 200, me.text
        assert me.json()["agency"] == AGENCY
        assert me.json()["full_name"] == OFFICER["name"]

    def test_the_officer_acts_with_the_agencys_scopes_as_they_are_now(
        self, cli: CliRuns, client: TestClient[Litestar]
    ) -> None:
        challenge = client.post("/api/v1/auth/login", json={"phone": OFFICER["phone"], "pin": OFFICER["pin"]})
        code = last_code(cli.home / "outbox.jsonl", to=OFFICER["e164"])
        verify = {"challenge_id": challenge.json()["challenge_id"], "code": code}
        officer = {
            "Authorization": f"Bearer {client.post('/api/v1/auth/otp/verify', json=verify).json()['access_token']}"
        }
        unknown = "/api/v1/consent-requests/01a00000-0000-7000-8000-000000000000"
        assert client.get(unknown, headers=officer).status_code == 404  # past the guard: consent:request is held
        _run(cli.home, "agency", "scopes", "--code", AGENCY["code"], "--remove", "consent:request")
        try:
            refused = client.get(unknown, headers=officer)  # the same session, no new login
            assert refused.status_code == 403 and refused.json()["code"] == "insufficient_scope", refused.text
        finally:
            _run(cli.home, "agency", "scopes", "--code", AGENCY["code"], "--add", "consent:request")
        assert client.get(unknown, headers=officer).status_code == 404

    def test_a_wrong_pin_is_refused(self, client: TestClient[Litestar]) -> None:
        answer = client.post("/api/v1/auth/login", json={"phone": OFFICER["phone"], "pin": "654321"})
        assert answer.status_code == 401
        assert answer.json()["code"] == "invalid_credentials"


class TestAgencyToken:
    def test_client_credentials_give_a_short_token_with_every_granted_scope(
        self, cli: CliRuns, client: TestClient[Litestar]
    ) -> None:
        answer = _token(client, **_credentials_form(cli))
        assert answer.status_code == 200, answer.text
        body = answer.json()
        assert body["token_type"] == "Bearer"
        assert body["expires_in"] == 900
        assert set(body["scope"].split()) == set(SCOPES)
        assert body["access_token"].count(".") == 2

    def test_a_narrower_scope_can_be_asked(self, cli: CliRuns, client: TestClient[Litestar]) -> None:
        answer = _token(client, **_credentials_form(cli, scope="consent:request"))
        assert answer.status_code == 200, answer.text
        assert answer.json()["scope"] == "consent:request"

    def test_a_wrong_secret_is_invalid_client(self, cli: CliRuns, client: TestClient[Litestar]) -> None:
        answer = _token(client, **_credentials_form(cli, client_secret="not-the-secret"))
        assert answer.status_code == 401
        assert answer.headers["content-type"].startswith("application/problem+json")
        assert answer.json()["code"] == "invalid_client"

    def test_an_unknown_client_is_invalid_client(self, cli: CliRuns, client: TestClient[Litestar]) -> None:
        answer = _token(client, **_credentials_form(cli, client_id="agency-0000000000000000"))
        assert answer.status_code == 401
        assert answer.json()["code"] == "invalid_client"

    def test_another_grant_is_unsupported(self, cli: CliRuns, client: TestClient[Litestar]) -> None:
        answer = _token(client, **_credentials_form(cli, grant_type="password"))
        assert answer.status_code == 400
        assert answer.json()["code"] == "unsupported_grant_type"

    def test_a_scope_not_granted_is_invalid_scope(self, cli: CliRuns, client: TestClient[Litestar]) -> None:
        answer = _token(client, **_credentials_form(cli, scope="documents:issue stats:read"))
        assert answer.status_code == 400
        assert answer.json()["code"] == "invalid_scope"

    def test_an_agency_token_cannot_read_me(self, cli: CliRuns, client: TestClient[Litestar]) -> None:
        token = _token(client, **_credentials_form(cli)).json()["access_token"]
        answer = client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
        assert answer.status_code == 403
        assert answer.json()["code"] == "forbidden"
