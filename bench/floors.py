"""What the hot paths cannot go below on this stack, measured in this process in the same run as the paths.

Each figure is the cost of one piece a request of the service cannot skip: an Ed25519 verification (an access or QR
token) and signature (a QR token), the event loop's hop to a worker thread and back (how the service calls a
blocking driver), and a read transaction as a request's unit of work holds it (the citizen's login row and one more
row read by primary key, as `GET /me` reads its session and its profile: through an ORM `Session` over the engine,
through SQLAlchemy Core, as a reading unit makes them on its connection, and on SQLite through `sqlite3` itself).
`bench.fast_paths` adds them to the wallet's own floor (`GET /.well-known/jwks.json` under the same load) to give
each path's floor with one worker: the best its ratio against the bare app could be with every piece of the
service's own work removed.

Only SQLAlchemy, SQLModel, the drivers, anyio and `cryptography`: nothing of the service, so any commit is measured
against the same floors. Best of `ROUNDS` batches (the least disturbed), in microseconds.
"""

from __future__ import annotations

import os
import sqlite3
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import anyio
import anyio.to_thread
import sqlalchemy as sa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlmodel import Session

BATCH = 2_000  # calls per timed batch (a tenth of it for pieces that cross to PostgreSQL)
ROUNDS = 7
ROWS = 1_000  # rows of the table read by primary key
ROW_BYTES = 300  # a sealed profile's size

_METADATA = sa.MetaData()
_TABLE = sa.Table(
    "floor_rows",
    _METADATA,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("sealed", sa.LargeBinary, nullable=False),
)
BY_ID = sa.select(_TABLE.c.id, _TABLE.c.sealed).where(_TABLE.c.id == sa.bindparam("id"))


def per_call_us(call: Callable[[], object], batch: int = BATCH) -> float:
    best = float("inf")
    for _ in range(ROUNDS):
        started = time.perf_counter()
        for _ in range(batch):
            call()
        best = min(best, (time.perf_counter() - started) / batch)
    return best * 1e6


def crypto_floors() -> dict[str, float]:
    key = Ed25519PrivateKey.generate()
    public, message = key.public_key(), os.urandom(400)  # an access token's signing input is ~400 bytes
    signature = key.sign(message)
    aead, nonce = AESGCM(os.urandom(32)), os.urandom(12)
    sealed = aead.encrypt(nonce, os.urandom(ROW_BYTES), b"profile")
    return {
        "ed25519_verify_us": per_call_us(lambda: public.verify(signature, message)),
        "ed25519_sign_us": per_call_us(lambda: key.sign(message)),
        "aes_gcm_open_300b_us": per_call_us(lambda: aead.decrypt(nonce, sealed, b"profile")),
    }


