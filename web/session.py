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
from api.unit import check_caller, unit_of
from identity.errors import IdentityError
from identity.schemas import TokenPair
from identity.sessions import Principal, SessionService
from storage.db import transaction

RENEWED_SCOPE_KEY = "cds_web_renewed"  # cookies of a session renewed during the request (`web.app.page_headers`)


class NotSignedIn(Exception):
    """A page for signed-in people was asked without a live session: the router redirects to its sign-in page."""

    def __init__(self, sign_in: str = "/sign-in") -> None:
        super().__init__(sign_in)
        self.sign_in = sign_in


@dataclass(frozen=True)
class SignedIn:
    principal: Principal
    renewed: TokenPair | None  # set when the access token was renewed during this request


@dataclass(frozen=True)
class BrowserSession:
    """One kind of browser session: its cookies, the path they are sent to, the role it admits and its sign-in page.
    Citizens and staff have their own, so one browser may hold both without either reaching the other's pages."""

    access_cookie: str
    refresh_cookie: str
    path: str
    role: str
    sign_in: str

    @property
    def _state_key(self) -> str:
        return f"cds_web_principal:{self.access_cookie}"

    async def principal(self, request: Request[Any, Any, Any]) -> Principal | None:
        """The signed-in person, renewing the access token from the refresh cookie when it expired; None if none."""
        scope: dict[str, Any] = request.scope  # type: ignore[assignment]
        if self._state_key in scope:
            cached = scope[self._state_key]
            return cached if isinstance(cached, Principal) else None
        found = await anyio.to_thread.run_sync(self._resolve, request)
        scope[self._state_key] = found.principal if found else None
        if found is not None and found.renewed is not None:
            secure = request.url.scheme == "https"
            scope[RENEWED_SCOPE_KEY] = self.cookies(found.renewed, secure=secure)
        return found.principal if found else None

    async def require(self, request: Request[Any, Any, Any]) -> Principal:
        principal = await self.principal(request)
        if principal is None or principal.role != self.role:
            raise NotSignedIn(self.sign_in)
        return principal

    def _resolve(self, request: Request[Any, Any, Any]) -> SignedIn | None:
        container = container_of(request.app.state)
        access, refresh = request.cookies.get(self.access_cookie), request.cookies.get(self.refresh_cookie)
        if access:
            try:
                return SignedIn(check_caller(unit_of(request), container, access), None)
            except IdentityError:
                pass  # expired or revoked: try the refresh cookie
        if not refresh:
            return None
        try:
            # The rotation commits whatever the page then does (`api.unit.OWN_TRANSACTIONS`): its new cookies go out.
            with transaction(container.engine) as session:
                pair = SessionService(session, container.identity).refresh(refresh)
                principal, _ = SessionService(session, container.identity).authenticate_readonly(pair.access_token)
        except IdentityError:
            return None
        return SignedIn(principal, pair)

    def cookies(self, pair: TokenPair, *, secure: bool) -> list[Cookie]:
        return [
            Cookie(key=key, value=value, path=self.path, httponly=True, samesite="lax", secure=secure)
            for key, value in ((self.access_cookie, pair.access_token), (self.refresh_cookie, pair.refresh_token))
        ]

    def set(self, response: Response[Any], pair: TokenPair, *, secure: bool) -> None:
        for cookie in self.cookies(pair, secure=secure):
            response.set_cookie(cookie)

    def clear(self, response: Response[Any]) -> None:
        for key in (self.access_cookie, self.refresh_cookie):
            response.delete_cookie(key, path=self.path)


CITIZENS = BrowserSession("cds_at", "cds_rt", "/", "citizen", "/sign-in")
# Staff cookies go to the counter's pages only; a staff session also ends sooner (identity's staff idle limit).
STAFF = BrowserSession("cds_staff_at", "cds_staff_rt", "/officer", "officer", "/officer/sign-in")
ACCESS_COOKIE, REFRESH_COOKIE = CITIZENS.access_cookie, CITIZENS.refresh_cookie


async def citizen_of(request: Request[Any, Any, Any]) -> Principal | None:
    return await CITIZENS.principal(request)


async def require_citizen(request: Request[Any, Any, Any]) -> Principal:
    return await CITIZENS.require(request)


async def require_officer(request: Request[Any, Any, Any]) -> Principal:
    return await STAFF.require(request)


def session_cookies(pair: TokenPair, *, secure: bool) -> list[Cookie]:
    return CITIZENS.cookies(pair, secure=secure)


def set_session_cookies(response: Response[Any], pair: TokenPair, *, secure: bool) -> None:
    CITIZENS.set(response, pair, secure=secure)


def clear_session_cookies(response: Response[Any]) -> None:
    CITIZENS.clear(response)
