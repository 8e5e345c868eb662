"""What issuing reads, as Core statements: the citizen, their paper count and the issuing agency's name in one
SELECT, where the issuing path ran three ORM queries."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlmodel import Session, col

from identity.models import Agency, Citizen
from wallet.models import Document


@dataclass(frozen=True)
class Recipient:
    """An active citizen who may receive a paper, and what issuing to them needs to know."""

    citizen_id: str
    assurance: int
    documents: int  # papers they hold now, held ones included (the per-citizen cap)
    issuer_name: str | None  # the issuing agency's name; None if its row is gone


def recipient(session: Session, national_id_index: str, agency_code: str) -> Recipient | None:
    """The active citizen of this national ID index (None if there is none), with their paper count and the agency's
    name: one statement where three queries were."""
    documents = (
        select(func.count())
        .select_from(Document)
        .where(col(Document.citizen_id) == col(Citizen.id))
        .correlate(Citizen)
        .scalar_subquery()
    )
    issuer_name = select(col(Agency.name)).where(col(Agency.code) == agency_code).scalar_subquery()
    query = select(col(Citizen.id), col(Citizen.status), col(Citizen.assurance), documents, issuer_name).where(
        col(Citizen.national_id_index) == national_id_index
    )
    row = session.execute(query).first()
    if row is None or row[1] != "active":
        return None
    return Recipient(citizen_id=row[0], assurance=int(row[2]), documents=int(row[3]), issuer_name=row[4])
