"""Per-request dependencies: one database session per request, committed at its end."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from dataclasses import dataclass, field
from typing import Any

import anyio
from litestar import Request
from litestar.datastructures import State
from sqlmodel import Session

from api.container import Container
from identity.accounts import AccountService
from identity.service import AuthService
from identity.sessions import SessionService
from notify.service import Notifier
from storage.db import read_only


def container_of(state: State) -> Container:
    container: Container = state.container
    return container


@dataclass
class UnitOfWork:
    """The request's session and the notices it queued; notices go out only after the commit."""

    container: Container
    writes: bool = True
    session: Session = field(init=False)
    notifier: Notifier = field(init=False)

    def __post_init__(self) -> None:
        engine = self.container.engine if self.writes else read_only(self.container.engine)
        self.session = Session(engine, expire_on_commit=False)
        self.notifier = self.container.notifier(self.session)

    def finish(self, *, commit: bool) -> None:
        try:
            if commit:
                self.session.commit()
            else:
                self.session.rollback()
        finally:
            self.session.close()


_READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


async def provide_unit(request: Request[Any, Any, Any]) -> AsyncGenerator[UnitOfWork, None]:
    unit = UnitOfWork(container_of(request.app.state), writes=request.method not in _READ_METHODS)
    try:
        yield unit
    except Exception as exc:
        # Counted failures (a wrong OTP, a reused refresh token) must persist although the request fails.
        keep = bool(getattr(exc, "keeps_changes", False))
        await anyio.to_thread.run_sync(lambda: unit.finish(commit=keep))
        raise
    await anyio.to_thread.run_sync(lambda: unit.finish(commit=True))
    if unit.notifier.queued_ids:
        # Deliver right away; the periodic dispatcher retries whatever fails here.
        await unit.container.dispatcher.dispatch(unit.notifier.queued_ids)


def provide_auth_service(unit: UnitOfWork) -> AuthService:
    return AuthService(unit.session, unit.container.identity, unit.notifier)


def provide_session_service(unit: UnitOfWork) -> SessionService:
    return SessionService(unit.session, unit.container.identity)


def provide_account_service(unit: UnitOfWork) -> AccountService:
    return AccountService(unit.session, unit.container.identity)


def client_ip(request: Request[Any, Any, Any]) -> str:
    """The caller's address; X-Forwarded-For is believed only from configured proxies."""
    peer = request.client.host if request.client else "unknown"
    trusted = container_of(request.app.state).settings.trusted_proxies
    if peer not in trusted:
        return peer
    hops = [h.strip() for h in request.headers.get("x-forwarded-for", "").split(",") if h.strip()]
    for hop in reversed(hops):
        if hop not in trusted:
            return hop
    return peer
