"""The request's one unit of work: one database session and one transaction, shared by the route's guard (for a
read), its dependencies and its handler, API and pages alike; committed before the answer goes out, rolled back on
any failure (except a counted failure that `keeps_changes`), and the notices queued in it sent only after the commit.

Whoever writes a handler takes `unit: UnitOfWork` and works in `unit.session`: in a `sync_to_thread` handler
directly, in an async one through `await unit.run(...)` (or `await unit.read(...)` for work that only reads the
database, which a reading unit on SQLite runs on the event loop). Domain services flush and never commit.

Transactions of their own, outside the request's unit, exist only where the request's transaction cannot serve,
each module with its reason in `OWN_TRANSACTIONS`; an architecture test holds the code to this list.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import AsyncGenerator, Callable
from typing import Any, TypeVar

import anyio
from litestar.connection import ASGIConnection
from sqlalchemy import Connection, Engine
from sqlmodel import Session

from api.container import Container
from identity.sessions import Principal, SessionService
from notify.service import Notifier
from storage.db import (
    SQLITE_QUEUE_TIMEOUT,
    SQLITE_WRITERS,
    end_session,
    in_savepoint,
    is_sqlite,
    joined_session,
    read_only,
    transaction,
)

T = TypeVar("T")

READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# A route that answers a GET but writes (an agency's or officer's read appends to the citizen's access log) says so
# in its handler's `opt`, so its unit is a writing one from the start (SQLite cannot safely upgrade a read).
WRITES = {"writes": True}
# A route whose every write runs in transactions of its own (an upload's two phases, `OWN_TRANSACTIONS`) reads in a
# reading unit, so it never waits on a lock its own request holds.
OWN_WRITES = {"writes": False}
_STATE_KEY = "cds_unit"

_TWO_PHASE = (
    "two-phase blob writes: a draft row commits before the bytes stream sealed to the store and the paper commits "
    "after, so a slow upload never holds a transaction (nor SQLite's write lock) open and a fault half-way leaves a "
    "draft for the janitor, never metadata pointing at nothing; what they read first is read in the same way"
)
_KEY_REPLACEMENT = (
    "a key replacement spans the key store (another database) and this one: the new key is destroyed again unless "
    "the records under it commit; and a one-time login state or ticket is used up (committed) whatever follows"
)
_OUTSIDE_REQUESTS = "not a request: a command, a background loop or a job, each step its own transaction"
# Every module that opens a transaction of its own (`storage.db.transaction`), and why;
# `tests/unit/test_own_transactions.py` fails on any other. A request's work goes through its unit.
OWN_TRANSACTIONS: dict[str, str] = {
    "api/uploads.py": _TWO_PHASE,
    "wallet/service.py": _TWO_PHASE,
    "wallet/issuer.py": _TWO_PHASE,
    "forms/results.py": _TWO_PHASE,
    "api/controllers/forms.py": _TWO_PHASE + " (a dossier's new paper)",
    "web/controllers/services_dossier.py": _TWO_PHASE + " (a dossier's new paper, from the pages)",
    "api/container.py": (
        "the holder's identity, read before an upload streams (`_TWO_PHASE`); and erasure: the citizen's key is "
        "destroyed only after the deletion of every record has committed, so a failure before leaves them whole"
    ),
    "assurance/eid_login.py": _KEY_REPLACEMENT,
    "assurance/recovery.py": _KEY_REPLACEMENT,
    "api/unit.py": (
        "a writing request's caller is checked in a short read before its unit begins (after the body is read, so a "
        "slow client never holds SQLite's write lock); a read request's idle-clock touch (at most once a minute) "
        "runs after its read-only transaction commits, as SQLite cannot upgrade a read under concurrent writers"
    ),
    "web/session.py": (
        "a page's token renewal rotates the refresh token and commits whatever the page then does: its new cookies "
        "go out"
    ),
    "storage/group_commit.py": (
        "the counter scan's presence record and access-log entry (`Container.scan_recorder`): its unit only reads, "
        "and the two rows go in a short transaction shared with other counters' scans, so scans never queue on the "
        "write lock for the length of their reads; the scan answers only after that transaction committed"
    ),
    "api/app.py": _OUTSIDE_REQUESTS,
    "api/cli.py": _OUTSIDE_REQUESTS,
    "api/cli_audit.py": _OUTSIDE_REQUESTS,
    "notify/dispatcher.py": _OUTSIDE_REQUESTS,
    "wallet/janitor.py": _OUTSIDE_REQUESTS,
}


class UnitOfWork:
    """The request's session and the notices it queued; the session (and its transaction) starts on first use."""

    def __init__(self, container: Container, *, writes: bool) -> None:
        self.container = container
        self.writes = writes
        self._session: Session | None = None
        self._connection: Connection | None = None
        self._notifier: Notifier | None = None
        self._after_commit: list[Callable[[], Any]] = []
        self._holds_queue = False
        self.finished = False
        self.committed = False

    @property
    def session(self) -> Session:
        if self._session is None:
            self._session = self._writing_session() if self.writes else self._reading_session()
        if not _on_event_loop():
            self._enter_queue()  # a `sync_to_thread` handler's first use (an async one's goes through `run`)
        return self._session

    def _writing_session(self) -> Session:
        if is_sqlite(self.container.engine):  # its own transaction, begun (`BEGIN IMMEDIATE`) by its first write
            return Session(self.container.engine, expire_on_commit=False)
        return self._joined(self.container.engine)

    def _reading_session(self) -> Session:
        """A reading unit's transaction is its own connection's, which the session joins: prebuilt statements then
        run on the connection itself (`storage.db.connection_of`), without the session's bookkeeping, which cost
        about as much as the statement: every read request pays it for its login check."""
        return self._joined(read_only(self.container.engine))

    def _joined(self, engine: Engine) -> Session:
        self._connection, session = joined_session(engine)
        return session

    @property
    def notifier(self) -> Notifier:
        if self._notifier is None:
            self._notifier = self.container.notifier(self.session)
        return self._notifier

    async def run(self, work: Callable[[], T]) -> T:
        """`work` (which uses `self.session`) in a worker thread: database calls never block the event loop."""
        return await anyio.to_thread.run_sync(lambda: self._queued(work))

    async def read(self, work: Callable[[], T]) -> T:
        """As `run`, for work that only reads the database and the key store: in a reading unit on SQLite it runs
        here, on the event loop, since reading in-process pages costs less than the two thread hops around it (the
        GIL serialises the work either way, and a WAL reader never waits on a writer)."""
        if self.reads_in_process:
            return work()
        return await self.run(work)

    @property
    def reads_in_process(self) -> bool:
        return not self.writes and is_sqlite(self.container.engine)

    async def attempt(self, work: Callable[[], T]) -> T:
        """As `run`, for a page that answers a refusal itself (an error summary) and lets the unit commit: a failing
        `work` leaves nothing of its own behind, except what a counted failure (`keeps_changes`) must keep."""
        return await anyio.to_thread.run_sync(
            lambda: self._queued(lambda: in_savepoint(self.session, work, keep_counted=True))
        )

    def _queued(self, work: Callable[[], T]) -> T:
        self._enter_queue()
        return work()

    def _enter_queue(self) -> None:
        # `storage.db.SQLITE_WRITERS`, held from the unit's first work to its end.
        # A unit whose transaction already began (its session reached outside `run`) holds SQLite's lock already:
        # it must never wait here for a unit that waits for that lock.
        if self.writes and not self._holds_queue and is_sqlite(self.container.engine):
            if self._session is not None and self._session.in_transaction():
                return
            self._holds_queue = SQLITE_WRITERS.acquire(timeout=SQLITE_QUEUE_TIMEOUT)

    def after_commit(self, work: Callable[[], Any]) -> None:
        """Work that needs the request's changes committed first, in its own transaction (`OWN_TRANSACTIONS`) or
        outside the database (deleting a deleted paper's blobs): a function, run in a worker thread, that may return
        a coroutine, awaited on the event loop; skipped when the unit rolls back."""
        self._after_commit.append(work)

    @property
    def ends_instantly(self) -> bool:
        """Nothing to end, or a read on SQLite (ending it releases an in-process read snapshot): no I/O to wait for."""
        return self._session is None or self.reads_in_process

    def finish(self, *, commit: bool) -> None:
        if self.finished:
            return
        self.finished = True
        try:
            end_session(self._session, self._connection, commit=commit)
        finally:
            if self._holds_queue:
                self._holds_queue = False
                SQLITE_WRITERS.release()
        self.committed = commit

    async def settle(self) -> None:
        """After a committed `finish`: the after-commit work, then the queued notices go out (the periodic
        dispatcher retries whatever fails here)."""
        if not self.committed:
            return
        for work in self._after_commit:
            done = await anyio.to_thread.run_sync(work)
            if inspect.isawaitable(done):  # a coroutine to await here, on the event loop
                await done
        queued = list(self._notifier.queued_ids) if self._notifier is not None else []
        if queued:
            await self.container.dispatcher.dispatch(queued)


