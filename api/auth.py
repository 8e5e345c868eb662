"""The guard: who is calling, checked against the route's policy entry before any handler dependency exists (in the
request's unit of work for a read, see `check_caller`); 401 without a valid token, 403 for a wrong kind of caller or
a missing scope."""

from __future__ import annotations

from typing import Any

import structlog
from litestar.connection import ASGIConnection
from litestar.di import Provide
from litestar.exceptions import PermissionDeniedException
from litestar.handlers.base import BaseRouteHandler

from api.policy import Policy, Rule
from api.unit import UnitOfWork, checked_caller, unit_of
from identity.errors import Forbidden, InsufficientScope, InvalidToken
from identity.sessions import Principal
from web.app import is_page
from web.session import CITIZENS, STAFF

log = structlog.get_logger(__name__)


def bearer_token(connection: ASGIConnection[Any, Any, Any, Any]) -> str:
    scheme, _, token = connection.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise InvalidToken("Thiếu mã truy cập (Authorization: Bearer)")
    return token.strip()


async def authenticate(connection: ASGIConnection[Any, Any, Any, Any]) -> Principal:
    token = bearer_token(connection)
    principal = await checked_caller(unit_of(connection), token)
    connection.state.principal = principal
    return principal


async def enforce_policy(connection: ASGIConnection[Any, Any, Any, Any], _handler: BaseRouteHandler) -> None:
    """The app's one guard: the route's entry in the policy table (`api/policy.py`) says who may call it."""
    policy: Policy = connection.app.state.policy
    method: str = connection.scope.get("method", "GET")  # type: ignore[assignment]  # HTTP only: no websockets here
    rule = policy.rule(method, connection.scope.get("path_template", ""))
    if rule is None:  # unreachable once the start-up check passed; refuse rather than guess
        raise Forbidden()
    if rule.public:
        return
    if is_page(connection.scope["path"]):
        await _page_caller(connection, rule)
        return
    principal = await authenticate(connection)
    if principal.role not in rule.callers:
        _refused(method, connection, principal, "forbidden")
        raise Forbidden()
    if principal.role != "citizen" and not rule.allows_scopes(principal.scopes):
        _refused(method, connection, principal, "insufficient_scope")
        raise InsufficientScope()


def _refused(method: str, connection: ASGIConnection[Any, Any, Any, Any], principal: Principal, code: str) -> None:
    """A refused authorization is a security event: who (by id, never by name), which route, why."""
    log.warning(
        "authorization_refused",
        code=code,
        method=method,
        route=connection.scope.get("path_template", ""),
        role=principal.role,
        subject=principal.subject_id,
    )


async def _page_caller(connection: ASGIConnection[Any, Any, Any, Any], rule: Rule) -> None:
    """A page's caller comes from the browser session of the page's kind; a signed-out person is sent to sign in
    (by `NotSignedIn`), a missing scope is the 403 page."""
    kind = STAFF if "officer" in rule.callers else CITIZENS
    principal = await kind.require(connection)  # type: ignore[arg-type]
    if principal.role != "citizen" and not rule.allows_scopes(principal.scopes):
        raise PermissionDeniedException()


def provide_principal(request: Any, unit: UnitOfWork) -> Principal:
    """The caller the guard checked. It takes the request's `unit` only so that Litestar resolves the two one after
    the other: two dependencies that need nothing of each other are resolved side by side, in a task group made for
    each request, which cost more than both (the unit exists already: the guard made it)."""
    principal: Principal = request.state.principal
    return principal


# The OpenAPI security requirement of every guarded route (public ones declare none).
BEARER: list[dict[str, list[str]]] = [{"BearerToken": []}]

AUTH_DEPENDENCIES = {"principal": Provide(provide_principal, sync_to_thread=False)}
