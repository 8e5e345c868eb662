"""Per-request dependencies: the services built over the request's unit of work (`api/unit.py`)."""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.datastructures import State

from api.container import Container
from api.unit import UnitOfWork
from identity.accounts import AccountService
from identity.service import AuthService
from identity.sessions import SessionService


def container_of(state: State) -> Container:
    container: Container = state.container
    return container


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
