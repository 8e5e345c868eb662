"""The staff pages' dossier list: the agency's inbox (`AgencyDesk.inbox_rows`, the query the API's list runs), each
dossier beside its applicant's masked ID number and whether it is overdue.

The masked number (the last 4 digits, as a counter's QR scan shows it) lets an officer tell dossiers apart and match a
caller's card; it is not the dossier's content, so listing it is not an access written to the citizen's log (opening
the dossier is)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlmodel import Session, col, select

from forms.agency import AgencyDesk
from forms.dossiers import FormsDeps
from forms.schemas import ApplicationSummary
from identity.models import Citizen
from identity.profile import open_profiles
from identity.validation import mask_national_id

UNKNOWN = "—"  # an account closed since: its key is gone


@dataclass(frozen=True)
class InboxRow:
    summary: ApplicationSummary
    applicant: str  # the masked national ID
    overdue: bool


@dataclass(frozen=True)
class InboxQuery:
    status: str | None = None
    procedure: str | None = None
    overdue: bool = False
    limit: int | None = None
    cursor: str | None = None


def inbox_rows(
    desk: AgencyDesk, session: Session, deps: FormsDeps, query: InboxQuery
) -> tuple[list[InboxRow], str | None]:
    """One page of the agency's dossiers, newest first, and the cursor of the next."""
    page, next_cursor = desk.inbox_rows(
        status=query.status, limit=query.limit, cursor=query.cursor, procedure=query.procedure, overdue=query.overdue
    )
    masked = masked_applicants(session, deps, [a.citizen_id for a in page])
    rows = [InboxRow(desk.summary(a), masked.get(a.citizen_id, UNKNOWN), desk.is_overdue(a)) for a in page]
    return rows, next_cursor


def masked_applicants(session: Session, deps: FormsDeps, citizen_ids: Sequence[str]) -> dict[str, str]:
    """Citizen id → their ID number with only its last 4 digits; one query for the citizens, one read of the key
    store for their keys (a page of rows would otherwise read the store twice per row)."""
    wanted = sorted(set(citizen_ids))
    if not wanted:
        return {}
    citizens = session.exec(select(Citizen).where(col(Citizen.id).in_(wanted), Citizen.status == "active")).all()
    profiles = open_profiles(deps.identity.citizen_keys, citizens)
    return {cid: mask_national_id(str(profile["national_id"])) for cid, profile in profiles.items()}
