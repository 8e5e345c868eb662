"""The citizen's QR identity (UI.md: "QR code"): the signed, short-lived QR as an image with when it expires.
Without JavaScript the button "Renew" loads the page again; with htmx the QR block re-fetches itself before the
token expires (an htmx request aimed at the block gets the block alone)."""

from __future__ import annotations

import base64
from datetime import datetime
from typing import Any

import anyio
from litestar import Controller, Request, get
from litestar.datastructures import State
from litestar.response import Template

from api.unit import UnitOfWork
from assurance.service import AssuranceService
from audit.service import AuditService
from identity.notices import VIETNAM
from identity.qr import QrService
from identity.schemas import QrCode
from identity.sessions import Principal
from web.pages import citizen_page, is_htmx, page

# The block asks for a new QR this long after it was issued: a minute before the 5-minute token expires.
RENEW_AFTER_SECONDS = 240
QR_BLOCK = "qr-code"  # the block's id: htmx names it in `HX-Target` when it renews it (never for a whole page)


def svg_data_uri(svg: str) -> str:
    """An SVG document as an image address (the CSP allows `data:` images, never inline script)."""
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode()).decode("ascii")


def clock_time(moment: datetime) -> str:
    """`08:05` in Vietnam's time: a QR lives minutes, so the day goes without saying."""
    return moment.astimezone(VIETNAM).strftime("%H:%M")


def qr_context(code: QrCode) -> dict[str, Any]:
    return {
        "image": svg_data_uri(code.svg),
        "expires_at": code.expires_at,
        "expires_clock": clock_time(code.expires_at),
        "renew_after": RENEW_AFTER_SECONDS,
        "block_id": QR_BLOCK,
    }


class QrPages(Controller):
    path = "/qr"

    @get("")
    async def qr(self, request: Request[Any, Any, State], citizen: Principal, unit: UnitOfWork) -> Template:
        qr_service = QrService(unit.session, unit.container.identity, AuditService(unit.session, unit.container.clock))
        code = await anyio.to_thread.run_sync(qr_service.issue, citizen.subject_id)
        if is_htmx(request) and request.headers.get("hx-target") == QR_BLOCK:
            return page("qr/_code.html", **qr_context(code))  # the renewal swaps the block alone
        assurance = AssuranceService(unit.session, unit.container.assurance, unit.notifier)
        profile = await anyio.to_thread.run_sync(assurance.profile, citizen.subject_id)
        return citizen_page(unit, citizen, "qr/show.html", section="/qr", level=profile.assurance, **qr_context(code))


ROUTES = [QrPages]
