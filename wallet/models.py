"""The wallet's tables. Nothing personal lies here in clear: fields and file metadata are sealed
under per-version data keys, themselves wrapped by the citizen's key (held in the key store)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, Column, LargeBinary, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from storage.types import UTCDateTime, new_id


class Document(SQLModel, table=True):
    __tablename__ = "document"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    citizen_id: str = Field(max_length=36, foreign_key="citizen.id", index=True)
    type: str = Field(max_length=40)
    source: str = Field(max_length=16)  # citizen | issuer
    provenance: str = Field(max_length=24)  # self_uploaded | issuer_signed
    issuer_code: str | None = Field(default=None, max_length=64)
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # An issuer's paper for an account not yet proofed to level 2: kept sealed, out of every listing and read,
    # until the account reaches level 2 (it then appears; the holder of a level-1 account never sees it).
    held_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    current_version: int = 1
    created_at: datetime = Field(sa_type=UTCDateTime)
    updated_at: datetime = Field(sa_type=UTCDateTime)


class DocumentVersion(SQLModel, table=True):
    __tablename__ = "document_version"
    __table_args__ = (UniqueConstraint("document_id", "version"),)

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    document_id: str = Field(max_length=36, foreign_key="document.id", index=True)
    version: int
    wrapped_data_key: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    # {"fields": {...}, "file_ids": [...]} sealed under this version's data key
    sealed: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    created_at: datetime = Field(sa_type=UTCDateTime)


class DocumentFile(SQLModel, table=True):
    """One sealed scan. It is sealed under the data key of the version that uploaded it; later
    versions may keep listing it."""

    __tablename__ = "document_file"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    document_id: str = Field(max_length=36, foreign_key="document.id", index=True)
    citizen_id: str = Field(max_length=36, index=True)
    version: int
    blob_key: str = Field(max_length=200, unique=True)
    stored_size: int = Field(sa_type=BigInteger)  # ciphertext bytes, for quotas; reveals nothing the bucket does not
    # {"filename", "content_type", "size", "sha256"} sealed under the version's data key
    sealed_meta: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    created_at: datetime = Field(sa_type=UTCDateTime)


class PendingBlob(SQLModel, table=True):
    """A blob being written: recorded (and committed) before the write, removed when the metadata
    that references it commits. The janitor deletes blobs whose record outlived the grace period."""

    __tablename__ = "pending_blob"

    blob_key: str = Field(primary_key=True, max_length=200)
    citizen_id: str = Field(max_length=36, index=True)
    created_at: datetime = Field(sa_type=UTCDateTime)
    # Quota bytes reserved for this blob while it is written (see `wallet.quota`): given back if it never commits.
    reserved_bytes: int = Field(default=0, sa_type=BigInteger, sa_column_kwargs={"server_default": "0"})


class JanitorCursor(SQLModel, table=True):
    """Where a walk of the janitor over the blob store stopped: the last key it examined (empty: the walk starts over
    at the first key). Each run resumes after it, so a run's work is bounded whatever the size of the bucket."""

    __tablename__ = "janitor_cursor"

    name: str = Field(primary_key=True, max_length=40)
    position: str = Field(max_length=1024)
    updated_at: datetime = Field(sa_type=UTCDateTime)


class CitizenUsage(SQLModel, table=True):
    """Bytes a citizen's papers hold, plus those reserved by uploads in flight: the quota is one conditional update
    of this row, so concurrent uploads cannot pass it together."""

    __tablename__ = "citizen_usage"

    citizen_id: str = Field(primary_key=True, max_length=36)
    stored_bytes: int = Field(default=0, sa_type=BigInteger)


class Attestation(SQLModel, table=True):
    """The signed attestation (a JWS) of one version of a paper an agency issued, with the Circular 01/2023
    minimum it carries. No personal data in clear: the requester only as a keyed hash. It outlives the
    document (a printed result must still verify after the citizen deletes the paper), so no foreign key."""

    __tablename__ = "attestation"
    __table_args__ = (UniqueConstraint("document_id", "version"),)

    id: str = Field(primary_key=True, max_length=64)  # the token's jti
    document_id: str = Field(max_length=36, index=True)
    version: int
    citizen_id: str = Field(max_length=36, index=True)
    type: str = Field(max_length=40)
    issuer_code: str = Field(max_length=64)
    kid: str = Field(max_length=64)
    procedure_code: str | None = Field(default=None, max_length=100)
    dossier_code: str | None = Field(default=None, max_length=100)
    document_name: str = Field(max_length=500)
    requester_hash: str = Field(max_length=64)
    issued_at: datetime = Field(sa_type=UTCDateTime)
    valid_until: date | None = None
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    token: str = Field(sa_column=Column(Text, nullable=False))
