"""Landing, registration, sign-in with the one-time code, and sign-out (UI.md: "Citizen app")."""

from __future__ import annotations

from typing import Any

import anyio
from litestar import Controller, Request, Response, get, post
from litestar.datastructures import State
from litestar.response import Template
from pydantic import ValidationError

from api.deps import client_ip, container_of
from api.unit import UnitOfWork
from identity.errors import (
    InvalidCredentials,
    OtpAttemptsExceeded,
    OtpExpired,
    OtpInvalid,
    RateLimited,
    ValidationFailed,
)
from identity.schemas import LoginRequest, RegisterRequest
from identity.service import AuthService
from identity.sessions import SessionService
from web.i18n import gettext as _
from web.messages import field_errors, parse_date, pydantic_errors
from web.pages import form_value, page, safe_next, see_other
from web.session import citizen_of, clear_session_cookies, set_session_cookies

REGISTER_FIELDS = ("national_id", "full_name", "date_of_birth", "phone", "pin", "email")
HOME = "/papers"


class AuthPages(Controller):
    @get("/")
    async def landing(self, request: Request[Any, Any, State]) -> Response[Any]:
        if await citizen_of(request) is not None:
            return see_other(HOME)
        return page("auth/landing.html")

    @get("/register")
    async def register_form(self) -> Template:
        return page("auth/register.html", values={})

    @post("/register")
    async def register(self, request: Request[Any, Any, State], unit: UnitOfWork) -> Response[Any]:
        form = await request.form()
        values = {name: form_value(form, name) for name in REGISTER_FIELDS}
        errors: dict[str, str] = {}
        born = parse_date(values["date_of_birth"])
        if born is None:
            errors["date_of_birth"] = _("Enter a real date, for example 02/03/1995")
        try:
            data = RegisterRequest(
                national_id=values["national_id"],
                full_name=values["full_name"],
                date_of_birth=born or "1900-01-01",
                phone=values["phone"],
                pin=values["pin"],
                email=values["email"] or None,
            )
        except ValidationError as exc:
            errors = pydantic_errors(exc) | errors
        if errors:
            return _register_again(values, errors)
        auth = AuthService(unit.session, unit.container.identity, unit.notifier)
        try:
            challenge = await anyio.to_thread.run_sync(lambda: auth.register(data, client_ip=client_ip(request)))
        except ValidationFailed as exc:
            return _register_again(values, field_errors(exc.errors, order=REGISTER_FIELDS))
        except RateLimited:
            return _register_again(values, {"national_id": _("Too many attempts. Try again in a few minutes.")})
        return see_other(f"/sign-in/code?challenge={challenge.challenge_id}&channel=sms")

    @get("/sign-in")
    async def sign_in_form(self, next_page: str | None = None) -> Template:
        return page("auth/sign_in.html", values={}, next_page=safe_next(next_page, ""))

    @post("/sign-in")
    async def sign_in(self, request: Request[Any, Any, State], unit: UnitOfWork) -> Response[Any]:
        form = await request.form()
        values = {"national_id": form_value(form, "national_id")}
        next_page = safe_next(form_value(form, "next"), "")
        errors: dict[str, str] = {}
        if not values["national_id"]:
            errors["national_id"] = _("Enter the 12 digits of your ID card number")
        if not form_value(form, "pin"):
            errors["pin"] = _("Enter your 6-digit PIN")
        if errors:
            return page("auth/sign_in.html", status=422, values=values, errors=errors, next_page=next_page)
        auth = AuthService(unit.session, unit.container.identity, unit.notifier)
        pin, ip = form_value(form, "pin"), client_ip(request)
        try:
            credentials = LoginRequest(national_id=values["national_id"], pin=pin)
            challenge = await anyio.to_thread.run_sync(lambda: auth.login(credentials, client_ip=ip))
        except (InvalidCredentials, ValidationError, ValidationFailed):
            errors = {"national_id": _("The ID card number or the PIN is not right")}
        except RateLimited as exc:
            errors = {
                "national_id": _("Too many attempts. Try again in {seconds} seconds.").format(seconds=exc.retry_after)
            }
        if errors:
            return page("auth/sign_in.html", status=422, values=values, errors=errors, next_page=next_page)
        target = f"/sign-in/code?challenge={challenge.challenge_id}&channel={challenge.channel}"
        return see_other(target + (f"&next={next_page}" if next_page else ""))

    @get("/sign-in/code")
    async def code_form(self, challenge: str = "", channel: str = "sms", next_page: str | None = None) -> Template:
        return page("auth/code.html", challenge=challenge, channel=channel, next_page=safe_next(next_page, ""))

    @post("/sign-in/code")
    async def verify(self, request: Request[Any, Any, State], unit: UnitOfWork) -> Response[Any]:
        form = await request.form()
        challenge, code = form_value(form, "challenge"), form_value(form, "code").replace(" ", "")
        channel, next_page = form_value(form, "channel") or "sms", safe_next(form_value(form, "next"), HOME)
        context = {"challenge": challenge, "channel": channel, "next_page": next_page}
        message = None
        auth = AuthService(unit.session, unit.container.identity, unit.notifier)
        try:
            pair = await anyio.to_thread.run_sync(auth.verify_otp, challenge, code)
        except OtpExpired:
            message = _("The code has expired. Sign in again to get a new one.")
        except OtpAttemptsExceeded:
            message = _("Too many wrong codes. Sign in again to get a new one.")
        except (OtpInvalid, ValueError):
            message = _("The code is not right. Check it and try again.")
        except RateLimited as exc:
            message = _("Too many wrong codes. Try again in {seconds} seconds.").format(seconds=exc.retry_after)
        if message is not None or pair.citizen_id is None:
            errors = {"code": message or _("The code is not right. Check it and try again.")}
            return page("auth/code.html", status=422, errors=errors, **context)
        response = see_other(next_page)
        set_session_cookies(response, pair, secure=_secure(request))
        return response

    @post("/sign-out")
    async def sign_out(self, request: Request[Any, Any, State], unit: UnitOfWork) -> Response[Any]:
        principal = await citizen_of(request)
        if principal is not None and principal.session_id:
            sessions = SessionService(unit.session, unit.container.identity)
            await anyio.to_thread.run_sync(sessions.end, principal.session_id)
        response = see_other("/")
        clear_session_cookies(response)
        # Cached pages, the offline copies of papers and the cookies go with the session.
        response.headers["clear-site-data"] = '"cache", "cookies", "storage"'
        return response


def _register_again(values: dict[str, str], errors: dict[str, str]) -> Template:
    values = values | {"pin": ""}  # a PIN is never sent back to the page
    return page("auth/register.html", status=422, values=values, errors=errors)


def _secure(request: Request[Any, Any, State]) -> bool:
    return container_of(request.app.state).settings.resolved_public_url.startswith("https://")


ROUTES = [AuthPages]
