"""The PostgreSQL pool survives a server that restarts or ends a backend, without a ping at every checkout
(`storage.db._check_alive`): the next transaction, and the next request of the service, succeed."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from litestar.testing import TestClient
from sqlalchemy import Engine, text

import storage.db
from api.app import create_app
from api.cli import migrate
from audit.appends import chain_committed
from audit.checkpoints import CheckpointVerifier
from audit.service import Actor, AuditService
from audit.verification import verify_log
from crypto.clock import FrozenClock, SystemClock
from storage.db import create_db_engine, transaction
from storage.migrate import upgrade
from tests.integration.conftest import START, Wallet, settings_for
from tests.postgres import PostgresServer

pytestmark = pytest.mark.postgres

POOL = 3


@pytest.fixture(scope="module")
def pg() -> Iterator[PostgresServer]:
    """A server of this module's own: its tests stop and start it."""
    with PostgresServer() as server:
        yield server


@pytest.fixture
def engine(pg: PostgresServer, request: pytest.FixtureRequest) -> Iterator[Engine]:
    name = f"reconnect_{request.node.name.lower()}"[:60]
    engine = create_db_engine(pg.create_database(name), pool_size=POOL)
    yield engine
    engine.dispose()
    pg.drop_database(name)


@pytest.fixture
def pings(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """Every ping the pool's checkout check sends."""
    sent: list[object] = []
    real = engine.dialect.do_ping

    def counted(dbapi_connection: Any) -> bool:
        sent.append(dbapi_connection)
        return real(dbapi_connection)

    monkeypatch.setattr(engine.dialect, "do_ping", counted)
    return sent


def backend_pid(engine: Engine) -> int:
    with transaction(engine) as session:
        return int(session.execute(text("SELECT pg_backend_pid()")).scalar_one())


def fill_pool(engine: Engine) -> set[int]:
    """Open every connection of the pool at once and give them back; their backends' ids."""
    connections = [engine.connect() for _ in range(POOL)]
    pids = {int(c.execute(text("SELECT pg_backend_pid()")).scalar_one()) for c in connections}
    for connection in connections:
        connection.close()
    return pids


def test_a_restarted_server_costs_no_failed_transaction(pg: PostgresServer, engine: Engine) -> None:
    before = fill_pool(engine)
    pg.stop()
    pg.start()
    after = {backend_pid(engine) for _ in range(POOL * 2)}  # every pooled connection was cut
    assert after.isdisjoint(before)


def test_a_terminated_backend_is_replaced_at_checkout(pg: PostgresServer, engine: Engine) -> None:
    pid = backend_pid(engine)
    with psycopg.connect(pg.conninfo(), autocommit=True) as admin:
        assert admin.execute("SELECT pg_terminate_backend(%s, 5000)", (pid,)).fetchone() == (True,)
    assert backend_pid(engine) != pid


def test_a_live_connection_in_use_is_not_pinged(engine: Engine, pings: list[object]) -> None:
    fill_pool(engine)
    for _ in range(20):
        backend_pid(engine)
    assert pings == []


def test_a_connection_left_idle_is_pinged(engine: Engine, pings: list[object], monkeypatch: pytest.MonkeyPatch) -> None:
    backend_pid(engine)
    monkeypatch.setattr(storage.db, "PING_IDLE_SECONDS", 0.0)
    pid = backend_pid(engine)
    assert len(pings) == 1
    assert backend_pid(engine) == pid  # a ping that answers keeps the connection


def append(engine: Engine) -> None:
    actor = Actor("officer", "CA-DN", "Công an thành phố Đà Nẵng")
    with transaction(engine) as session:
        AuditService(session, SystemClock()).record("alice", actor, "qr_scan")


def test_appends_after_a_restart_make_one_chain(pg: PostgresServer, engine: Engine) -> None:
    upgrade(engine, chain="main")
    append(engine)
    fill_pool(engine)
    pg.stop()
    pg.start()
    for _ in range(POOL * 2):
        append(engine)
    assert chain_committed(engine) == POOL * 2 + 1
    report = verify_log(engine, CheckpointVerifier({}))
    assert report.ok and report.entries == POOL * 2 + 1


def test_the_next_request_after_a_restart_succeeds(pg: PostgresServer, tmp_path: Path) -> None:
    settings = settings_for(tmp_path, pg.create_database("reconnect_service"))
    migrate(settings)
    clock = FrozenClock(START)
    with TestClient(create_app(settings, clock=clock)) as client:
        _, tokens = Wallet(client.app, client, clock, settings).register()
        auth = {"Authorization": f"Bearer {tokens['access_token']}"}
        assert client.get("/api/v1/me", headers=auth).status_code == 200
        pg.stop()
        pg.start()
        assert client.get("/api/v1/me", headers=auth).status_code == 200
        assert client.get("/api/v1/me/access-log", headers=auth).status_code == 200
    pg.drop_database("reconnect_service")
