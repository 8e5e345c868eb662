"""Guards: who is calling. Each provider answers 401 without a valid token and 403 for a wrong role."""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.di import Provide

from identity.errors import InvalidToken
from identity.sessions import Principal, SessionService


def bearer_token(request: Request[Any, Any, Any]) -> str:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise InvalidToken("Thiếu mã truy cập (Authorization: Bearer)")
    return token.strip()


def provide_principal(request: Request[Any, Any, Any], session_service: SessionService) -> Principal:
    return session_service.authenticate(bearer_token(request))


def provide_citizen(principal: Principal) -> Principal:
    principal.require("citizen")
    return principal


def provide_officer(principal: Principal) -> Principal:
    principal.require("officer")
    return principal


def provide_user(principal: Principal) -> Principal:
    principal.require("citizen", "officer")
    return principal


def provide_agency(principal: Principal) -> Principal:
    principal.require("agency")
    return principal


AUTH_DEPENDENCIES = {
    "principal": Provide(provide_principal, sync_to_thread=True),
    "citizen": Provide(provide_citizen, sync_to_thread=False),
    "officer": Provide(provide_officer, sync_to_thread=False),
    "user": Provide(provide_user, sync_to_thread=False),
    "agency": Provide(provide_agency, sync_to_thread=False),
}
