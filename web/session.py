"""The browser's session: the same server-side login session and refresh family as the API's tokens, held in two
`HttpOnly`, `SameSite=Lax` cookies (the short access token and the rotating refresh token), never in script-readable
storage. Every page checks the session as the API does (idle and absolute limits, revocation); an expired access
token is renewed from the refresh cookie, which rotates it, so a stolen old cookie revokes the whole family."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import anyio
from litestar import Request, Response
from litestar.datastructures import Cookie

from api.deps import container_of
from identity.errors import IdentityError
from identity.schemas import TokenPair
from identity.sessions import Principal, SessionService
from storage.db import read_only, transaction

ACCESS_COOKIE = "cds_at"
REFRESH_COOKIE = "cds_rt"
_STATE_KEY = "cds_web_principal"
RENEWED_SCOPE_KEY = "cds_web_renewed"  # a pair renewed during the request; `web.app.page_headers` sends its cookies


class NotSignedIn(Exception):
    """A page for signed-in citizens was asked without a live session: the web router redirects to sign in."""


@dataclass(frozen=True)
class SignedIn:
    principal: Principal
    renewed: TokenPair | None  # set when the access token was renewed during this request


async def citizen_of(request: Request[Any, Any, Any]) -> Principal | None:
    """The signed-in citizen, renewing the access token from the refresh cookie when it expired; None if none."""
    scope: dict[str, Any] = request.scope  # type: ignore[assignment]
    if _STATE_KEY in scope:
        cached = scope[_STATE_KEY]
        return cached if isinstance(cached, Principal) else None
    found = await anyio.to_thread.run_sync(_resolve, request)
    scope[_STATE_KEY] = found.principal if found else None
    if found is not None and found.renewed is not None:
        scope[RENEWED_SCOPE_KEY] = found.renewed
    return found.principal if found else None


async def require_citizen(request: Request[Any, Any, Any]) -> Principal:
    principal = await citizen_of(request)
    if principal is None or principal.role != "citizen":
        raise NotSignedIn()
    return principal


def _resolve(request: Request[Any, Any, Any]) -> SignedIn | None:
    container = container_of(request.app.state)
    access, refresh = request.cookies.get(ACCESS_COOKIE), request.cookies.get(REFRESH_COOKIE)
    if access:
        try:
            with transaction(read_only(container.engine)) as session:
                principal, seen_due = SessionService(session, container.identity).authenticate_readonly(access)
            if seen_due and principal.session_id:
                with transaction(container.engine) as session:
                    SessionService(session, container.identity).touch(principal.session_id)
            return SignedIn(principal, None)
        except IdentityError:
            pass  # expired or revoked: try the refresh cookie
    if not refresh:
        return None
    try:
        with transaction(container.engine) as session:
            pair = SessionService(session, container.identity).refresh(refresh)
        with transaction(read_only(container.engine)) as session:
            principal, _ = SessionService(session, container.identity).authenticate_readonly(pair.access_token)
    except IdentityError:
        return None
    return SignedIn(principal, pair)


def session_cookies(pair: TokenPair, *, secure: bool) -> list[Cookie]:
    return [
        Cookie(key=key, value=value, path="/", httponly=True, samesite="lax", secure=secure)
        for key, value in ((ACCESS_COOKIE, pair.access_token), (REFRESH_COOKIE, pair.refresh_token))
    ]


def set_session_cookies(response: Response[Any], pair: TokenPair, *, secure: bool) -> None:
    for cookie in session_cookies(pair, secure=secure):
        response.set_cookie(cookie)


def clear_session_cookies(response: Response[Any]) -> None:
    for key in (ACCESS_COOKIE, REFRESH_COOKIE):
        response.delete_cookie(key, path="/")
