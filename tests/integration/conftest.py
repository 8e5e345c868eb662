"""An app per test on a real database, with a frozen clock so expiry boundaries are exact."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import TestClient

from api.app import create_app
from api.cli import migrate
from api.settings import Settings
from crypto.clock import FrozenClock
from tests.factories import e164, last_code, registration
from tests.seaweed import SeaweedServer

START = datetime(2026, 11, 24, 8, 0, 0, tzinfo=UTC)


@dataclass
class Wallet:
    """A running app, its client, its clock and its dev outbox."""

    app: Litestar
    client: TestClient[Litestar]
    clock: FrozenClock
    settings: Settings
    _counter_token: str | None = None

    @property
    def outbox(self) -> Path:
        return self.settings.outbox_file

    def post(self, path: str, json: Any = None, token: str | None = None, **kw: Any) -> Any:
        return self.client.post(f"/api/v1{path}", json=json, headers=_auth(token), **kw)

    def get(self, path: str, token: str | None = None, **kw: Any) -> Any:
        return self.client.get(f"/api/v1{path}", headers=_auth(token), **kw)

    def register(self, *, proofed: bool = False, **overrides: Any) -> tuple[dict[str, Any], dict[str, Any]]:
        """Register and verify a citizen (and, if `proofed`, have a counter officer raise them to level 2);
        returns (registration data, token pair)."""
        data = registration(**overrides)
        answer = self.post("/auth/register", data)
        assert answer.status_code == 202, answer.text
        code = last_code(self.outbox, to=e164(data["phone"]))
        tokens = self.post("/auth/otp/verify", {"challenge_id": answer.json()["challenge_id"], "code": code})
        assert tokens.status_code == 200, tokens.text
        if proofed:
            self.proof(tokens.json()["access_token"])
        return data, tokens.json()

    def counter_officer(self) -> str:
        """A signed-in one-stop officer of this wallet's counter agency (made once per wallet)."""
        if self._counter_token is None:
            from tests.integration.assurance_helpers import new_counter_officer

            self._counter_token = new_counter_officer(self).token
        return self._counter_token

    def proof(self, citizen_token: str) -> dict[str, Any]:
        """Counter proofing as at a one-stop counter: the citizen shows their QR, the officer scans it and
        confirms the card; returns the proofing answer."""
        officer = self.counter_officer()
        qr = self.get("/me/qr", citizen_token)
        assert qr.status_code == 200, qr.text
        scan = self.post("/verify/qr", {"token": qr.json()["token"]}, officer)
        assert scan.status_code == 200 and scan.json()["valid"], scan.text
        done = self.post("/identity/proofings", {"presence_id": scan.json()["presence_id"]}, officer)
        assert done.status_code == 201, done.text
        return dict(done.json())

    def login(self, national_id: str, pin: str) -> dict[str, Any]:
        answer = self.post("/auth/login", {"national_id": national_id, "pin": pin})
        assert answer.status_code == 202, answer.text
        return dict(answer.json())


def _auth(token: str | None) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"} if token else {}


def settings_for(tmp_path: Path, database_url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "data_dir": tmp_path / "data",
        "database_url": database_url,
        "argon2_time_cost": 1,
        "argon2_memory_kib": 1024,
        "log_json": True,
        "log_level": "warning",
        "register_per_ip_per_minute": 1000,
        "register_sms_per_ip_per_hour": 1000,
        "login_per_ip_per_minute": 1000,
    }
    values.update(overrides)
    return Settings(**values)


@pytest.fixture
def make_wallet(tmp_path: Path, database_url: str) -> Iterator[Callable[..., Wallet]]:
    clients: list[TestClient[Litestar]] = []

    def build(**overrides: Any) -> Wallet:
        settings = settings_for(tmp_path, database_url, **overrides)
        migrate(settings)
        clock = FrozenClock(START)
        app = create_app(settings, clock=clock)
        client = TestClient(app)
        client.__enter__()
        clients.append(client)
        return Wallet(app, client, clock, settings)

    yield build
    for client in clients:
        client.__exit__(None, None, None)


@pytest.fixture
def wallet(make_wallet: Callable[..., Wallet]) -> Wallet:
    return make_wallet()


@pytest.fixture(params=["local", pytest.param("s3", marks=pytest.mark.s3)])
def blob_backend(request: pytest.FixtureRequest) -> str:
    backend: str = request.param
    return backend


@pytest.fixture
def storage_overrides(blob_backend: str, request: pytest.FixtureRequest) -> Iterator[dict[str, Any]]:
    """Settings for the blob store under test: the local folder, or a fresh bucket on a real S3 server."""
    if blob_backend == "local":
        yield {}
        return
    seaweed: SeaweedServer = request.getfixturevalue("seaweed")
    bucket = f"wallet-{uuid.uuid4().hex[:16]}"
    seaweed.create_bucket(bucket)
    yield {
        "storage_url": seaweed.blob_store_url(bucket),
        "s3_access_key": seaweed.access_key,
        "s3_secret_key": seaweed.secret_key,
    }
    if seaweed.running:
        seaweed.client().remove_bucket(bucket)


@pytest.fixture
def any_wallet(make_wallet: Callable[..., Wallet], storage_overrides: dict[str, Any]) -> Wallet:
    """A wallet on every combination of database (SQLite, PostgreSQL) and blob store (local, S3)."""
    return make_wallet(**storage_overrides)
