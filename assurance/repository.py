"""Every query of the assurance package."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlmodel import Session, col, func, select

from assurance.models import EidLogin, EidTicket, Proofing, Recovery
from identity.models import Officer


class AssuranceRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, *rows: object) -> None:
        self.session.add_all(rows)
        self.session.flush()

    def latest_proofing(self, citizen_id: str) -> Proofing | None:
        query = select(Proofing).where(Proofing.citizen_id == citizen_id)
        return self.session.exec(query.order_by(col(Proofing.at).desc(), col(Proofing.id).desc())).first()

    def recovery_by_challenge(self, challenge_id: str) -> Recovery | None:
        query = select(Recovery).where(Recovery.challenge_id == challenge_id).with_for_update()
        return self.session.exec(query).first()

    def eid_login(self, state_hash: str) -> EidLogin | None:
        return self.session.exec(select(EidLogin).where(EidLogin.state_hash == state_hash).with_for_update()).first()

    def ticket(self, ticket_hash: str) -> EidTicket | None:
        return self.session.get(EidTicket, ticket_hash, with_for_update=True)

    def counts_by_officer(self, *, since: datetime | None = None) -> Sequence[tuple[str, str, str, int]]:
        """(officer id, agency code, kind, count) of the proofings and recoveries made at counters."""
        query = select(Proofing.officer_id, Proofing.agency_code, Proofing.kind, func.count()).where(
            col(Proofing.officer_id).is_not(None)
        )
        if since is not None:
            query = query.where(col(Proofing.at) >= since)
        rows = self.session.exec(
            query.group_by(col(Proofing.officer_id), col(Proofing.agency_code), col(Proofing.kind))
        ).all()
        return [(str(o), str(a), str(k), int(n)) for o, a, k, n in rows]

    def recoveries_started_by_officer(self) -> Sequence[tuple[str, int]]:
        query = select(Recovery.officer_id, func.count()).where(col(Recovery.officer_id).is_not(None))
        rows = self.session.exec(query.group_by(col(Recovery.officer_id))).all()
        return [(str(o), int(n)) for o, n in rows]

    def officers(self) -> Sequence[Officer]:
        return self.session.exec(select(Officer).order_by(col(Officer.agency_code), col(Officer.id))).all()
