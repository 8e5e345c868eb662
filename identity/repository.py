"""Every query of the identity package."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, NamedTuple, TypeVar

import sqlalchemy
from sqlalchemy import ColumnElement
from sqlalchemy.sql import Executable
from sqlalchemy.sql.elements import SQLCoreOperations
from sqlmodel import Session, col, delete, select, update

from identity.models import Agency, AuthSession, Citizen, Officer, OtpChallenge, RefreshToken, TotpCredential
from storage.db import connection_of

R = TypeVar("R")


class SessionState(NamedTuple):
    """What a request's check needs of its login (`auth_session`), read without loading the ORM row."""

    id: str
    subject_type: str
    subject_id: str
    auth_time: datetime
    started_at: datetime | None
    last_seen_at: datetime
    expires_at: datetime
    revoked_at: datetime | None


def totp_enabled_clause(subject_type: str, subject_id: SQLCoreOperations[str]) -> ColumnElement[bool]:
    """`SecondFactor.totp_enabled` in SQL: the subject has an authenticator whose secret is confirmed."""
    return sqlalchemy.exists().where(
        col(TotpCredential.subject_type) == subject_type,
        col(TotpCredential.subject_id) == subject_id,
        col(TotpCredential.secret_sealed).is_not(None),
    )


class AgencyState(NamedTuple):
    """What an agency's request check needs of its row, read without loading the ORM row."""

    code: str
    status: str
    scopes: str
    scopes_revoked_at: datetime | None


_AGENCY_STATE = sqlalchemy.select(*(getattr(Agency, name) for name in AgencyState._fields)).where(
    col(Agency.code) == sqlalchemy.bindparam("code")
)


# Built once: every authenticated request runs it, and building a statement costs about as much as running it.
_SESSION_STATE = sqlalchemy.select(*(getattr(AuthSession, name) for name in SessionState._fields)).where(
    col(AuthSession.id) == sqlalchemy.bindparam("id")
)


class OfficerState(NamedTuple):
    """What an officer's login check and a counter scan need of the officer and their agency (the agency's columns
    None when its row is missing)."""

    status: str
    full_name: str
    agency_code: str | None
    agency_name: str | None
    agency_status: str | None
    agency_scopes: str | None


class QrHolder(NamedTuple):
    """What a counter scan needs of the citizen a QR id names: enough to check them and unseal their profile."""

    id: str
    status: str
    profile_sealed: bytes


class QrSubject(NamedTuple):
    """What issuing a citizen's QR token needs of them: whether they are active, and the QR id the token names."""

    status: str
    qr_id: str


# Every officer's request (its login check) and the scan read these as plain columns, built once: loading ORM rows
# cost more than running either statement.
_OFFICER_STATE = (
    sqlalchemy.select(
        col(Officer.status),
        col(Officer.full_name),
        col(Agency.code),
        col(Agency.name),
        col(Agency.status),
        col(Agency.scopes),
    )
    .select_from(Officer)
    .outerjoin(Agency, col(Agency.code) == col(Officer.agency_code))
    .where(col(Officer.id) == sqlalchemy.bindparam("id"))
)
_QR_SUBJECT = sqlalchemy.select(col(Citizen.status), col(Citizen.qr_id)).where(
    col(Citizen.id) == sqlalchemy.bindparam("id")
)
_QR_HOLDER = sqlalchemy.select(*(getattr(Citizen, name) for name in QrHolder._fields)).where(
    col(Citizen.qr_id) == sqlalchemy.bindparam("qr_id")
)


class IdentityRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, *rows: object) -> None:
        self.session.add_all(rows)
        self.session.flush()

    def citizen(self, citizen_id: str) -> Citizen | None:
        return self.session.get(Citizen, citizen_id)

    def citizen_by_national_id(self, index: str) -> Citizen | None:
        return self.session.exec(select(Citizen).where(Citizen.national_id_index == index)).first()

    def delete_pending_citizen(self, citizen: Citizen) -> None:
        self.session.exec(delete(OtpChallenge).where(col(OtpChallenge.subject_id) == citizen.id))
        self.session.delete(citizen)
        self.session.flush()

    def _one(self, statement: Executable, params: dict[str, Any], shape: Callable[..., R]) -> R | None:
        """The one row of a prebuilt statement as a plain tuple `shape`, without ORM rows (loading one costs more
        than running the statement)."""
        row = connection_of(self.session).execute(statement, params).first()
        return shape(*row) if row is not None else None

    def officer(self, officer_id: str) -> Officer | None:
        return self.session.get(Officer, officer_id)

    def officer_state(self, officer_id: str) -> OfficerState | None:
        """The officer and their agency in one prebuilt statement without ORM rows (ORM rows a check loaded would be
        gone by the scan's read anyway: the session keeps only weak references to unchanged rows)."""
        return self._one(_OFFICER_STATE, {"id": officer_id}, OfficerState)

    def qr_subject(self, citizen_id: str) -> QrSubject | None:
        """The citizen as `GET /me/qr` needs them, without loading the ORM row (about as costly as the statement)."""
        return self._one(_QR_SUBJECT, {"id": citizen_id}, QrSubject)

    def qr_holder(self, qr_id: str) -> QrHolder | None:
        """The citizen a QR id names (it is unique), as the counter scan needs them, without loading the ORM row."""
        return self._one(_QR_HOLDER, {"qr_id": qr_id}, QrHolder)

    def officer_by_phone(self, phone: str) -> Officer | None:
        return self.session.exec(select(Officer).where(Officer.phone == phone)).first()

    def agency(self, code: str) -> Agency | None:
        return self.session.get(Agency, code)

    def agency_by_client_id(self, client_id: str) -> Agency | None:
        return self.session.exec(select(Agency).where(Agency.client_id == client_id)).first()

    def challenge(self, challenge_id: str) -> OtpChallenge | None:
        # Row locks (PostgreSQL) serialise concurrent uses of one code; SQLite already writes serially.
        return self.session.get(OtpChallenge, challenge_id, with_for_update=True)

    def has_live_registration(self, citizen_id: str, *, now: datetime, max_attempts: int) -> bool:
        """Whether the pending citizen still has a register code that can be answered (not expired, not used, not
        dead from wrong codes)."""
        query = select(OtpChallenge.id).where(
            OtpChallenge.subject_id == citizen_id,
            OtpChallenge.purpose == "register",
            col(OtpChallenge.consumed_at).is_(None),
            col(OtpChallenge.expires_at) > now,
            col(OtpChallenge.attempts) < max_attempts,
        )
        return self.session.exec(query.limit(1)).first() is not None

    def totp(self, subject_type: str, subject_id: str) -> TotpCredential | None:
        query = select(TotpCredential).where(
            TotpCredential.subject_type == subject_type, TotpCredential.subject_id == subject_id
        )
        return self.session.exec(query.with_for_update()).first()

    def delete_totp(self, credential: TotpCredential) -> None:
        self.session.delete(credential)
        self.session.flush()

    def auth_session(self, session_id: str) -> AuthSession | None:
        return self.session.get(AuthSession, session_id)

    def agency_state(self, code: str) -> AgencyState | None:
        return self._one(_AGENCY_STATE, {"code": code}, AgencyState)

    def session_state(self, session_id: str) -> SessionState | None:
        return self._one(_SESSION_STATE, {"id": session_id}, SessionState)

    def refresh_token(self, token_hash: str) -> RefreshToken | None:
        query = select(RefreshToken).where(RefreshToken.token_hash == token_hash).with_for_update()
        return self.session.exec(query).first()

    def open_step_up(self, subject_type: str, subject_id: str, challenge_id: str | None) -> OtpChallenge | None:
        """The newest unconsumed code the subject was sent for a step-up or a login (or the one named):
        either proves, freshly, the possession of the phone."""
        query = select(OtpChallenge).where(
            OtpChallenge.subject_type == subject_type,
            OtpChallenge.subject_id == subject_id,
            col(OtpChallenge.purpose).in_(("step_up", "login")),
            col(OtpChallenge.consumed_at).is_(None),
        )
        if challenge_id:
            query = query.where(OtpChallenge.id == challenge_id)
        return self.session.exec(query.order_by(col(OtpChallenge.created_at).desc()).with_for_update()).first()

    def forget_subject(self, subject_type: str, subject_id: str, *, at: datetime, reason: str = "erased") -> None:
        """Every way in ends: the authenticator, every code, every session (and so every refresh family)."""
        self.session.exec(
            delete(TotpCredential).where(
                col(TotpCredential.subject_type) == subject_type, col(TotpCredential.subject_id) == subject_id
            )
        )
        self.session.exec(delete(OtpChallenge).where(col(OtpChallenge.subject_id) == subject_id))
        self.revoke_sessions_of(subject_type, subject_id, at=at, reason=reason)
        self.session.flush()

    def revoke_sessions_of(self, subject_type: str, subject_id: str, *, at: datetime, reason: str) -> None:
        self.session.exec(
            update(AuthSession)
            .where(
                col(AuthSession.subject_type) == subject_type,
                col(AuthSession.subject_id) == subject_id,
                col(AuthSession.revoked_at).is_(None),
            )
            .values(revoked_at=at, revoked_reason=reason)
        )