def _on_event_loop() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


def unit_of(connection: ASGIConnection[Any, Any, Any, Any]) -> UnitOfWork:
    """The request's unit, made on first call (by the guard or by the `unit` dependency) and kept in its scope."""
    state: dict[str, Any] = connection.scope.setdefault("state", {})
    unit = state.get(_STATE_KEY)
    if not isinstance(unit, UnitOfWork):
        handler = connection.scope.get("route_handler")
        opt: dict[str, Any] = getattr(handler, "opt", {}) or {}
        writes = bool(opt.get("writes", connection.scope.get("method", "GET") not in READ_METHODS))
        unit = UnitOfWork(connection.app.state.container, writes=writes)
        state[_STATE_KEY] = unit
    return unit


def check_caller(unit: UnitOfWork, container: Container, token: str) -> Principal:
    """The token and its session. A read request checks them in its own unit (one transaction for the whole
    request); a writing one in a short read of its own, so its unit begins only when the handler first writes
    (`api.unit.OWN_TRANSACTIONS`). The idle clock, when due, is written after the read's commit."""
    if unit.writes:
        with transaction(read_only(container.engine)) as session:
            principal, seen_due = SessionService(session, container.identity).authenticate_readonly(token)
    else:
        principal, seen_due = SessionService(unit.session, container.identity).authenticate_readonly(token)
    if seen_due and principal.session_id:
        unit.after_commit(lambda: touch_session(container, principal.session_id or ""))
    return principal


