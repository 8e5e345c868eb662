"""The e-form tables. Nothing personal lies here in clear: a dossier's values, their provenance and the agency's
notes are sealed under a data key of the dossier, wrapped by the citizen's key (erasing the citizen shreds them).
The columns in clear are what the agency's inbox and the statistics need: codes, states, times and counts."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, Index, LargeBinary
from sqlmodel import Field, SQLModel

from storage.types import UTCDateTime, new_id

STATS_COLUMNS = (
    "submitted_at",
    "created_at",
    "login_at",
    "decided_at",
    "status",
    "field_count",
    "prefilled_count",
    "reused_count",
    "uploaded_count",
    "rating_score",
    "due_at",
)


class Application(SQLModel, table=True):
    """One dossier (hồ sơ) of one citizen for one procedure."""

    __tablename__ = "application"
    # the agency's open dossiers by due date (the overdue filter and count)
    __table_args__ = (
        Index("ix_application_agency_status_due", "agency_code", "status", "due_at"),
        # the agency's list, newest first: whole, by status, by procedure (migration 20261208_02)
        Index("ix_application_agency_id", "agency_code", "id"),
        Index("ix_application_agency_status_id", "agency_code", "status", "id"),
        Index("ix_application_agency_procedure_id", "agency_code", "procedure_code", "id"),
        # the statistics (`forms.stats_sql`): on PostgreSQL every column a report reads, so that it scans this index
        # alone (a tenth of the table's size), already in procedure order (migration 20261212_01)
        Index("ix_application_stats", "procedure_code", postgresql_include=list(STATS_COLUMNS)),
    )

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    citizen_id: str = Field(max_length=36, foreign_key="citizen.id", index=True)
    procedure_code: str = Field(max_length=64)
    agency_code: str = Field(max_length=64, index=True)
    status: str = Field(max_length=16, index=True)  # draft | submitted | processing | needs_info | completed | rejected
    dossier_code: str | None = Field(default=None, max_length=64, unique=True)  # given at the first submission
    revision: int = 0  # bumped by every write: a write based on a stale read fails instead of overwriting
    wrapped_key: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    # {"fields": {...}, "provenance": {...}, "submitted": {...}|null} under the dossier's data key
    sealed: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    field_count: int
    prefilled_count: int = 0  # at the last submission
    reused_count: int = 0  # papers pulled from the wallet, at the last submission
    uploaded_count: int = 0  # papers uploaded while filling the dossier, at the last submission
    login_at: datetime | None = Field(default=None, sa_type=UTCDateTime)  # login of the first submission's session
    created_at: datetime = Field(sa_type=UTCDateTime)
    updated_at: datetime = Field(sa_type=UTCDateTime)
    submitted_at: datetime | None = Field(default=None, sa_type=UTCDateTime)  # the first submission
    decided_at: datetime | None = Field(default=None, sa_type=UTCDateTime)  # completed or rejected
    # the procedure's processing time after the last submission (a dossier sent back for more restarts it)
    due_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    result_document_id: str | None = Field(default=None, max_length=36)
    rating_score: int | None = None
    rating_comment_sealed: bytes | None = Field(default=None, sa_column=Column(LargeBinary, nullable=True))
    rated_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    erased: bool = False  # the citizen erased their account: content shredded, counters kept for statistics


class ApplicationDocument(SQLModel, table=True):
    """A paper of the wallet attached by reference (never copied): one per type. `version` is frozen at submission."""

    __tablename__ = "application_document"

    application_id: str = Field(max_length=36, foreign_key="application.id", primary_key=True)
    type: str = Field(max_length=40, primary_key=True)
    document_id: str = Field(max_length=36, index=True)
    origin: str = Field(max_length=16)  # prefill | chosen | uploaded
    version: int | None = None
    attached_at: datetime = Field(sa_type=UTCDateTime)


class ApplicationEvent(SQLModel, table=True):
    """One entry of a dossier's status history."""

    __tablename__ = "application_event"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    application_id: str = Field(max_length=36, foreign_key="application.id", index=True)
    status: str = Field(max_length=16)
    actor_type: str = Field(max_length=16)  # citizen | agency | officer | system
    actor_code: str | None = Field(default=None, max_length=64)  # the agency acting
    at: datetime = Field(sa_type=UTCDateTime)
    note_sealed: bytes | None = Field(default=None, sa_column=Column(LargeBinary, nullable=True))
