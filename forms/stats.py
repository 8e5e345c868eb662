"""Figures of the national targets, per procedure and for all of them together: how many dossiers start and reach
the agency, how long a citizen takes from login to submission, how much of the form the wallet filled, how many
papers were reused rather than uploaded, how satisfied citizens are (share of ratings of 4 or 5), how long the agency
takes to decide and how many dossiers are past their due date; optionally for the dossiers of a period.

Computed by the database (`forms.stats_sql`) from the dossiers' clear columns only (codes, states, times, counts), so
erased citizens still count and a report never loads the dossiers themselves."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from sqlmodel import Session

from crypto.clock import Clock
from forms.agency import acting_agency
from forms.catalog import Procedure, ProcedureCatalog
from forms.procedure import due_after
from forms.schemas import AgencyPublic, ProcedureStats, StatsReport, StatsTotal
from forms.stats_sql import TOTAL, Selection, Sums, figures
from identity.notices import VIETNAM
from identity.sessions import Principal

ADMIN_SCOPE = "admin"
# The national targets: from login to submission in under five minutes (DOMAIN.md), at least 95% of citizens
# satisfied. A procedure's processing time is held against its own legal time, and no dossier should be overdue.
TARGET_SECONDS_LOGIN_TO_SUBMISSION = 5 * 60
TARGET_SATISFACTION_RATE = 0.95


@dataclass(frozen=True)
class Period:
    """Days in Vietnam's time, both included; either end may be open."""

    first: date | None = None
    last: date | None = None

    def bounds(self) -> tuple[datetime | None, datetime | None]:
        # The calendar's first and last days bound nothing (and their midnight in UTC lies outside datetime's range).
        first = self.first if self.first and self.first > date.min + timedelta(days=1) else None
        last = self.last if self.last and self.last < date.max - timedelta(days=1) else None
        start = datetime.combine(first, time.min, VIETNAM) if first else None
        end = datetime.combine(last + timedelta(days=1), time.min, VIETNAM) if last else None
        return start, end


class StatsService:
    def __init__(self, session: Session, catalog: ProcedureCatalog, clock: Clock) -> None:
        self._session = session
        self._catalog = catalog
        self._clock = clock

    def report(self, principal: Principal, period: Period | None = None) -> StatsReport:
        """Every procedure for an administrator (an agency client holding `admin`); the caller agency's otherwise."""
        period = period or Period()
        procedures = self.procedures(principal)
        start, end = period.bounds()
        selection = Selection([p.code for p in procedures], start, end)
        now = self._clock.now()
        found = figures(self._session, selection, now)
        per_code, to_submit, processing = found.sums, found.to_submit, found.processing
        items = [
            _procedure(p, per_code.get(p.code, Sums()), to_submit.get(p.code), processing.get(p.code))
            for p in procedures
        ]
        total = sum(per_code.values(), Sums())
        return StatsReport(
            items=items,
            generated_at=now,
            total=StatsTotal(**_figures(total, to_submit.get(TOTAL), processing.get(TOTAL))),
            period_from=period.first,
            period_to=period.last,
        )

    def procedures(self, principal: Principal) -> list[Procedure]:
        if principal.role == "agency" and ADMIN_SCOPE in principal.scopes:
            return self._catalog.all()
        return self._catalog.by_agency(acting_agency(self._session, principal).code)


def _procedure(
    procedure: Procedure, figures: Sums, to_submit: float | None, processing: float | None
) -> ProcedureStats:
    return ProcedureStats(
        procedure_code=procedure.code,
        procedure_name=procedure.name,
        agency=AgencyPublic(code=procedure.agency.code, name=procedure.agency.name),
        processing_days=procedure.processing_days,
        **_figures(figures, to_submit, processing),
    )


def _figures(figures: Sums, to_submit: float | None, processing: float | None) -> dict[str, float | int | None]:
    return {
        "started": figures.started,
        "submitted": figures.submitted,
        "completed": figures.completed,
        "rejected": figures.rejected,
        "median_seconds_login_to_submission": to_submit,
        "prefill_ratio": figures.prefilled / figures.fields if figures.fields else None,
        "papers_reused": figures.reused,
        "papers_uploaded": figures.uploaded,
        "ratings": figures.ratings,
        "satisfaction_rate": figures.satisfied / figures.ratings if figures.ratings else None,
        "median_processing_seconds": processing,
        "overdue": figures.overdue,
    }


def longest_span(working_days: int) -> timedelta:
    """The longest calendar time `working_days` can take (received on the worst weekday, weekends between), which a
    median processing time is held against: beyond it, the typical dossier took longer than the law allows."""
    monday = datetime(2024, 1, 1, 12, tzinfo=VIETNAM)
    starts = [monday + timedelta(days=offset) for offset in range(7)]
    return max(due_after(start, working_days) - start for start in starts)
