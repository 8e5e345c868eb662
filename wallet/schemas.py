"""Public shapes of the wallet (API.md: "Document")."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel


class FilePublic(BaseModel):
    id: str
    filename: str
    content_type: str
    size: int


class IssuerPublic(BaseModel):
    code: str
    name: str


class VerificationPublic(BaseModel):
    token: str
    url: str


class DocumentPublic(BaseModel):
    id: str
    type: str
    fields: dict[str, Any]
    files: list[FilePublic]
    source: Literal["citizen", "issuer"]
    provenance: Literal["self_uploaded", "issuer_signed"]
    issuer: IssuerPublic | None
    status: Literal["active", "expired", "revoked", "superseded"]
    version: int
    created_at: datetime
    updated_at: datetime
    valid_until: date | None
    verification: VerificationPublic | None = None


class DocumentPage(BaseModel):
    items: list[DocumentPublic]
    next_cursor: str | None


class VersionPublic(BaseModel):
    version: int
    status: Literal["active", "expired", "revoked", "superseded"]
    created_at: datetime
    fields: dict[str, Any]
    files: list[FilePublic]


class VersionList(BaseModel):
    items: list[VersionPublic]


class DocumentTypePublic(BaseModel):
    code: str
    name: str
    name_en: str
    fields: list[dict[str, Any]]
