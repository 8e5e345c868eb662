"""Fixtures for the notification tests: a migrated database, a key, a frozen clock."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine

from crypto.clock import FrozenClock
from notify.service import Notifier
from storage.db import create_db_engine, sqlite_url, transaction
from storage.migrate import upgrade
from tests.postgres import PostgresServer

START = datetime(2026, 11, 24, 8, 0, tzinfo=UTC)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(START)


@pytest.fixture
def key() -> bytes:
    return secrets.token_bytes(32)


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "wallet.db"


@pytest.fixture
def engine(db_path: Path) -> Iterator[Engine]:
    engine = create_db_engine(sqlite_url(db_path))
    upgrade(engine)
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PostgresServer]:
    with PostgresServer() as server:
        yield server


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def any_engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """The same test on SQLite and on a real PostgreSQL server."""
    if request.param == "sqlite":
        url = sqlite_url(tmp_path / "wallet.db")
    else:
        server: PostgresServer = request.getfixturevalue("pg_server")
        url = server.create_database(f"notify_{secrets.token_hex(4)}")
    engine = create_db_engine(url)
    upgrade(engine)
    yield engine
    engine.dispose()


def enqueue(engine: Engine, key: bytes, clock: FrozenClock, count: int = 1, **fields: str) -> list[str]:
    """Commit `count` notices (SMS to a test number unless told otherwise); returns their outbox ids."""
    message = {"channel": "sms", "to": "+84901234567", "body": "Mã OTP của bạn là 123456"} | fields
    with transaction(engine) as session:
        notifier = Notifier(session, key=key, clock=clock)
        return [notifier.send(**message) for _ in range(count)]  # type: ignore[arg-type]
