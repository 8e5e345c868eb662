"""An app per test on a real database, with a frozen clock so expiry boundaries are exact.

End-to-end mode (`make test-stack-e2e`, tests/stack/e2e.py): with `WALLET_TEST_BASE_URL` (the load balancer of a
running stack) and `WALLET_TEST_DATA_DIR` (its data folder, whose dev outbox holds the codes) set, only the tests marked
`e2e` run, and their wallet speaks HTTP to the stack instead of holding an app in this process. Such a test uses only
the API and the dev outbox: the injected clock and the app's internals are not there, and touching them fails."""

from __future__ import annotations

import functools
import os
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from litestar import Litestar
from litestar.datastructures import State
from litestar.testing import TestClient

from api.app import create_app
from api.cli import migrate
from api.container import Container, build_container
from api.settings import Settings
from crypto.clock import FrozenClock
from tests.factories import e164, last_code, registration
from tests.seaweed import SeaweedServer

START = datetime(2026, 11, 24, 8, 0, 0, tzinfo=UTC)
E2E_BASE_URL = os.environ.get("WALLET_TEST_BASE_URL")
E2E_DATA_DIR = os.environ.get("WALLET_TEST_DATA_DIR")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """End-to-end mode keeps the tests marked `e2e` only: the others need the app in this process."""
    if E2E_BASE_URL is None:
        return
    kept = [item for item in items if item.get_closest_marker("e2e") is not None]
    if len(kept) < len(items):
        config.hook.pytest_deselected(items=[item for item in items if item not in kept])
        items[:] = kept


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


class InProcessOnly:
    """Stands for the app or the clock of an in-process wallet in end-to-end mode: any use fails, naming the test's
    need (such a test is not one to mark `e2e`)."""

    def __init__(self, what: str) -> None:
        self._what = what

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"an end-to-end test cannot use the in-process {self._what} ({name}): not an e2e test")


class StackClock(InProcessOnly):
    """The stack's time is the wall clock: it can be read, never moved."""

    def __init__(self) -> None:
        super().__init__("clock")

    def now(self) -> datetime:
        return datetime.now(UTC)


class StackApp(InProcessOnly):
    """The app's stand-in in end-to-end mode: only `state.container`, a container on the stack's own settings in
    this process, for the operator's side of a test's setup (an agency or officer created as `congdanso agency
    create` does with the stack's data folder). Every request still goes through the load balancer."""

    def __init__(self, settings: Settings) -> None:
        super().__init__("app")
        self._settings = settings

    @property
    def state(self) -> State:
        return State({"container": _stack_container(self._settings.data_dir)})


@functools.cache
def _stack_container(data_dir: Path) -> Container:
    return build_container(Settings(data_dir=data_dir))


def stack_wallet(**overrides: Any) -> Wallet:
    """A wallet speaking HTTP to the running stack's load balancer; the stack's own settings (settings.env)."""
    assert E2E_BASE_URL is not None and E2E_DATA_DIR is not None, "WALLET_TEST_DATA_DIR names the stack's data folder"
    if overrides:
        raise AssertionError(f"an end-to-end wallet takes the stack's settings, not {sorted(overrides)}")
    client: Any = httpx.Client(base_url=E2E_BASE_URL, timeout=30)
    clock: Any = StackClock()
    settings = Settings(data_dir=Path(E2E_DATA_DIR))
    app: Any = StackApp(settings)
    return Wallet(app, client, clock, settings)


@pytest.fixture
def make_wallet(tmp_path: Path, database_url: str) -> Iterator[Callable[..., Wallet]]:
    clients: list[TestClient[Litestar]] = []
    if E2E_BASE_URL is not None:
        yield stack_wallet
        return

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
