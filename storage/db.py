"""Database engine and sessions: SQLite (WAL) by default, PostgreSQL through the same code."""

from __future__ import annotations

import functools
import hashlib
import select
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import URL, Dialect, make_url
from sqlalchemy.exc import InvalidatePoolError
from sqlalchemy.pool import ConnectionPoolEntry
from sqlmodel import Session


def sqlite_url(path: Path) -> str:
    return f"sqlite:///{path}"


def create_db_engine(url: str, *, pool_size: int = 10) -> Engine:
    """Build the engine; SQLite gets WAL, a busy timeout and enforced foreign keys. A database error never repeats the
    statement's values (names, ID numbers…) in its message, so a logged fault carries no personal data."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database:
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": 30},
            pool_size=pool_size,
            max_overflow=pool_size,
            hide_parameters=True,
        )
        event.listen(engine, "connect", _configure_sqlite)
        event.listen(engine, "begin", _begin_immediate)
        return engine
    parsed, connect_args = _prepare_threshold(parsed)
    engine = create_engine(
        parsed, pool_size=pool_size, max_overflow=pool_size, hide_parameters=True, connect_args=connect_args
    )
    event.listen(engine, "checkout", functools.partial(_check_alive, engine.dialect))
    return engine


def _prepare_threshold(url: URL) -> tuple[URL, dict[str, Any]]:
    """`?prepare_threshold=none` (or a number) in a PostgreSQL URL sets psycopg's `prepare_threshold`.

    psycopg prepares a statement on the server after its fifth run on a connection; behind a pooler in transaction mode
    (PgBouncer 1.18) the next transaction may run on another server connection, which never saw it ("prepared statement
    _pg3_0 does not exist"). `none` turns automatic preparing off. Kept in the URL so that whatever reads the URL (every
    `congdanso` command, Alembic) connects the same way."""
    value = url.query.get("prepare_threshold")
    if value is None:
        return url, {}
    if not isinstance(value, str):
        raise ValueError("prepare_threshold appears more than once in the database URL")
    threshold = None if value.lower() == "none" else int(value)
    return url.difference_update_query(["prepare_threshold"]), {"prepare_threshold": threshold}


# A pooled server connection is checked at checkout without a round trip when it can be: a server that restarts or
# ends the backend (`pg_ctl stop`, `pg_terminate_backend`, an idle timeout) sends its FATAL message and closes the
# socket, so an idle connection that has anything to read is one to test, and one with nothing to read was alive a
# moment ago. Only a suspect connection, or one unused for PING_IDLE_SECONDS (a silently dropped one sends nothing),
# pays the ping; SQLAlchemy's `pool_pre_ping` paid one round trip at every checkout, a quarter of a short transaction.
# A failed check makes the pool reconnect this checkout and every connection older than it (`InvalidatePoolError`).
PING_IDLE_SECONDS = 10.0
_LAST_CHECKOUT = "cds_last_checkout"


def _check_alive(dialect: Dialect, dbapi_connection: Any, record: ConnectionPoolEntry, _proxy: Any) -> None:
    now = time.monotonic()
    idle = now - record.info.get(_LAST_CHECKOUT, now)
    record.info[_LAST_CHECKOUT] = now
    if idle < PING_IDLE_SECONDS and not _has_input(dbapi_connection):
        return
    try:
        dialect.do_ping(dbapi_connection)  # the ping `pool_pre_ping` sends (psycopg: the empty query)
    except Exception as exc:  # any failure: this connection is not to be used, a new one is made in its place
        raise InvalidatePoolError(f"connection check failed: {type(exc).__name__}") from exc


def _has_input(dbapi_connection: Any) -> bool:
    """Whether the idle connection's socket has something to read (or is closed): none is expected between
    transactions, so it is a server's goodbye (or, rarely, a notice) and the connection needs a real test."""
    try:
        fd = dbapi_connection.fileno()
    except Exception:  # the driver knows the connection is lost
        return True
    poller = select.poll()
    poller.register(fd, select.POLLIN | select.POLLPRI)
    return bool(poller.poll(0))


