"""The agency's statistics (UI.md: "One-stop counter and agency staff", Statistics): the figures of `GET /api/v1/stats`
per procedure and for all the agency's procedures, each beside its national target, charts, a period, and the same
figures as CSV. Read through the services the API route calls (`forms.stats.StatsService`,
`assurance.stats.officer_stats`), which compute them in the database."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any
from urllib.parse import urlencode

import anyio
from litestar import Controller, Response, get
from litestar.params import Parameter
from litestar.response import Template

from api.unit import UnitOfWork
from assurance.schemas import StatsWithOfficers
from assurance.stats import officer_stats
from forms.stats import Period, StatsService
from identity.notices import VIETNAM
from identity.sessions import Principal
from web.i18n import gettext as _
from web.messages import parse_date
from web.officer.controllers.stats_view import charts, csv_text, officers_chart, scopes
from web.officer.pages import staff_page

PRESETS = (7, 30, 90)
_FROM = Parameter(query="from", default="", max_length=20)
_TO = Parameter(query="to", default="", max_length=20)


@dataclass(frozen=True)
class Filter:
    """The period form as typed, and the days it means."""

    first_text: str
    last_text: str
    period: Period

    def query(self) -> str:
        given = {"from": self.first_text, "to": self.last_text}
        return urlencode({key: value for key, value in given.items() if value})


def read_filter(first: str, last: str) -> tuple[Filter, dict[str, str]]:
    first, last = first.strip(), last.strip()
    start = parse_date(first) if first else None
    end = parse_date(last) if last else None
    errors: dict[str, str] = {}
    if first and start is None:
        errors["from"] = _("Enter a real date, for example 02/03/2026")
    if last and end is None:
        errors["to"] = _("Enter a real date, for example 02/03/2026")
    if start and end and end < start:
        errors["to"] = _("The end date must be the same as or after the start date")
    period = Period() if errors else Period(start, end)
    return Filter(first, last, period), errors


def presets(today: date) -> list[tuple[str, str]]:
    """Links to the last 7, 30 and 90 days (today included) and to all time."""
    links = []
    for days in PRESETS:
        first = (today - timedelta(days=days - 1)).strftime("%d/%m/%Y")
        query = urlencode({"from": first, "to": today.strftime("%d/%m/%Y")})
        links.append((f"/officer/stats?{query}", _("Last {days} days").format(days=days)))
    links.append(("/officer/stats", _("All time")))
    return links


class StatsPages(Controller):
    path = "/stats"

    async def _report(self, officer: Principal, unit: UnitOfWork, period: Period) -> StatsWithOfficers:
        service = StatsService(unit.session, unit.container.catalog, unit.container.clock)

        def read() -> StatsWithOfficers:
            report = service.report(officer, period)
            return StatsWithOfficers(**dict(report), officers=officer_stats(unit.session, officer))

        return await anyio.to_thread.run_sync(read)

    @get("")
    async def stats(self, officer: Principal, unit: UnitOfWork, *, first: str = _FROM, last: str = _TO) -> Template:
        chosen, errors = read_filter(first, last)
        report = await self._report(officer, unit, chosen.period)
        catalog = unit.container.catalog
        whole, each = scopes(report, catalog)
        today = report.generated_at.astimezone(VIETNAM).date()
        context: dict[str, Any] = {
            "chosen": chosen,
            "report": report,
            "whole": whole,
            "each": each,
            "charts": charts(report, catalog),
            "officers_chart": officers_chart(report.officers) if report.officers else None,
            "presets": presets(today),
            "csv_url": "/officer/stats/csv" + (f"?{chosen.query()}" if chosen.query() and not errors else ""),
        }
        status = 422 if errors else 200
        return staff_page(
            unit, officer, "officer/stats/index.html", section="/officer/stats", status=status, errors=errors, **context
        )

    @get("/csv")
    async def download(
        self, officer: Principal, unit: UnitOfWork, *, first: str = _FROM, last: str = _TO
    ) -> Response[bytes]:
        chosen, _errors = read_filter(first, last)  # a wrong date here counts all time, as the page would offer
        report = await self._report(officer, unit, chosen.period)
        text = csv_text(report, unit.container.catalog)
        period = chosen.period
        days = "".join(f"-{day.isoformat()}" for day in (period.first, period.last) if day)
        name = f"thong-ke{days}.csv"
        return Response(
            content="\ufeff".encode() + text.encode("utf-8"),  # the BOM tells Excel the text is UTF-8
            media_type="text/csv; charset=utf-8",
            headers={"content-disposition": f'attachment; filename="{name}"', "cache-control": "no-store"},
        )


ROUTES = [StatsPages]
