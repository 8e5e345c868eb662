"""Officer accountability in `GET /stats`: proofings and recoveries per officer, and the counters whose proofings
stand far above their colleagues' (a busy counter shows here before anyone asks)."""

from __future__ import annotations

from collections import defaultdict
from statistics import median

from sqlmodel import Session

from assurance.repository import AssuranceRepository
from assurance.schemas import OfficerProofingStats
from identity.models import Agency, Officer
from identity.repository import IdentityRepository
from identity.schemas import ProofingAgency
from identity.sessions import Principal

ADMIN_SCOPE = "admin"
UNUSUAL_FACTOR = 3
UNUSUAL_FLOOR = 10  # a handful of proofings is never unusual, however idle the colleagues


def officer_stats(session: Session, principal: Principal) -> list[OfficerProofingStats]:
    """The caller's agency's officers (every agency's for an `admin` client or officer), busiest first."""
    ids = IdentityRepository(session)
    repo = AssuranceRepository(session)
    own, admin = _scope(ids, principal)
    counts: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for officer_id, _agency, kind, count in repo.counts_by_officer():
        counts[officer_id][kind] += count
    for officer_id, count in repo.recoveries_started_by_officer():
        counts[officer_id]["started"] += count
    officers = [o for o in repo.officers() if admin or o.agency_code == own]
    by_agency: dict[str, list[Officer]] = defaultdict(list)
    for officer in officers:
        by_agency[officer.agency_code].append(officer)
    rows = []
    for agency_code, colleagues in by_agency.items():
        agency = ids.agency(agency_code)
        for officer in colleagues:
            others = [counts[o.id]["proofing"] for o in colleagues if o.id != officer.id]
            rows.append(_row(officer, agency, counts[officer.id], others))
    return sorted(rows, key=lambda r: (-r.proofings, r.name, r.officer_id))


def _scope(ids: IdentityRepository, principal: Principal) -> tuple[str | None, bool]:
    if principal.role == "agency":
        return principal.subject_id, ADMIN_SCOPE in principal.scopes
    officer = ids.officer(principal.subject_id)
    agency = ids.agency(officer.agency_code) if officer else None
    if agency is None:
        return None, False
    return agency.code, ADMIN_SCOPE in agency.scopes.split()


def _row(officer: Officer, agency: Agency | None, counts: dict[str, int], others: list[int]) -> OfficerProofingStats:
    proofings = counts["proofing"]
    typical = median(others) if others else None
    unusual = typical is not None and proofings >= UNUSUAL_FLOOR and proofings > UNUSUAL_FACTOR * typical
    return OfficerProofingStats(
        officer_id=officer.id,
        name=officer.full_name,
        agency=ProofingAgency(code=officer.agency_code, name=agency.name if agency else officer.agency_code),
        proofings=proofings,
        recoveries_started=counts["started"],
        recoveries_completed=counts["recovery"],
        unusual=unusual,
    )