def thread_hop_us() -> float:
    """One `anyio.to_thread.run_sync` of nothing, awaited from the event loop: the round trip to a worker thread."""

    async def hops() -> float:
        def nothing() -> None:
            return None

        best = float("inf")
        for _ in range(ROUNDS):
            started = time.perf_counter()
            for _ in range(BATCH // 4):
                await anyio.to_thread.run_sync(nothing)
            best = min(best, (time.perf_counter() - started) / (BATCH // 4))
        return best * 1e6

    return anyio.run(hops)


def _filled(engine: sa.Engine) -> sa.Engine:
    _METADATA.create_all(engine)
    with engine.begin() as connection:
        connection.execute(sa.delete(_TABLE))
        connection.execute(_TABLE.insert(), [{"id": f"row{i}", "sealed": os.urandom(ROW_BYTES)} for i in range(ROWS)])
    return engine


def transaction_floors(engine: sa.Engine, batch: int) -> dict[str, float]:
    """A read transaction of one and of two primary-key reads, through the ORM session a unit of work holds and
    through a Core connection; a writing one of two small inserts (on SQLite in the file's one write lock)."""

    def session_reads(count: int) -> Callable[[], None]:
        def read() -> None:
            with Session(engine, expire_on_commit=False) as session:
                for n in range(count):
                    session.execute(BY_ID, {"id": f"row{n * 7}"}).first()
                session.commit()

        return read

    written = iter(range(10**9))

    def two_inserts() -> None:  # the counter scan's presence record and access-log entry
        with Session(engine, expire_on_commit=False) as session:
            for _ in range(2):
                session.execute(_TABLE.insert(), {"id": f"new{next(written)}", "sealed": b"entry"})
            session.commit()

    def batch_of_16() -> None:  # 16 scans' two rows each, as the group commit writes them at 16 connections
        with engine.connect() as connection, connection.begin():
            for _ in range(32):
                connection.execute(_TABLE.insert(), {"id": f"new{next(written)}", "sealed": b"entry"})

    def core_reads(count: int) -> Callable[[], None]:
        def read() -> None:
            with engine.connect() as connection, connection.begin():
                for n in range(count):
                    connection.execute(BY_ID, {"id": f"row{n * 7}"}).first()

        return read

    return {
        "orm_read_txn_us": per_call_us(session_reads(1), batch),
        "orm_two_reads_txn_us": per_call_us(session_reads(2), batch),
        "core_read_txn_us": per_call_us(core_reads(1), batch),
        "core_two_reads_txn_us": per_call_us(core_reads(2), batch),
        "orm_write_txn_us": per_call_us(two_inserts, batch),
        "core_write_batch16_txn_us": per_call_us(batch_of_16, max(batch // 16, 10)),
    }


def sqlite_engine(path: Path) -> sa.Engine:
    """A WAL file with the service's pragmas, each read transaction a deferred `BEGIN` (a reading unit)."""
    engine = sa.create_engine(f"sqlite:///{path}", connect_args={"check_same_thread": False})

    @sa.event.listens_for(engine, "connect")
    def _pragmas(dbapi_connection: sqlite3.Connection, _record: object) -> None:
        dbapi_connection.isolation_level = None
        dbapi_connection.execute("PRAGMA journal_mode=WAL")
        dbapi_connection.execute("PRAGMA synchronous=NORMAL")

    @sa.event.listens_for(engine, "begin")
    def _deferred(connection: sa.Connection) -> None:
        connection.connection.driver_connection.execute("BEGIN DEFERRED")  # type: ignore[union-attr]

    return engine


# The stack's floor app (`bench.stack_floor_app`): its login row and its sealed profile row, sealed with a fixed,
# public benchmark key.
STACK_FLOOR_DB_ENV = "BENCH_STACK_FLOOR_DB"
STACK_FLOOR_KEY, STACK_FLOOR_NONCE, STACK_FLOOR_AAD = bytes(range(32)), bytes(12), b"profile"
STACK_FLOOR_LOGIN, STACK_FLOOR_PROFILE = "row7", "row14"


def stack_floor_database(path: Path) -> None:
    """The floor app's SQLite file: `ROWS` rows, the profile row's value sealed as a citizen's profile is."""
    engine = _filled(sqlite_engine(path))
    sealed = AESGCM(STACK_FLOOR_KEY).encrypt(STACK_FLOOR_NONCE, os.urandom(ROW_BYTES), STACK_FLOOR_AAD)
    with engine.begin() as connection:
        connection.execute(_TABLE.update().where(_TABLE.c.id == STACK_FLOOR_PROFILE).values(sealed=sealed))
    engine.dispose()


def sqlite_floors() -> dict[str, float]:
    """On a WAL file with the service's pragmas (`sqlite_engine`)."""
    with tempfile.TemporaryDirectory(prefix="bench-floors-") as tmp:
        path = Path(tmp) / "floors.db"
        engine = sqlite_engine(path)
        figures = transaction_floors(_filled(engine), BATCH)
        engine.dispose()
        raw = sqlite3.connect(path, isolation_level=None)

        def raw_read() -> None:
            raw.execute("BEGIN DEFERRED")
            raw.execute("SELECT id, sealed FROM floor_rows WHERE id = ?", ("row7",)).fetchone()
            raw.execute("COMMIT")

        figures["driver_read_txn_us"] = per_call_us(raw_read)
        raw.close()
    return figures


def postgres_floors(url: str) -> dict[str, float]:
    """Over the same local socket the service uses; each statement is a round trip."""
    engine = _filled(sa.create_engine(url, pool_size=2))
    try:
        figures = transaction_floors(engine, BATCH // 10)
        with engine.connect() as connection:
            driver = connection.connection.driver_connection
            driver.autocommit = True  # type: ignore[union-attr]

            def round_trip() -> None:
                driver.execute("SELECT 1").fetchone()  # type: ignore[union-attr]

            figures["round_trip_us"] = per_call_us(round_trip, BATCH // 10)
            driver.autocommit = False  # type: ignore[union-attr]
    finally:
        with engine.begin() as connection:
            _TABLE.drop(connection)
        engine.dispose()
    return figures


def measure(kind: str, database_url: str | None) -> dict[str, float]:
    """The floors of `kind` ("sqlite" or "postgres", at `database_url`) and the process-wide ones, by name."""
    database = sqlite_floors() if kind == "sqlite" else postgres_floors(str(database_url))
    figures = {f"{kind}_{name}": value for name, value in database.items()}
    return figures | crypto_floors() | {"thread_hop_us": thread_hop_us()}
