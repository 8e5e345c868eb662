"""The citizen's account (UI.md: "Account"): the profile and identity level, how to reach level 2 (a counter, or
national e-ID), the authenticator app behind a fresh factor, and erasing the account behind a fresh code. Every
change calls the domain services the API calls (`AuthService`, `Container.erase_citizen`, `assurance.eid_login`)."""

from __future__ import annotations

from typing import Any, Literal
from urllib.parse import parse_qs, urlsplit

import anyio
import segno
from litestar import Controller, Request, Response, get, post
from litestar.datastructures import Cookie, State
from litestar.exceptions import NotFoundException
from litestar.response import Template
from pydantic import ValidationError

from api.controllers.eid import BINDING_COOKIE, COOKIE_PATH
from api.deps import container_of
from api.unit import UnitOfWork
from assurance import eid_login
from assurance.errors import EidTicketInvalid
from assurance.service import AssuranceService
from identity.errors import (
    FreshFactorRequired,
    InvalidCredentials,
    OtpAttemptsExceeded,
    OtpExpired,
    OtpInvalid,
    RateLimited,
    TotpNotEnrolled,
)
from identity.schemas import CitizenProfile, FreshFactor
from identity.service import AuthService
from identity.sessions import Principal
from web import i18n
from web.i18n import gettext as _
from web.messages import N_
from web.pages import citizen_page, form_value, page, see_other
from web.session import RENEWED_SCOPE_KEY, clear_session_cookies, set_session_cookies

Step = Literal["authenticator", "delete"]
EID_DONE = "/account/eid/done"
CODE_ERRORS = (FreshFactorRequired, OtpInvalid, OtpExpired, OtpAttemptsExceeded, RateLimited, TotpNotEnrolled)
# What `/account?done=` may say after a change (a fixed list: a query string never puts words on the page).
DONE: dict[str, str] = {
    "totp_on": N_("Your authenticator app is set up. From now on, enter its code when you sign in."),
    "totp_off": N_("Your authenticator app was removed. Sign-in codes come by SMS again."),
    "eid": N_("Your identity is verified at level 2."),
}


def code_problem(exc: Exception) -> str:
    """What a refused code means to the person who typed it."""
    if isinstance(exc, RateLimited):
        return _("Too many wrong codes. Try again in {seconds} seconds.").format(seconds=exc.retry_after)
    if isinstance(exc, OtpExpired):
        return _("The code has expired. Send a new one.")
    if isinstance(exc, OtpAttemptsExceeded):
        return _("Too many wrong codes. Send a new one.")
    if isinstance(exc, FreshFactorRequired):
        return _("Enter the 6-digit code")
    if isinstance(exc, TotpNotEnrolled):
        return _("The set-up was not finished in time. Start again.")
    return _("The code is not right. Check it and try again.")


def local_phone(phone: str | None) -> str:
    """`+84905123456` as people write it: `0905123456`."""
    if phone and phone.startswith("+84"):
        return "0" + phone[3:]
    return phone or ""


def group_secret(secret: str) -> str:
    """`ABCD EFGH …`: easier to type into an app by hand."""
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


def otpauth_view(uri: str) -> dict[str, str] | None:
    """The new authenticator's QR (an image) and its secret, from its otpauth URI; None if it is not one."""
    if not uri.startswith("otpauth://totp/") or len(uri) > 500:
        return None
    secret = parse_qs(urlsplit(uri).query).get("secret", [""])[0]
    if not secret.isalnum():
        return None
    image = segno.make(uri, error="m").svg_data_uri(scale=4)  # as `crypto.otp.totp_enrollment` draws it
    return {"otpauth": uri, "image": image, "secret": group_secret(secret)}


def _auth(unit: UnitOfWork) -> AuthService:
    return AuthService(unit.session, unit.container.identity, unit.notifier)


async def _profile(unit: UnitOfWork, citizen: Principal) -> CitizenProfile:
    assurance = AssuranceService(unit.session, unit.container.assurance, unit.notifier)
    return await anyio.to_thread.run_sync(assurance.profile, citizen.subject_id)


def _code(form: Any) -> str:
    return form_value(form, "code").replace(" ", "")


