"""Scanning a citizen's QR at the counter (UI.md "One-stop counter and agency staff": Scan) and what follows it: the
camera (officer-scan.js, which fills the token field and submits the same form), a typed or pasted token, a photo
read on the server; the result from `QrService.verify`, the call of `POST /verify/qr` (the scan lands in the
citizen's access log naming the officer); counter proofing with a checklist (`POST /identity/proofings`'s
`proof_at_counter`) and a recovery (`POST /identity/recoveries`'s `start_at_counter`).

The token never goes into a URL: a valid scan answers with a redirect to its presence record's page, which only the
officer who scanned can open while the presence lasts (30 minutes); a refused one is shown at once."""

from __future__ import annotations

from typing import Any

import anyio
from litestar import Controller, MediaType, Request, Response, get, post
from litestar.datastructures import State
from litestar.response import Template

from api.unit import OWN_WRITES, UnitOfWork
from assurance.counter_scan import CounterScan, ScannedCitizen
from assurance.errors import AssuranceError, CitizenUnavailable, PresenceNotFound
from assurance.service import AssuranceService
from audit.service import AuditService
from identity.qr import QrService
from identity.schemas import QrInvalid, QrVerification
from identity.sessions import Principal
from web.i18n import gettext as _
from web.messages import N_
from web.officer.controllers.scan_recovery import RecoveryPages
from web.officer.pages import staff_page
from web.pages import form_value, is_htmx, see_other
from web.qr_photos import PHOTO_FIELD, PHOTO_MB, PhotoRefused, qr_text_of_photo
from web.uploads import UPLOAD_OPT

SECTION = "/officer/scan"
TOKEN_FIELD, CHECKS_FIELD = "token", "checks"
# What the officer compares on the physical card before confirming an identity (every one is required).
CHECKS = ("photo", "name", "date_of_birth", "number", "not_expired")
REASONS = {
    "expired": N_("The QR code has expired (a QR code is valid for 5 minutes). Ask the citizen to open a new one."),
    "bad_signature": N_(
        "The signature does not match: this QR code was not issued by Citizen Wallet or it was altered (forged)."
    ),
    "malformed": N_("This is not a Citizen Wallet identity QR code."),
    "revoked": N_("The account of this QR code is closed or suspended."),
}
DONE = {"proofed": N_("Identity confirmed: the citizen's account is now at level 2.")}


class ScanPages(Controller):
    path = "/scan"

    @get("", media_type=MediaType.HTML)
    async def scan_form(self, request: Request[Any, Any, State], officer: Principal, unit: UnitOfWork) -> Any:
        if is_htmx(request):
            # The camera's decoder needs this page's own CSP ('wasm-unsafe-eval'), which a boosted swap into
            # another page's document never gets: load it for real.
            return Response(content=None, status_code=204, headers={"HX-Redirect": SECTION})
        return _scan_page(unit, officer)

    @post("", media_type=MediaType.HTML, opt=OWN_WRITES)  # the scan's rows: `_verified`
    async def check_token(self, request: Request[Any, Any, State], officer: Principal, unit: UnitOfWork) -> Any:
        form = await request.form()
        token = form_value(form, TOKEN_FIELD)
        if not token:
            return _scan_page(unit, officer, {TOKEN_FIELD: _("Enter the QR code, or scan it with the camera")})
        return await _verified(unit, officer, token)

    @post("/photo", opt={**UPLOAD_OPT, **OWN_WRITES}, request_max_body_size=None, media_type=MediaType.HTML)
    async def check_photo(self, request: Request[Any, Any, State], officer: Principal, unit: UnitOfWork) -> Any:
        try:
            token = await qr_text_of_photo(request)
        except PhotoRefused as refused:
            return _scan_page(unit, officer, {PHOTO_FIELD: refused.message})
        return await _verified(unit, officer, token)

    @get("/{presence_id:str}", media_type=MediaType.HTML)
    async def result(self, officer: Principal, unit: UnitOfWork, presence_id: str, done: str | None = None) -> Any:
        scanned = await _scanned(unit, officer, presence_id)
        if scanned is None:
            return _gone(unit, officer)
        flash = _(DONE[done]) if done in DONE else None
        context: dict[str, Any] = {"scanned": scanned, "checked": set(), "flash": flash}
        return staff_page(unit, officer, "officer/scan/valid.html", section=SECTION, **context)

    @post("/{presence_id:str}/proofing", media_type=MediaType.HTML)
    async def proof(
        self, request: Request[Any, Any, State], officer: Principal, unit: UnitOfWork, presence_id: str
    ) -> Any:
        form = await request.form()
        checked = set(form.getall(CHECKS_FIELD)) if CHECKS_FIELD in form else set()
        if not set(CHECKS) <= checked:
            scanned = await _scanned(unit, officer, presence_id)
            if scanned is None:
                return _gone(unit, officer)
            errors = {CHECKS_FIELD: _("Check every item on the card before you confirm the identity")}
            context: dict[str, Any] = {"scanned": scanned, "checked": checked, "errors": errors}
            return staff_page(unit, officer, "officer/scan/valid.html", section=SECTION, status=422, **context)
        service = AssuranceService(unit.session, unit.container.assurance, unit.notifier)
        try:
            await anyio.to_thread.run_sync(service.proof_at_counter, officer, presence_id)
        except (PresenceNotFound, CitizenUnavailable):
            return _gone(unit, officer)
        return see_other(f"{SECTION}/{presence_id}?done=proofed")


def _scan_page(unit: UnitOfWork, officer: Principal, errors: dict[str, str] | None = None) -> Template:
    status = 422 if errors else 200
    return staff_page(
        unit,
        officer,
        "officer/scan/scan.html",
        section=SECTION,
        status=status,
        errors=errors or {},
        max_photo_mb=PHOTO_MB,
    )


async def _verified(unit: UnitOfWork, officer: Principal, token: str) -> Any:
    """`POST /verify/qr`'s call, as it makes it (reads in the page's unit, the scan's rows batched in a short
    transaction of their own); a valid scan goes to its presence's page (POST/redirect/GET)."""
    container = unit.container
    audit = AuditService(unit.session, container.clock)
    service = QrService(unit.session, container.identity, audit, recorder=container.scan_recorder())
    answer: QrVerification = await unit.run(lambda: service.verify(token, officer))
    if isinstance(answer, QrInvalid):
        reason = _(REASONS[answer.reason])
        return staff_page(unit, officer, "officer/scan/invalid.html", section=SECTION, reason=reason)
    return see_other(f"{SECTION}/{answer.presence_id}")


async def _scanned(unit: UnitOfWork, officer: Principal, presence_id: str) -> ScannedCitizen | None:
    reader = CounterScan(unit.session, unit.container.assurance, unit.notifier)
    try:
        return await anyio.to_thread.run_sync(reader.scanned, officer, presence_id)
    except (PresenceNotFound, CitizenUnavailable):
        return None


def _gone(unit: UnitOfWork, officer: Principal) -> Template:
    """Another officer's scan, an unknown one, or one older than 30 minutes: scan again."""
    return staff_page(unit, officer, "officer/scan/gone.html", section=SECTION, status=404)


__all__ = ["AssuranceError", "RecoveryPages", "ScanPages"]
ROUTES = [ScanPages, RecoveryPages]