def _configure_sqlite(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
    # Let SQLAlchemy, not the driver, open transactions, so BEGIN IMMEDIATE below takes effect.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def _begin_immediate(connection: Any) -> None:
    # Writers take the write lock from the start, avoiding the upgrade deadlock of concurrent
    # read-then-write transactions; read-only work asks for a deferred BEGIN (see `read_only`).
    # Sent to the driver directly: through `exec_driver_sql` the BEGIN cost as much as a small query (SQLAlchemy's
    # execution path, its cursor and result), none of which it needs. A driver error raised here is wrapped by
    # SQLAlchemy's `begin` as any other (an OperationalError when the lock stays taken: tested).
    mode = connection.get_execution_options().get(_BEGIN_OPTION, "IMMEDIATE")
    connection.connection.driver_connection.execute(f"BEGIN {mode}")


_BEGIN_OPTION = "sqlite_begin"

# SQLite runs one writing transaction at a time (`BEGIN IMMEDIATE`); writers of one process that queue here get the
# lock as soon as it is released, instead of after SQLite's busy-handler back-off (sleeps of up to 100 ms a retry,
# which made the tail latency of concurrent writes p99 ~1 s at 16 connections). Taken only by a writer that holds no
# transaction yet, so none waits here while holding SQLite's lock. PostgreSQL needs none.
SQLITE_WRITERS = threading.Lock()
# A writer that cannot get its turn in this long goes on without it (SQLite's own busy handler then decides), so a
# mistake that made one thread wait for a turn it holds itself would cost this delay, never a hang.
SQLITE_QUEUE_TIMEOUT = 30.0


@contextmanager
def queued_writer(engine: Engine) -> Iterator[None]:
    """The process's SQLite writers' queue (`SQLITE_WRITERS`) around a writing transaction; nothing on PostgreSQL."""
    got = is_sqlite(engine) and SQLITE_WRITERS.acquire(timeout=SQLITE_QUEUE_TIMEOUT)
    try:
        yield
    finally:
        if got:
            SQLITE_WRITERS.release()


def read_only(engine: Engine) -> Engine:
    """The same engine and pool, for transactions that only read: on SQLite they take no write lock,
    so readers run in parallel under WAL. A write inside one may fail under contention."""
    if engine.dialect.name != "sqlite":
        return engine
    # Made once per engine and kept on it (a cycle the collector frees with the engine): making one costs as much
    # as a small query, and every read request asks for it.
    reader: Engine | None = getattr(engine, _READER_ATTRIBUTE, None)
    if reader is None:
        reader = engine.execution_options(**{_BEGIN_OPTION: "DEFERRED"})
        setattr(engine, _READER_ATTRIBUTE, reader)
    return reader


_READER_ATTRIBUTE = "_cds_read_only"


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


@contextmanager
def transaction(engine: Engine) -> Iterator[Session]:
    """A session committed on success and rolled back on any exception, except errors that declare
    `keeps_changes = True` (a counted failure, such as a wrong one-time code, must persist). On PostgreSQL the
    session joins its connection's transaction (`joined_session`); on SQLite it begins its own at first use, which
    takes the write lock (`BEGIN IMMEDIATE`) only when the work first touches the database."""
    connection, session = (
        (None, Session(engine, expire_on_commit=False)) if is_sqlite(engine) else joined_session(engine)
    )
    try:
        yield session
    except BaseException as exc:
        end_session(session, connection, commit=bool(getattr(exc, "keeps_changes", False)))
        raise
    end_session(session, connection, commit=True)


def joined_session(engine: Engine) -> tuple[Connection, Session]:
    """A connection with its transaction begun, and a session that joins that transaction and never ends it
    (`end_joined` does). Prebuilt statements then run on the connection itself (`connection_of`), and the session's
    own transaction bookkeeping, which cost about as much as a small statement, is never paid (PostgreSQL appends:
    ~10 % more a second)."""
    connection = engine.connect()
    connection.begin()
    return connection, Session(bind=connection, expire_on_commit=False, join_transaction_mode="rollback_only")


def end_session(session: Session | None, connection: Connection | None, *, commit: bool) -> None:
    """Commits or rolls back, and closes, a session of its own (no `connection`) or what `joined_session` began."""
    if connection is None:
        if session is not None:
            _end_own(session, commit=commit)
        return
    end_joined(session, connection, commit=commit)


def _end_own(session: Session, *, commit: bool) -> None:
    try:
        if commit:
            session.commit()
        else:
            session.rollback()
    finally:
        session.close()


def end_joined(session: Session | None, connection: Connection, *, commit: bool) -> None:
    """Ends what `joined_session` began: what the session holds pending is flushed first, as its own commit would."""
    try:
        if session is not None:
            try:
                if commit:
                    session.flush()
            except BaseException:
                commit = False
                raise
            finally:
                session.close()  # it joined the connection's transaction: closing it leaves that to the lines below
    finally:
        try:
            if commit:
                connection.commit()
            else:
                connection.rollback()
        finally:
            connection.close()


def lock_key(session: Session, namespace: str, key: str) -> None:
    """Hold a lock on (`namespace`, `key`) until the session's transaction ends: transactions that take the same one
    run one after the other, others are not held up. Meant for count-then-insert limits, taken right before the count.
    PostgreSQL: a transaction-level advisory lock; under READ COMMITTED the statement after it sees every row the
    previous holder committed. SQLite: nothing to do, a writing transaction already holds the whole database's write
    lock from its start (`BEGIN IMMEDIATE`, above)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": advisory_key(namespace, key)})


def advisory_key(namespace: str, key: str) -> int:
    """A stable signed 64-bit number for (`namespace`, `key`), the same in every process (unlike `hash`)."""
    digest = hashlib.blake2b(f"{namespace}\x00{key}".encode(), digest_size=8, person=b"cds-lock").digest()
    return int.from_bytes(digest, "big", signed=True)


T = TypeVar("T")


def connection_of(session: Session) -> Connection:
    """The connection a prebuilt Core statement of `session`'s runs on. A session bound to a connection (a reading
    unit's, `api.unit.UnitOfWork`) is in that connection's transaction: the statement runs on it directly, which
    skips the session's transaction bookkeeping (about a third of a small read's cost); any other session is asked."""
    bind = session.bind
    if isinstance(bind, Connection):
        return bind
    return session.connection()


def in_savepoint(session: Session, work: Callable[[], T], *, keep_counted: bool = False) -> T:
    """Run `work` in a savepoint: a failure undoes only what it did (the enclosing transaction stays usable); with
    `keep_counted`, a failure that `keeps_changes` (a counted wrong code) keeps what it did."""
    savepoint = session.begin_nested()
    try:
        done = work()
    except BaseException as exc:
        if keep_counted and getattr(exc, "keeps_changes", False):
            savepoint.commit()
        else:
            savepoint.rollback()
        raise
    savepoint.commit()
    return done