async def checked_caller(unit: UnitOfWork, token: str) -> Principal:
    """`check_caller` from the event loop: on SQLite right here (a short in-process read, see `UnitOfWork.read`),
    on PostgreSQL in a worker thread."""
    container = unit.container
    if is_sqlite(container.engine):
        return check_caller(unit, container, token)
    return await anyio.to_thread.run_sync(lambda: check_caller(unit, container, token))


def touch_session(container: Container, session_id: str) -> None:
    with transaction(container.engine) as session:
        SessionService(session, container.identity).touch(session_id)


async def provide_unit(request: Any) -> AsyncGenerator[UnitOfWork, None]:
    """The `unit` dependency: committed when the handler returns, before the answer is sent."""
    unit = unit_of(request)
    try:
        yield unit
    except Exception as exc:
        # Counted failures (a wrong OTP, a reused refresh token) must persist although the request fails.
        await _finish(unit, commit=bool(getattr(exc, "keeps_changes", False)))
        raise
    await _finish(unit, commit=True)
    await unit.settle()


async def close_unit(scope: Any) -> None:
    """After the answer: a unit no handler took (its guard refused, or its handler needs no database) is closed,
    committing what a read did (an idle-clock touch waits on it)."""
    state = scope.get("state") or {}
    unit = state.get(_STATE_KEY)
    if isinstance(unit, UnitOfWork) and not unit.finished:
        await _finish(unit, commit=not unit.writes)
        await unit.settle()


async def _finish(unit: UnitOfWork, *, commit: bool) -> None:
    if unit.ends_instantly:
        unit.finish(commit=commit)  # a thread hop would cost more than the work
    else:
        await anyio.to_thread.run_sync(lambda: unit.finish(commit=commit))
