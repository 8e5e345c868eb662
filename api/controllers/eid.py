"""National e-ID login (VNeID-style OpenID Connect; API.md: "Identity assurance")."""

from __future__ import annotations

from typing import Any, Literal

import anyio
from litestar import Controller, Request, Response, get, post
from litestar.datastructures import Cookie, State
from litestar.params import Parameter
from litestar.response import Redirect
from litestar.status_codes import HTTP_200_OK, HTTP_202_ACCEPTED, HTTP_303_SEE_OTHER

from api.auth import authenticate, bearer_token
from api.deps import container_of
from assurance import eid_login
from assurance.eid_login import Outcome
from assurance.schemas import EidExchange
from identity.errors import InvalidToken

BINDING_COOKIE = "eid_binding"
COOKIE_PATH = "/api/v1/auth/eid"


class EidController(Controller):
    path = "/auth/eid"
    tags = ("identity-assurance",)

    @get("/start", status_code=HTTP_303_SEE_OTHER, security=[])
    async def start(
        self,
        request: Request[Any, Any, State],
        return_to: str | None = Parameter(default=None, max_length=500),
        intent: Literal["login", "recover"] = "login",
        new_phone: str | None = Parameter(default=None, max_length=20),
    ) -> Redirect:
        """To the provider's login. With a citizen's bearer token it proofs that account (the e-ID's personal
        number must be its own); `intent=recover` with `new_phone` recovers a lost phone or PIN instead."""
        container = container_of(request.app.state)
        citizen_id = await _signed_in_citizen(request)
        started = await anyio.to_thread.run_sync(
            lambda: eid_login.start(
                container.engine,
                container.assurance,
                intent=intent,
                return_to=return_to,
                new_phone=new_phone,
                citizen_id=citizen_id,
            )
        )
        cookie = Cookie(
            key=BINDING_COOKIE,
            value=started.binding,
            path=COOKIE_PATH,
            max_age=int(eid_login.LOGIN_TTL.total_seconds()),
            httponly=True,
            samesite="lax",  # the provider's redirect back is a top-level GET: Lax cookies come with it
            secure=container.settings.resolved_public_url.startswith("https://"),
        )
        return Redirect(started.url, status_code=HTTP_303_SEE_OTHER, cookies=[cookie])

    @get("/callback", security=[])
    async def callback(
        self,
        request: Request[Any, Any, State],
        oauth_state: str = Parameter(query="state", default="", max_length=200),
        code: str | None = Parameter(default=None, max_length=2000),
        error: str | None = Parameter(default=None, max_length=200),
    ) -> Response[Any]:
        """Where the provider sends the browser back: signs in (200 tokens), starts a recovery (202), or, when
        the login named a `return_to`, redirects there with a one-time `eid_ticket`."""
        container = container_of(request.app.state)
        binding = request.cookies.get(BINDING_COOKIE)
        outcome = await anyio.to_thread.run_sync(
            lambda: eid_login.callback(
                container.engine, container.assurance, state=oauth_state, code=code, error=error, binding=binding
            )
        )
        await container.dispatcher.dispatch(list(outcome.outbox_ids))
        await container.delete_blobs(list(outcome.blob_keys))
        response = _answer(outcome)
        response.delete_cookie(BINDING_COOKIE, path=COOKIE_PATH)
        return response

    @post("/exchange", status_code=HTTP_200_OK, security=[])
    async def exchange(self, request: Request[Any, Any, State], data: EidExchange) -> Response[Any]:
        """The outcome behind a `return_to` ticket, once, within 2 minutes."""
        container = container_of(request.app.state)
        outcome = await anyio.to_thread.run_sync(
            lambda: eid_login.exchange(container.engine, container.assurance, data.ticket)
        )
        return _answer(outcome)


def _answer(outcome: Outcome) -> Response[Any]:
    if outcome.redirect is not None:
        return Redirect(outcome.redirect, status_code=HTTP_303_SEE_OTHER)
    if outcome.recovery is not None:
        return Response(outcome.recovery, status_code=HTTP_202_ACCEPTED)
    return Response(outcome.tokens, status_code=HTTP_200_OK)


async def _signed_in_citizen(request: Request[Any, Any, State]) -> str | None:
    try:
        bearer_token(request)
    except InvalidToken:
        return None  # no token: a login, not a link
    principal = await authenticate(request)
    principal.require("citizen")
    return principal.subject_id