class AccountPages(Controller):
    path = "/account"

    @get("")
    async def account(self, citizen: Principal, unit: UnitOfWork, done: str | None = None) -> Template:
        profile = await _profile(unit, citizen)
        eid = unit.container.eid
        return citizen_page(
            unit,
            citizen,
            "account/show.html",
            section="/account",
            profile=profile,
            phone=local_phone(profile.phone),
            eid_name=eid.config.display_name if eid is not None else None,
            flash=_(DONE[done]) if done in DONE else None,
        )

    # -- level 2 by national e-ID -----------------------------------------------------------------------------------
    @post("/eid")
    async def eid_start(self, request: Request[Any, Any, State], citizen: Principal, unit: UnitOfWork) -> Template:
        """The e-ID link flow of the signed-in citizen; the provider sends the browser back to the API's callback,
        which redirects to `EID_DONE` with a one-time ticket. The answer is a page with the link to the provider,
        not a redirect: the CSP's `form-action 'self'` stops a form's redirect to another origin."""
        container = unit.container
        if container.eid is None:
            raise NotFoundException()
        started = await anyio.to_thread.run_sync(
            lambda: eid_login.start(
                container.engine,
                container.assurance,
                intent="login",
                return_to=EID_DONE,
                new_phone=None,
                citizen_id=citizen.subject_id,
            )
        )
        cookie = Cookie(  # exactly the API's binding cookie: the callback it guards is the API's
            key=BINDING_COOKIE,
            value=started.binding,
            path=COOKIE_PATH,
            max_age=int(eid_login.LOGIN_TTL.total_seconds()),
            httponly=True,
            samesite="lax",
            secure=_secure(request),
        )
        name = container.eid.config.display_name
        template = "account/eid_continue.html"
        answer = citizen_page(unit, citizen, template, section="/account", url=started.url, name=name)
        answer.set_cookie(cookie)
        return answer

    @get("/eid/done")
    async def eid_done(self, request: Request[Any, Any, State], eid_ticket: str = "") -> Response[Any]:
        container = container_of(request.app.state)
        outcome = None
        if 0 < len(eid_ticket) <= 200:
            try:
                outcome = await anyio.to_thread.run_sync(
                    lambda: eid_login.exchange(container.engine, container.assurance, eid_ticket)
                )
            except EidTicketInvalid:
                outcome = None
        if outcome is None or outcome.tokens is None:
            return page("account/eid_failed.html", status=400, section="/account")
        response = see_other("/account?done=eid")
        set_session_cookies(response, outcome.tokens, secure=_secure(request))
        return response

    # -- a fresh code for the authenticator and the erasure -------------------------------------------------------
    @post("/code")
    async def send_code(self, request: Request[Any, Any, State], citizen: Principal, unit: UnitOfWork) -> Response[Any]:
        """A step-up code by SMS; the page that asked for it comes back naming the challenge."""
        form = await request.form()
        step: Step = "delete" if form_value(form, "for") == "delete" else "authenticator"
        auth = _auth(unit)
        try:
            challenge = await anyio.to_thread.run_sync(auth.start_step_up, citizen)
        except RateLimited as exc:
            message = _("Too many codes sent. Try again in {seconds} seconds.").format(seconds=exc.retry_after)
            return await _factor_page(unit, citizen, step, errors={"code": message}, status=422)
        except InvalidCredentials:
            message = _("Your account has no phone number to send a code to. Set one at a one-stop counter.")
            return await _factor_page(unit, citizen, step, errors={"code": message}, status=422)
        return see_other(f"{_STEP_PATHS[step]}?challenge={challenge.challenge_id}")

    # -- the authenticator app --------------------------------------------------------------------------------------
    @get("/authenticator")
    async def authenticator(self, citizen: Principal, unit: UnitOfWork, challenge: str = "") -> Template:
        return await _factor_page(unit, citizen, "authenticator", challenge=challenge[:64])

    @post("/authenticator")
    async def authenticator_enrol(
        self, request: Request[Any, Any, State], citizen: Principal, unit: UnitOfWork
    ) -> Template:
        form = await request.form()
        code, challenge = _code(form), form_value(form, "challenge")[:64] or None
        auth = _auth(unit)
        try:
            enrolment = await anyio.to_thread.run_sync(lambda: auth.totp_enroll(citizen, code or None, challenge))
        except CODE_ERRORS as exc:
            errors = {"code": code_problem(exc)}
            return await _factor_page(unit, citizen, "authenticator", challenge=challenge or "", errors=errors)
        view = otpauth_view(enrolment.otpauth_uri)
        if view is None:  # never for a URI the domain made
            raise NotFoundException()
        return _scan_page(unit, citizen, view)

    @post("/authenticator/confirm")
    async def authenticator_confirm(
        self, request: Request[Any, Any, State], citizen: Principal, unit: UnitOfWork
    ) -> Response[Any]:
        form = await request.form()
        code = _code(form)
        view = otpauth_view(form_value(form, "otpauth"))
        if view is None:
            return see_other("/account/authenticator")
        auth = _auth(unit)
        try:
            if not code:
                raise FreshFactorRequired()
            await anyio.to_thread.run_sync(auth.totp_confirm, citizen, code)
        except CODE_ERRORS as exc:
            return _scan_page(unit, citizen, view, errors={"code": code_problem(exc)})
        return see_other("/account?done=totp_on")

    @get("/authenticator/remove")
    async def authenticator_remove_form(self, citizen: Principal, unit: UnitOfWork) -> Response[Any]:
        profile = await _profile(unit, citizen)
        if not profile.totp_enabled:
            return see_other("/account")
        return citizen_page(unit, citizen, "account/authenticator_remove.html", section="/account")

    @post("/authenticator/remove")
    async def authenticator_remove(
        self, request: Request[Any, Any, State], citizen: Principal, unit: UnitOfWork
    ) -> Response[Any]:
        form = await request.form()
        code = _code(form)
        auth = _auth(unit)
        try:
            await anyio.to_thread.run_sync(lambda: auth.totp_remove(citizen, code or None, None))
        except TotpNotEnrolled:
            return see_other("/account")
        except CODE_ERRORS as exc:
            errors = {"code": code_problem(exc)}
            return citizen_page(
                unit, citizen, "account/authenticator_remove.html", section="/account", status=422, errors=errors
            )
        return see_other("/account?done=totp_off")

    # -- erasing the account ----------------------------------------------------------------------------------------
    @get("/delete")
    async def delete_form(self, citizen: Principal, unit: UnitOfWork, challenge: str = "") -> Template:
        return await _factor_page(unit, citizen, "delete", challenge=challenge[:64])

    @post("/delete")
    async def delete(self, request: Request[Any, Any, State], citizen: Principal, unit: UnitOfWork) -> Response[Any]:
        """Exactly the API's erasure: the fresh factor, every record, then the citizen's key; the blobs after."""
        form = await request.form()
        challenge = form_value(form, "challenge")[:64]
        container = container_of(request.app.state)
        try:
            factor = FreshFactor(code=_code(form), challenge_id=challenge or None)
            blob_keys = await anyio.to_thread.run_sync(lambda: container.erase_citizen(citizen, factor))
        except ValidationError:
            errors = {"code": _("Enter the 6-digit code")}
            return await _factor_page(unit, citizen, "delete", challenge=challenge, errors=errors)
        except CODE_ERRORS as exc:
            return await _factor_page(unit, citizen, "delete", challenge=challenge, errors={"code": code_problem(exc)})
        await container.delete_blobs(blob_keys)
        scope: dict[str, Any] = request.scope  # type: ignore[assignment]
        scope.pop(RENEWED_SCOPE_KEY, None)  # a session renewed by this request died with the account
        response = see_other(f"/account/deleted?lang={i18n.current()}")  # the cookie with the language goes too
        clear_session_cookies(response)
        response.headers["clear-site-data"] = '"cache", "cookies", "storage"'
        return response

    @get("/deleted")
    async def deleted(self) -> Template:
        return page("auth/landing.html", flash=_("Your account and everything in it have been deleted."))


