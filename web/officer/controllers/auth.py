"""Staff sign-in by phone, PIN and the SMS code (officers and agency staff are officers of their agency), sign-out."""

from __future__ import annotations

from typing import Any

import anyio
from litestar import Controller, Request, Response, get, post
from litestar.datastructures import State
from litestar.response import Template
from pydantic import ValidationError

from api.deps import client_ip
from api.unit import UnitOfWork
from identity.errors import (
    InvalidCredentials,
    OtpAttemptsExceeded,
    OtpExpired,
    OtpInvalid,
    RateLimited,
    ValidationFailed,
)
from identity.schemas import LoginRequest
from identity.service import AuthService
from identity.sessions import SessionService
from web.i18n import gettext as _
from web.pages import form_value, page, safe_next, see_other
from web.session import STAFF

HOME = "/officer/scan"


class StaffAuthPages(Controller):
    path = ""

    @get("/")
    async def home(self, request: Request[Any, Any, State]) -> Response[Any]:
        signed_in = await STAFF.principal(request)
        return see_other(HOME if signed_in is not None and signed_in.role == "officer" else STAFF.sign_in)

    @get("/sign-in")
    async def sign_in_form(self, next_page: str | None = None) -> Template:
        return page("officer/auth/sign_in.html", values={}, next_page=_next(next_page))

    @post("/sign-in")
    async def sign_in(self, request: Request[Any, Any, State], unit: UnitOfWork) -> Response[Any]:
        form = await request.form()
        values = {"phone": form_value(form, "phone")}
        next_page, pin = _next(form_value(form, "next")), form_value(form, "pin")
        errors: dict[str, str] = {}
        if not values["phone"]:
            errors["phone"] = _("Enter your phone number")
        if not pin:
            errors["pin"] = _("Enter your 6-digit PIN")
        if not errors:
            auth, ip = AuthService(unit.session, unit.container.identity, unit.notifier), client_ip(request)
            try:
                credentials = LoginRequest(phone=values["phone"], pin=pin)
                challenge = await anyio.to_thread.run_sync(lambda: auth.login(credentials, client_ip=ip))
            except (InvalidCredentials, ValidationError, ValidationFailed):
                errors["phone"] = _("The phone number or the PIN is not right")
            except RateLimited as exc:
                errors["phone"] = _("Too many attempts. Try again in {seconds} seconds.").format(
                    seconds=exc.retry_after
                )
        if errors:
            return page("officer/auth/sign_in.html", status=422, values=values, errors=errors, next_page=next_page)
        target = f"/officer/sign-in/code?challenge={challenge.challenge_id}&channel={challenge.channel}"
        return see_other(target + (f"&next_page={next_page}" if next_page else ""))

    @get("/sign-in/code")
    async def code_form(self, challenge: str = "", channel: str = "sms", next_page: str | None = None) -> Template:
        return page("officer/auth/code.html", challenge=challenge, channel=channel, next_page=_next(next_page))

    @post("/sign-in/code")
    async def verify(self, request: Request[Any, Any, State], unit: UnitOfWork) -> Response[Any]:
        form = await request.form()
        challenge, code = form_value(form, "challenge"), form_value(form, "code").replace(" ", "")
        channel, next_page = form_value(form, "channel") or "sms", _next(form_value(form, "next")) or HOME
        auth = AuthService(unit.session, unit.container.identity, unit.notifier)
        message = None
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
        if message is not None or pair.officer_id is None:
            errors = {"code": message or _("The code is not right. Check it and try again.")}
            context = {"challenge": challenge, "channel": channel, "next_page": next_page}
            return page("officer/auth/code.html", status=422, errors=errors, **context)
        response = see_other(next_page)
        STAFF.set(response, pair, secure=request.url.scheme == "https")
        return response

    @post("/sign-out")
    async def sign_out(self, request: Request[Any, Any, State], unit: UnitOfWork) -> Response[Any]:
        officer = await STAFF.principal(request)
        if officer is not None and officer.session_id:
            sessions = SessionService(unit.session, unit.container.identity)
            await anyio.to_thread.run_sync(sessions.end, officer.session_id)
        response = see_other(STAFF.sign_in)
        STAFF.clear(response)
        response.headers["clear-site-data"] = '"cache", "storage"'  # a shared counter's browser keeps nothing
        return response


def _next(target: str | None) -> str:
    return safe_next(target, "") if target and target.startswith("/officer") else ""


ROUTES = [StaffAuthPages]
