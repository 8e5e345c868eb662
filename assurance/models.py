"""Proofing records, recoveries in progress, and national e-ID login transactions. Personal data in them is
sealed under a platform key (`assurance.sealing`); lookups go through identity's blind indexes."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, LargeBinary
from sqlmodel import Field, SQLModel

from storage.types import UTCDateTime, new_id


class Proofing(SQLModel, table=True):
    """One proof that the account holder is the ID's holder (level 2): at a counter by an officer who checked the
    card, or by a national e-ID login at level 2. A recovery is a proofing too (`kind`)."""

    __tablename__ = "identity_proofing"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    citizen_id: str = Field(max_length=36, index=True)
    method: str = Field(max_length=16)  # counter | eid
    kind: str = Field(max_length=16)  # proofing | recovery
    at: datetime = Field(sa_type=UTCDateTime)
    officer_id: str | None = Field(default=None, max_length=36, index=True)
    agency_code: str | None = Field(default=None, max_length=64)
    eid_issuer: str | None = Field(default=None, max_length=300)
    closed_impostor: bool = False  # a level-1 account held by someone else was closed by this proofing


class Recovery(SQLModel, table=True):
    """A recovery started by an officer at a counter (or by an e-ID login), completed by the code sent to the
    new phone. Nothing changes on the account before completion."""

    __tablename__ = "identity_recovery"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    national_id_index: str = Field(max_length=64, index=True)
    method: str = Field(max_length=16)  # counter | eid
    officer_id: str | None = Field(default=None, max_length=36, index=True)
    agency_code: str | None = Field(default=None, max_length=64)
    eid_issuer: str | None = Field(default=None, max_length=300)
    # {"national_id", "new_phone", "full_name"?, "date_of_birth"?, "sex"?} sealed under the platform key
    sealed: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    challenge_id: str = Field(max_length=36, index=True)
    created_at: datetime = Field(sa_type=UTCDateTime)
    expires_at: datetime = Field(sa_type=UTCDateTime)
    completed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class EidLogin(SQLModel, table=True):
    """One national e-ID login between `GET /auth/eid/start` and its callback: the OAuth `state` (hashed),
    the browser binding (hashed cookie value), and the sealed nonce and PKCE verifier."""

    __tablename__ = "eid_login"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    state_hash: str = Field(max_length=64, unique=True)
    binding_hash: str = Field(max_length=64)
    intent: str = Field(max_length=16)  # login | link | recover
    citizen_id: str | None = Field(default=None, max_length=36)  # the signed-in citizen, for "link"
    # {"nonce", "code_verifier", "return_to"?, "new_phone"?} sealed under the platform key
    sealed: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    created_at: datetime = Field(sa_type=UTCDateTime)
    expires_at: datetime = Field(sa_type=UTCDateTime)
    consumed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class EidTicket(SQLModel, table=True):
    """A one-time ticket handed to `return_to` after an e-ID callback, exchanged for the outcome (tokens or a
    recovery challenge) by `POST /auth/eid/exchange`; tokens are minted only at the exchange."""

    __tablename__ = "eid_ticket"

    ticket_hash: str = Field(primary_key=True, max_length=64)
    citizen_id: str = Field(max_length=36)
    outcome: str = Field(max_length=16)  # tokens | challenge
    challenge_id: str | None = Field(default=None, max_length=36)
    expires_at: datetime = Field(sa_type=UTCDateTime)
    consumed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
