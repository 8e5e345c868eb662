"""The access log (UI.md: "Access log"): every access to the citizen's data by someone else, newest first, with the
time, who (the agency's name; an officer acts in their agency's name), what in words, and the purpose; narrowed by
agency and period, a page at a time. Read through `audit.service.AuditService`, as `GET /api/v1/me/access-log`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from urllib.parse import urlencode

import anyio
from litestar import Controller, get
from litestar.exceptions import ValidationException
from litestar.response import Template

from api.unit import UnitOfWork
from audit.errors import InvalidCursor
from audit.schemas import AccessLogEntryPublic
from audit.service import AuditService, LogActor
from identity.notices import VIETNAM
from identity.sessions import Principal
from web.i18n import gettext as _
from web.messages import N_, parse_date
from web.pages import citizen_page

PAGE_SIZE = 25
# Every action the domain records (`AuditService.record` callers), in the citizen's words.
ACTIONS: dict[str, str] = {
    "qr_scan": N_("Checked your identity QR code at a counter"),
    "consent_pull": N_("Read your papers under your consent"),
    "consent_file": N_("Opened a scan of your paper under your consent"),
    "issuer_push": N_("Issued a paper into your wallet"),
    "issuer_push_held": N_("Issued a paper, kept for you until your identity is verified (level 2)"),
    "dossier_submitted": N_("Received your dossier and the papers you attached"),
    "dossier_read": N_("Opened your dossier"),
    "dossier_document_read": N_("Read a paper of your dossier"),
    "dossier_file_read": N_("Opened a scan attached to your dossier"),
    "dossier_processing": N_("Started processing your dossier"),
    "dossier_needs_info": N_("Sent your dossier back for you to add or correct"),
    "dossier_rejected": N_("Refused your dossier"),
    "dossier_completed": N_("Completed your dossier"),
    "identity_proofing": N_("Verified your identity (level 2)"),
    "identity_recovery_started": N_("Started recovering your account"),
    "identity_recovery": N_("Recovered your account"),
}


def action_label(code: str) -> str:
    return _(ACTIONS[code]) if code in ACTIONS else _("Another access ({code})").format(code=code)


@dataclass(frozen=True)
class Period:
    """The filter form as typed, and what it means."""

    agency: str
    since_text: str
    until_text: str
    since: date | None
    until: date | None

    @property
    def bounds(self) -> tuple[datetime | None, datetime | None]:
        """From the start of the first day to the end of the last, in Vietnam's time (the days people mean)."""
        start = datetime.combine(self.since, time.min, VIETNAM) if self.since else None
        end = datetime.combine(self.until + timedelta(days=1), time.min, VIETNAM) if self.until else None
        return start, end

    def query(self, **more: str) -> str:
        given = {"agency": self.agency, "since": self.since_text, "until": self.until_text} | more
        return urlencode({key: value for key, value in given.items() if value})


def read_period(agency: str, since: str, until: str) -> tuple[Period, dict[str, str]]:
    period = Period(agency.strip()[:64], since.strip()[:20], until.strip()[:20], None, None)
    errors: dict[str, str] = {}
    first = parse_date(period.since_text) if period.since_text else None
    last = parse_date(period.until_text) if period.until_text else None
    if period.since_text and first is None:
        errors["since"] = _("Enter a real date, for example 02/03/2026")
    if period.until_text and last is None:
        errors["until"] = _("Enter a real date, for example 02/03/2026")
    if first and last and last < first:
        errors["until"] = _("The end date must be the same as or after the start date")
    if errors:
        return period, errors
    return Period(period.agency, period.since_text, period.until_text, first, last), {}


@dataclass(frozen=True)
class Row:
    entry: AccessLogEntryPublic
    what: str


class AccessLogPages(Controller):
    path = "/access-log"

    @get("")
    async def access_log(
        self,
        citizen: Principal,
        unit: UnitOfWork,
        *,
        agency: str = "",
        since: str = "",
        until: str = "",
        cursor: str = "",
    ) -> Template:
        period, errors = read_period(agency, since, until)
        audit = AuditService(unit.session, unit.container.clock)
        start, end = period.bounds

        def read() -> tuple[list[AccessLogEntryPublic], str | None, list[LogActor]]:
            items, next_cursor = audit.access_log(
                citizen.subject_id,
                limit=PAGE_SIZE,
                cursor=cursor[:200] or None,
                agency=period.agency or None,
                since=start,
                until=end,
            )
            return items, next_cursor, audit.actors(citizen.subject_id)

        try:
            items, next_cursor, actors = await anyio.to_thread.run_sync(read)
        except InvalidCursor as exc:  # only an address edited by hand carries a cursor we did not make
            raise ValidationException() from exc
        context: dict[str, Any] = {
            "rows": [Row(item, action_label(item.action)) for item in items] if not errors else [],
            "agencies": [(actor.code, actor.name) for actor in actors],
            "period": period,
            "filtered": bool(period.agency or period.since_text or period.until_text),
            "next_page": f"/access-log?{period.query(cursor=next_cursor)}" if next_cursor and not errors else None,
            "first_page": f"/access-log?{period.query()}".rstrip("?") if cursor else None,
        }
        status = 422 if errors else 200
        return citizen_page(
            unit, citizen, "log/index.html", section="/access-log", status=status, errors=errors, **context
        )


ROUTES = [AccessLogPages]
