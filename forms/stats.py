"""Figures of the national targets, per procedure: how many dossiers start and reach the agency, how long a citizen
takes from login to submission, how much of the form the wallet filled, how many papers were reused rather than
uploaded, how satisfied citizens are (share of ratings of 4 or 5) and how long the agency takes to decide.

Computed from the dossiers' clear columns only (codes, states, times, counts), so erased citizens still count."""

from __future__ import annotations

from collections.abc import Sequence
from statistics import median

from sqlmodel import Session

from crypto.clock import Clock
from forms.agency import acting_agency
from forms.catalog import Procedure, ProcedureCatalog
from forms.models import Application
from forms.repository import FormsRepository
from forms.schemas import AgencyPublic, ProcedureStats, StatsReport
from identity.sessions import Principal

ADMIN_SCOPE = "admin"
SATISFIED = 4


class StatsService:
    def __init__(self, session: Session, catalog: ProcedureCatalog, clock: Clock) -> None:
        self._session = session
        self._repo = FormsRepository(session)
        self._catalog = catalog
        self._clock = clock

    def report(self, principal: Principal) -> StatsReport:
        """Every procedure for an administrator (an agency client holding `admin`); the caller agency's otherwise."""
        if principal.role == "agency" and ADMIN_SCOPE in principal.scopes:
            procedures = self._catalog.all()
        else:
            procedures = self._catalog.by_agency(acting_agency(self._session, principal).code)
        rows = self._repo.of_procedures([p.code for p in procedures])
        by_procedure: dict[str, list[Application]] = {p.code: [] for p in procedures}
        for row in rows:
            by_procedure[row.procedure_code].append(row)
        items = [figures(p, by_procedure[p.code]) for p in procedures]
        return StatsReport(items=items, generated_at=self._clock.now())


def figures(procedure: Procedure, applications: Sequence[Application]) -> ProcedureStats:
    submitted = [a for a in applications if a.submitted_at is not None]
    to_submit = [(a.submitted_at - a.login_at).total_seconds() for a in submitted if a.login_at and a.submitted_at]
    processing = [(a.decided_at - a.submitted_at).total_seconds() for a in submitted if a.decided_at and a.submitted_at]
    fields = sum(a.field_count for a in submitted)
    scores = [a.rating_score for a in applications if a.rating_score is not None]
    return ProcedureStats(
        procedure_code=procedure.code,
        procedure_name=procedure.name,
        agency=AgencyPublic(code=procedure.agency.code, name=procedure.agency.name),
        started=len(applications),
        submitted=len(submitted),
        completed=sum(a.status == "completed" for a in applications),
        rejected=sum(a.status == "rejected" for a in applications),
        median_seconds_login_to_submission=median(to_submit) if to_submit else None,
        prefill_ratio=sum(a.prefilled_count for a in submitted) / fields if fields else None,
        papers_reused=sum(a.reused_count for a in submitted),
        papers_uploaded=sum(a.uploaded_count for a in submitted),
        ratings=len(scores),
        satisfaction_rate=sum(s >= SATISFIED for s in scores) / len(scores) if scores else None,
        median_processing_seconds=median(processing) if processing else None,
    )
