"""The request's one unit of work: one database session and one transaction, shared by the route's guard (for a
read), its dependencies and its handler, API and pages alike; committed before the answer goes out, rolled back on
any failure (except a counted failure that `keeps_changes`), and the notices queued in it sent only after the commit.

Whoever writes a handler takes `unit: UnitOfWork` and works in `unit.session`: in a `sync_to_thread` handler
directly, in an async one through `await unit.run(...)`. Domain services flush and never commit.

Transactions of their own, outside the request's unit, exist only where the request's transaction cannot serve,
each for its reason (`OWN_TRANSACTIONS`); an architecture test holds the controllers and pages to this list.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Callable
from typing import Any, TypeVar

import anyio
from litestar.connection import ASGIConnection
from sqlmodel import Session

from api.container import Container
from identity.sessions import Principal, SessionService
from notify.service import Notifier
from storage.db import read_only, transaction

T = TypeVar("T")

READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# A route that answers a GET but writes (an agency's or officer's read appends to the citizen's access log) says so
# in its handler's `opt`, so its unit is a writing one from the start (SQLite cannot safely upgrade a read).
WRITES = {"writes": True}
_STATE_KEY = "cds_unit"

OWN_TRANSACTIONS: dict[str, str] = {
    "api/uploads.py, wallet/service.py (upload start and finish)": (
        "two-phase blob writes: the draft row commits before the bytes stream to the store and the paper commits "
        "after, so a slow upload never holds a transaction open and a fault half-way leaves a draft for the janitor, "
        "never metadata pointing at nothing"
    ),
    "api/auth.py, web/session.py (caller check of a writing request)": (
        "a writing request's transaction begins when its handler first touches the database, after the body has "
        "been read, so a slow client never holds SQLite's write lock; its caller is checked before that in a short "
        "read of its own (a read request's check runs inside the unit)"
    ),
    "api/unit.py (idle-clock touch, token renewal)": (
        "a read request writes the session's idle clock (at most once a minute) after its read-only transaction "
        "commits, in a short writing one: SQLite cannot upgrade a read transaction under concurrent writers"
    ),
    "api/container.py (erasure)": (
        "the citizen's key is destroyed only after the erasure of every record has committed, so a failure before "
        "leaves the citizen whole, and the key store is another database"
    ),
}


class UnitOfWork:
    """The request's session and the notices it queued; the session (and its transaction) starts on first use."""

    def __init__(self, container: Container, *, writes: bool) -> None:
        self.container = container
        self.writes = writes
        self._session: Session | None = None
        self._notifier: Notifier | None = None
        self._after_commit: list[Callable[[], None]] = []
        self.finished = False

    @property
    def session(self) -> Session:
        if self._session is None:
            engine = self.container.engine if self.writes else read_only(self.container.engine)
            self._session = Session(engine, expire_on_commit=False)
        return self._session

    @property
    def notifier(self) -> Notifier:
        if self._notifier is None:
            self._notifier = self.container.notifier(self.session)
        return self._notifier

    async def run(self, work: Callable[[], T]) -> T:
        """`work` (which uses `self.session`) in a worker thread: database calls never block the event loop."""
        return await anyio.to_thread.run_sync(work)

    def after_commit(self, work: Callable[[], None]) -> None:
        """Work that needs the request's changes committed first, in its own transaction (`OWN_TRANSACTIONS`)."""
        self._after_commit.append(work)

    def finish(self, *, commit: bool) -> None:
        if self.finished:
            return
        self.finished = True
        session = self._session
        if session is not None:
            try:
                if commit:
                    session.commit()
                else:
                    session.rollback()
            finally:
                session.close()
        if commit:
            for work in self._after_commit:
                work()

    @property
    def queued_notices(self) -> list[str]:
        return list(self._notifier.queued_ids) if self._notifier is not None else []


def unit_of(connection: ASGIConnection[Any, Any, Any, Any]) -> UnitOfWork:
    """The request's unit, made on first call (by the guard or by the `unit` dependency) and kept in its scope."""
    state: dict[str, Any] = connection.scope.setdefault("state", {})
    unit = state.get(_STATE_KEY)
    if not isinstance(unit, UnitOfWork):
        handler = connection.scope.get("route_handler")
        opt: dict[str, Any] = getattr(handler, "opt", {}) or {}
        writes = connection.scope.get("method", "GET") not in READ_METHODS or bool(opt.get("writes"))
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
        keep = bool(getattr(exc, "keeps_changes", False))
        await anyio.to_thread.run_sync(lambda: unit.finish(commit=keep))
        raise
    await anyio.to_thread.run_sync(lambda: unit.finish(commit=True))
    await _dispatch(unit)


async def close_unit(scope: Any) -> None:
    """After the answer: a unit no handler took (its guard refused, or its handler needs no database) is closed,
    committing what a read did (an idle-clock touch waits on it)."""
    state = scope.get("state") or {}
    unit = state.get(_STATE_KEY)
    if isinstance(unit, UnitOfWork) and not unit.finished:
        await anyio.to_thread.run_sync(lambda: unit.finish(commit=not unit.writes))
        await _dispatch(unit)


async def _dispatch(unit: UnitOfWork) -> None:
    queued = unit.queued_notices
    if queued:
        # Deliver right away; the periodic dispatcher retries whatever fails here.
        await unit.container.dispatcher.dispatch(queued)
