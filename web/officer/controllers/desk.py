"""The dossier desk (UI.md "One-stop counter and agency staff": Dossiers): the agency's dossiers, newest first, with
code, procedure, the applicant's masked ID number, submission, due date, status and whether overdue, narrowed by
status, procedure and overdue, a page at a time. Read with `forms.desk.inbox_rows`, the query of
`GET /api/v1/agency/applications` (`AgencyDesk.inbox_rows`). A dossier's page and its actions live in `desk_dossier`,
the result in `desk_result`; this module exports the area's routes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import anyio
from litestar import Controller, get
from litestar.response import Template

from api.unit import UnitOfWork
from forms.agency import AgencyDesk
from forms.desk import InboxQuery, InboxRow, inbox_rows
from identity.sessions import Principal
from web.i18n import pick
from web.officer.controllers.desk_dossier import DeskDossierPages
from web.officer.controllers.desk_result import DeskResultPages
from web.officer.pages import staff_page

SECTION = "/officer/dossiers"
PAGE_SIZE = 25
STATUSES = ("submitted", "processing", "needs_info", "completed", "rejected")


@dataclass(frozen=True)
class Filters:
    """The filter form as sent (anything else is ignored: the form offers only these values)."""

    status: str
    procedure: str
    overdue: bool

    @property
    def any(self) -> bool:
        return bool(self.status or self.procedure or self.overdue)

    def query(self, **more: str) -> str:
        given = {"status": self.status, "procedure": self.procedure, "overdue": "1" if self.overdue else ""} | more
        return urlencode({key: value for key, value in given.items() if value})


class DeskListPages(Controller):
    path = "/dossiers"

    @get("")
    async def dossiers(
        self,
        officer: Principal,
        unit: UnitOfWork,
        *,
        status: str = "",
        procedure: str = "",
        overdue: str = "",
        cursor: str = "",
    ) -> Template:
        filters = Filters(status if status in STATUSES else "", procedure.strip()[:64], overdue == "1")
        deps = unit.container.forms

        def read() -> tuple[list[InboxRow], str | None, list[tuple[str, str]]]:
            desk = AgencyDesk(unit.session, deps, unit.notifier, officer)
            query = InboxQuery(
                filters.status or None, filters.procedure or None, filters.overdue, PAGE_SIZE, cursor[:64] or None
            )
            rows, next_cursor = inbox_rows(desk, unit.session, deps, query)
            procedures = [(p.code, pick(p.name, p.name_en)) for p in deps.catalog.by_agency(desk.caller.code)]
            return rows, next_cursor, procedures

        rows, next_cursor, procedures = await anyio.to_thread.run_sync(read)
        names = dict(procedures)
        context: dict[str, Any] = {
            "rows": rows,
            "names": names,
            "filters": filters,
            "procedures": procedures,
            "statuses": STATUSES,
            "next_page": f"{SECTION}?{filters.query(cursor=next_cursor)}" if next_cursor else None,
            "first_page": f"{SECTION}?{filters.query()}".rstrip("?") if cursor else None,
        }
        return staff_page(unit, officer, "officer/desk/list.html", section=SECTION, **context)


ROUTES = [DeskListPages, DeskDossierPages, DeskResultPages]