_STEP_PATHS: dict[Step, str] = {"authenticator": "/account/authenticator", "delete": "/account/delete"}
_STEP_TEMPLATES: dict[Step, str] = {"authenticator": "account/authenticator.html", "delete": "account/delete.html"}


async def _factor_page(
    unit: UnitOfWork,
    citizen: Principal,
    step: Step,
    *,
    challenge: str = "",
    errors: dict[str, str] | None = None,
    status: int | None = None,
) -> Template:
    """A page asking for a fresh factor of the method in force: the authenticator's code when one is on, else an
    SMS code (the button "Send code", then the field)."""
    profile = await _profile(unit, citizen)
    return citizen_page(
        unit,
        citizen,
        _STEP_TEMPLATES[step],
        section="/account",
        status=status or (422 if errors else 200),
        errors=errors or {},
        step=step,
        totp=profile.totp_enabled,
        challenge=challenge,
        phone_end=(profile.phone or "")[-4:],
    )


def _scan_page(
    unit: UnitOfWork, citizen: Principal, view: dict[str, str], errors: dict[str, str] | None = None
) -> Template:
    """The new authenticator's QR and key, and the field for its first code."""
    template, status = "account/authenticator_scan.html", 422 if errors else 200
    return citizen_page(unit, citizen, template, section="/account", status=status, errors=errors or {}, view=view)


def _secure(request: Request[Any, Any, State]) -> bool:
    return container_of(request.app.state).settings.resolved_public_url.startswith("https://")


ROUTES = [AccountPages]
