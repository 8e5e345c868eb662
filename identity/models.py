"""Accounts and their authentication state. Citizens' personal data is sealed under their own key;
lookups go through keyed blind indexes."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, LargeBinary, UniqueConstraint
from sqlmodel import Field, SQLModel

from storage.types import UTCDateTime, new_id


class Citizen(SQLModel, table=True):
    __tablename__ = "citizen"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    national_id_index: str = Field(max_length=64, unique=True)
    phone_index: str = Field(max_length=64, index=True)
    qr_id: str = Field(max_length=40, unique=True)  # pseudonymous, random, never derived from the ID
    profile_sealed: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    pin_hash: str = Field(max_length=200)
    status: str = Field(max_length=16, index=True)  # pending | active | erased
    created_at: datetime = Field(sa_type=UTCDateTime)
    activated_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # 1: self-registered (ID number checked for consistency, phone proven); 2: proofed at a one-stop counter
    # or by national e-ID (Decree 69/2024 level 2). How and by whom lives in `assurance.models.Proofing`.
    assurance: int = Field(default=1, sa_column_kwargs={"server_default": "1"})


class Officer(SQLModel, table=True):
    __tablename__ = "officer"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    phone: str = Field(max_length=16, unique=True)
    full_name: str = Field(max_length=200)
    agency_code: str = Field(max_length=64, foreign_key="agency.code", index=True)
    pin_hash: str = Field(max_length=200)
    status: str = Field(max_length=16, default="active")
    created_at: datetime = Field(sa_type=UTCDateTime)


class Agency(SQLModel, table=True):
    __tablename__ = "agency"

    code: str = Field(primary_key=True, max_length=64)
    name: str = Field(max_length=300)
    client_id: str = Field(max_length=64, unique=True)
    secret_hash: str = Field(max_length=64)
    scopes: str = Field(max_length=1000)  # space-separated, as in OAuth
    status: str = Field(max_length=16, default="active")
    created_at: datetime = Field(sa_type=UTCDateTime)
    # The last time a scope was taken away: access tokens issued before then are refused.
    scopes_revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class OtpChallenge(SQLModel, table=True):
    __tablename__ = "otp_challenge"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    subject_type: str = Field(max_length=16)  # citizen | officer
    subject_id: str = Field(max_length=36, index=True)
    purpose: str = Field(max_length=16)  # register | login | step_up
    channel: str = Field(max_length=8)  # sms | totp
    code_hash: str | None = Field(default=None, max_length=64)
    attempts: int = 0
    created_at: datetime = Field(sa_type=UTCDateTime)
    expires_at: datetime = Field(sa_type=UTCDateTime)
    consumed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class TotpCredential(SQLModel, table=True):
    __tablename__ = "totp_credential"
    __table_args__ = (UniqueConstraint("subject_type", "subject_id"),)

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    subject_type: str = Field(max_length=16)
    subject_id: str = Field(max_length=36)
    secret_sealed: bytes | None = Field(default=None, sa_column=Column(LargeBinary, nullable=True))
    # A new authenticator replaces the current one only once a code from it is confirmed.
    pending_secret_sealed: bytes | None = Field(default=None, sa_column=Column(LargeBinary, nullable=True))
    confirmed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_used_step: int | None = None
    created_at: datetime = Field(sa_type=UTCDateTime)


class AuthSession(SQLModel, table=True):
    """A login: the family of its refresh tokens, its idle and absolute limits."""

    __tablename__ = "auth_session"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    subject_type: str = Field(max_length=16)
    subject_id: str = Field(max_length=36, index=True)
    auth_time: datetime = Field(sa_type=UTCDateTime)  # when the second factor was last proven
    started_at: datetime | None = Field(default=None, sa_type=UTCDateTime)  # the login (null before 2026-11-25)
    last_seen_at: datetime = Field(sa_type=UTCDateTime)
    expires_at: datetime = Field(sa_type=UTCDateTime)
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    revoked_reason: str | None = Field(default=None, max_length=32)


class RefreshToken(SQLModel, table=True):
    __tablename__ = "refresh_token"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    session_id: str = Field(max_length=36, foreign_key="auth_session.id", index=True)
    token_hash: str = Field(max_length=64, unique=True)
    created_at: datetime = Field(sa_type=UTCDateTime)
    spent_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
