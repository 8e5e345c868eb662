"""The consent tables. A request and its consent hold no document content: types, field names, document ids,
the purpose and the notice the citizen was shown. The national ID only as identity's keyed blind index."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Column, Text
from sqlmodel import Field, SQLModel

from storage.types import UTCDateTime, new_id


class ConsentRequest(SQLModel, table=True):
    """An agency's request for one purpose. `citizen_id` is None when the national ID belongs to no active
    account: the request then looks like any other to the agency and simply never gets approved."""

    __tablename__ = "consent_request"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    agency_code: str = Field(max_length=64, index=True)
    agency_name: str = Field(max_length=300)  # as shown to the citizen
    officer_id: str | None = Field(default=None, max_length=36)  # filed by an officer at the counter
    citizen_id: str | None = Field(default=None, max_length=36, index=True)
    national_id_index: str = Field(max_length=64, index=True)
    purpose: str = Field(max_length=500)
    document_types: list[str] = Field(sa_column=Column(JSON, nullable=False))
    fields: dict[str, list[str]] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    valid_days: int
    presence_id: str | None = Field(default=None, max_length=36)
    collection_method: str = Field(max_length=16)  # app | counter
    notice: str = Field(sa_column=Column(Text, nullable=False))  # the text shown to the citizen, verbatim
    notice_sha256: str = Field(max_length=64)
    status: str = Field(max_length=16)  # pending | approved | denied | expired
    created_at: datetime = Field(sa_type=UTCDateTime)
    expires_at: datetime = Field(sa_type=UTCDateTime)  # a pending request expires then
    decided_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    consent_id: str | None = Field(default=None, max_length=36)


class Consent(SQLModel, table=True):
    """What the citizen approved: which of their papers, which fields, for whom, why and until when."""

    __tablename__ = "consent"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    request_id: str = Field(max_length=36, foreign_key="consent_request.id", unique=True)
    citizen_id: str = Field(max_length=36, index=True)
    agency_code: str = Field(max_length=64, index=True)
    agency_name: str = Field(max_length=300)
    purpose: str = Field(max_length=500)
    document_types: list[str] = Field(sa_column=Column(JSON, nullable=False))
    fields: dict[str, list[str]] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    document_ids: list[str] = Field(sa_column=Column(JSON, nullable=False))
    collection_method: str = Field(max_length=16)
    notice_sha256: str = Field(max_length=64)
    status: str = Field(max_length=16)  # active | revoked | expired
    created_at: datetime = Field(sa_type=UTCDateTime)
    valid_until: datetime = Field(sa_type=UTCDateTime)
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    artefact: str = Field(sa_column=Column(Text, nullable=False))  # the signed JWS given to the citizen
    kid: str = Field(max_length=64)  # the key that signed the artefact: kept for verification until `valid_until`


class ConsentEvent(SQLModel, table=True):
    """One transition of a request or a consent: when, by whom, from which status to which."""

    __tablename__ = "consent_event"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    subject_type: str = Field(max_length=16)  # request | consent
    subject_id: str = Field(max_length=36, index=True)
    at: datetime = Field(sa_type=UTCDateTime)
    actor_type: str = Field(max_length=16)  # agency | officer | citizen | system
    actor_id: str = Field(max_length=64)
    from_status: str | None = Field(default=None, max_length=16)
    to_status: str = Field(max_length=16)
