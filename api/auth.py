"""Guards: who is calling. The token is checked before any handler dependency exists (in its own short
transaction), so a refused request never holds the request's database session; 401 without a valid
token, 403 for a wrong role."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import anyio
from litestar.connection import ASGIConnection
from litestar.di import Provide
from litestar.handlers.base import BaseRouteHandler

from api.deps import container_of
from identity.errors import InvalidToken
from identity.sessions import Principal, Role, SessionService
from storage.db import read_only, transaction

Guard = Callable[[ASGIConnection[Any, Any, Any, Any], BaseRouteHandler], Awaitable[None]]


def bearer_token(connection: ASGIConnection[Any, Any, Any, Any]) -> str:
    scheme, _, token = connection.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise InvalidToken("Thiếu mã truy cập (Authorization: Bearer)")
    return token.strip()


async def authenticate(connection: ASGIConnection[Any, Any, Any, Any]) -> Principal:
    container = container_of(connection.app.state)
    token = bearer_token(connection)

    def check() -> Principal:
        with transaction(read_only(container.engine)) as session:
            sessions = SessionService(session, container.identity)
            principal, seen_due = sessions.authenticate_readonly(token)
        if seen_due and principal.session_id:
            with transaction(container.engine) as session:
                SessionService(session, container.identity).touch(principal.session_id)
        return principal

    principal = await anyio.to_thread.run_sync(check)
    connection.state.principal = principal
    return principal


def requires(*roles: Role) -> Guard:
    """A guard admitting only callers of the given roles."""

    async def guard(connection: ASGIConnection[Any, Any, Any, Any], _handler: BaseRouteHandler) -> None:
        principal = await authenticate(connection)
        principal.require(*roles)

    return guard


def provide_principal(request: Any) -> Principal:
    principal: Principal = request.state.principal
    return principal


# The OpenAPI security requirement of every guarded route (public ones declare none).
BEARER: list[dict[str, list[str]]] = [{"BearerToken": []}]

AUTH_DEPENDENCIES = {"principal": Provide(provide_principal, sync_to_thread=False)}
