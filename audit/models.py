"""The audit tables. An access-log entry names who acted, what and why; it never holds document content.
Entries form a hash chain (`audit.chain`), pinned by signed checkpoints (`audit.checkpoints`)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Index, Text, text
from sqlmodel import Field, SQLModel

from storage.types import UTCDateTime, new_id

_UNCHAINED = text("seq IS NULL")


class AccessLogEntry(SQLModel, table=True):
    __tablename__ = "access_log"
    # The citizen's pages, newest first, whole or narrowed to one agency (the period bounds `at` in either): each
    # keyset page is one index range scan, never a sort of the citizen's whole log.
    __table_args__ = (
        Index("ix_access_log_citizen_at", "citizen_id", "at", "id"),
        Index("ix_access_log_citizen_actor_at", "citizen_id", "actor_code", "at", "id"),
        # The entries not yet chained (`audit.appends`), in the order they get chained.
        Index("ix_access_log_unchained", "at", "id", postgresql_where=_UNCHAINED, sqlite_where=_UNCHAINED),
    )

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    citizen_id: str = Field(max_length=36)
    at: datetime = Field(sa_type=UTCDateTime)
    actor_type: str = Field(max_length=16)  # officer | agency | system
    actor_code: str = Field(max_length=64)
    actor_name: str = Field(max_length=300)
    # The person who acted for the agency (an officer's name), when one did: chained by encoding version 2.
    actor_person: str | None = Field(default=None, max_length=200)
    action: str = Field(max_length=40)  # qr_scan, consent_pull, ...
    document_id: str | None = Field(default=None, max_length=36)
    consent_id: str | None = Field(default=None, max_length=36)
    purpose: str | None = Field(default=None, max_length=500)
    # The chain (audit.chain). Empty only between an entry's commit and its chaining a moment later (audit.appends).
    seq: int | None = Field(default=None, sa_type=BigInteger, unique=True, index=True)  # 1, 2, 3, … no gap
    prev_hash: str | None = Field(default=None, max_length=64)  # entry_hash of entry seq - 1 (64 zeros for entry 1)
    entry_hash: str | None = Field(default=None, max_length=64)  # SHA-256 of the canonical encoding


def recorded_entry(values: dict[str, Any]) -> AccessLogEntry:
    """The entry of `values` (every column) as an `AccessLogEntry`, transient as the constructor makes it, but built as
    the ORM builds a loaded row: the values go straight into the instance's dict, without the attribute events the
    constructor fires for each column (about 110 µs an entry, a fifth of an append's CPU on PostgreSQL)."""
    entry: AccessLogEntry = _transient(_ENTRY_CLASS, values)
    return entry


def _transient(manager: Any, values: dict[str, Any]) -> Any:
    row = manager.new_instance()
    row.__dict__.update(values)
    # SQLModel's `__new__` gave it pydantic's state, as to a loaded row; only which fields were given is left.
    object.__setattr__(row, "__pydantic_fields_set__", set(values))
    return row


_ENTRY_CLASS = AccessLogEntry._sa_class_manager  # type: ignore[attr-defined]


class AuditCheckpoint(SQLModel, table=True):
    """The chain's hash at `seq`, signed (a compact JWS, EdDSA) with the platform key `kid` at `at`."""

    __tablename__ = "audit_checkpoint"

    seq: int = Field(sa_type=BigInteger, primary_key=True, sa_column_kwargs={"autoincrement": False})
    entry_hash: str = Field(max_length=64)
    at: datetime = Field(sa_type=UTCDateTime)
    kid: str = Field(max_length=64)
    signature: str = Field(sa_type=Text)


class Presence(SQLModel, table=True):
    """A valid QR scan: binds the citizen standing at an officer's counter for a follow-up consent request."""

    __tablename__ = "presence"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    citizen_id: str = Field(max_length=36, index=True)
    officer_id: str = Field(max_length=36, index=True)
    agency_code: str = Field(max_length=64)
    scanned_at: datetime = Field(sa_type=UTCDateTime)
    expires_at: datetime = Field(sa_type=UTCDateTime)


def recorded_presence(values: dict[str, Any]) -> Presence:
    """The presence of `values` (every column) as a transient `Presence`, built as `recorded_entry` builds an entry
    (a scan writes its presence with one INSERT, outside the session's unit of work)."""
    presence: Presence = _transient(_PRESENCE_CLASS, values)
    return presence


_PRESENCE_CLASS = Presence._sa_class_manager  # type: ignore[attr-defined]
