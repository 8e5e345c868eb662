"""The audit tables. An access-log entry names who acted, what and why; it never holds document content."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from storage.types import UTCDateTime, new_id


class AccessLogEntry(SQLModel, table=True):
    __tablename__ = "access_log"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    citizen_id: str = Field(max_length=36, index=True)
    at: datetime = Field(sa_type=UTCDateTime)
    actor_type: str = Field(max_length=16)  # officer | agency | system
    actor_code: str = Field(max_length=64)
    actor_name: str = Field(max_length=300)
    action: str = Field(max_length=40)  # qr_scan, consent_pull, ...
    document_id: str | None = Field(default=None, max_length=36)
    consent_id: str | None = Field(default=None, max_length=36)
    purpose: str | None = Field(default=None, max_length=500)


class Presence(SQLModel, table=True):
    """A valid QR scan: binds the citizen standing at an officer's counter for a follow-up consent request."""

    __tablename__ = "presence"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    citizen_id: str = Field(max_length=36, index=True)
    officer_id: str = Field(max_length=36, index=True)
    agency_code: str = Field(max_length=64)
    scanned_at: datetime = Field(sa_type=UTCDateTime)
    expires_at: datetime = Field(sa_type=UTCDateTime)
