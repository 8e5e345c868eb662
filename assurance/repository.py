"""Every query of the assurance package."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, NamedTuple

import sqlalchemy
from sqlalchemy.orm import aliased
from sqlalchemy.sql.elements import SQLCoreOperations
from sqlmodel import Session, col, func, select

from assurance.models import EidLogin, EidTicket, Proofing, Recovery
from identity.models import Agency, Citizen, Officer
from identity.repository import totp_enabled_clause
from storage.db import connection_of
from wallet.repository import held_count_of


class ProofingRow(NamedTuple):
    """A proofing with the names of who did it, read in the same statement."""

    method: str
    at: datetime
    officer_id: str | None
    officer_name: str | None
    agency_code: str | None
    agency_name: str | None


class ProfileRow(NamedTuple):
    """Everything `GET /me` shows of a citizen, read in one statement."""

    id: str
    status: str
    created_at: datetime
    profile_sealed: bytes
    assurance: int
    totp_enabled: bool
    held_papers: int
    proofing: ProofingRow | None


def _latest_proofing_id(citizen_id: SQLCoreOperations[str]) -> sqlalchemy.ScalarSelect[str]:
    # Its own alias: the statements around it join `identity_proofing` too, which must not correlate into it.
    inner = aliased(Proofing)
    newest_first = (col(inner.at).desc(), col(inner.id).desc())
    return select(inner.id).where(inner.citizen_id == citizen_id).order_by(*newest_first).limit(1).scalar_subquery()


_PROOFING_COLUMNS = tuple(
    col(column)
    for column in (Proofing.method, Proofing.at, Proofing.officer_id, Officer.full_name, Agency.code, Agency.name)
)
_WITH_NAMES = (
    (Officer, col(Officer.id) == Proofing.officer_id),
    (Agency, col(Agency.code) == Proofing.agency_code),
)
_LATEST_PROOFING = (
    sqlalchemy.select(*_PROOFING_COLUMNS)
    .outerjoin(*_WITH_NAMES[0])
    .outerjoin(*_WITH_NAMES[1])
    .where(col(Proofing.id) == _latest_proofing_id(sqlalchemy.bindparam("id")))
)
_CITIZEN = col(Citizen.id)
# Built once (every `GET /me` runs it): the citizen, their authenticator, held papers and latest proofing with who
# proofed, in one indexed read instead of five.
_PROFILE = (
    sqlalchemy.select(
        _CITIZEN,
        col(Citizen.status),
        col(Citizen.created_at),
        col(Citizen.profile_sealed),
        col(Citizen.assurance),
        totp_enabled_clause("citizen", _CITIZEN),
        held_count_of(_CITIZEN),
        *_PROOFING_COLUMNS,
    )
    .select_from(Citizen)
    .outerjoin(Proofing, col(Proofing.id) == _latest_proofing_id(_CITIZEN))
    .outerjoin(*_WITH_NAMES[0])
    .outerjoin(*_WITH_NAMES[1])
    .where(sqlalchemy.bindparam("id") == _CITIZEN)
)


class AssuranceRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, *rows: object) -> None:
        self.session.add_all(rows)
        self.session.flush()

    def profile_row(self, citizen_id: str) -> ProfileRow | None:
        row = connection_of(self.session).execute(_PROFILE, {"id": citizen_id}).first()
        if row is None:
            return None
        values: tuple[Any, ...] = tuple(row)
        proofing = ProofingRow(*values[7:])
        return ProfileRow._make((*values[:7], proofing if proofing.method is not None else None))

    def latest_proofing(self, citizen_id: str) -> ProofingRow | None:
        row = connection_of(self.session).execute(_LATEST_PROOFING, {"id": citizen_id}).first()
        return ProofingRow._make(row) if row is not None else None

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
