"""Public shapes of issuing and verifying papers (API.md: "QR identity and verification")."""

from __future__ import annotations

import binascii
from base64 import b64decode
from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from wallet.errors import FieldsInvalid, MalformedBody
from wallet.schemas import IssuerPublic, VerificationPublic

# Dossier and procedure codes of the national public service portal ("000.00.20.H17-261124-0001",
# "1.001234.000.00.00.H17"): short ASCII codes, so the QR stays small.
CODE_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:/-]{0,63}$"


def problems_by_field(exc: ValidationError) -> dict[str, list[str]]:
    """A JSON body's validation problems by dotted field path; `MalformedBody` when it is not JSON at all."""
    problems = exc.errors(include_url=False, include_input=False)
    if any(error["type"] == "json_invalid" for error in problems):
        raise MalformedBody("the body is not valid JSON") from None
    errors: dict[str, list[str]] = {}
    for error in problems:
        key = ".".join(str(part) for part in error["loc"]) or "body"
        errors.setdefault(key, []).append(error["msg"])
    return errors


class IssueFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    filename: str | None = Field(default=None, max_length=255)
    content_type: str | None = Field(default=None, max_length=255)  # informative: the type is sniffed
    content_base64: str

    def content(self) -> bytes:
        try:
            return b64decode(self.content_base64, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise FieldsInvalid({"file.content_base64": ["is not valid base64"]}) from exc


class IssueDocumentCreate(BaseModel):
    """The body of `POST /issuer/documents`."""

    model_config = ConfigDict(extra="forbid")

    national_id: str = Field(pattern=r"^[0-9]{12}$")
    type: str = Field(max_length=40)
    fields: dict[str, Any]
    file: IssueFile | None = None
    dossier_code: str | None = Field(default=None, pattern=CODE_PATTERN)
    procedure_code: str | None = Field(default=None, pattern=CODE_PATTERN)

    @classmethod
    def parse(cls, body: bytes) -> IssueDocumentCreate:
        """Parse a JSON body; every problem at once as `FieldsInvalid`."""
        try:
            return cls.model_validate_json(body)
        except ValidationError as exc:
            raise FieldsInvalid(problems_by_field(exc)) from None


class IssuedDocument(BaseModel):
    id: str
    verification: VerificationPublic


class RevokedDocument(BaseModel):
    id: str
    status: Literal["revoked"] = "revoked"


class AttestedDocument(BaseModel):
    """What a verification may show: only what the attestation holds (no fields, no names of persons)."""

    type: str
    issuer: IssuerPublic
    issued_at: datetime
    dossier_code: str | None
    procedure_code: str | None
    document_name: str
    issuing_system: str
    valid_until: date | None
    requester_hash: str
    version: int


VerificationStatus = Literal["active", "revoked", "expired", "superseded", "invalid"]
VerificationReason = Literal["revoked", "expired", "superseded", "bad_signature", "malformed", "unknown"]


class DocumentVerification(BaseModel):
    valid: bool
    status: VerificationStatus
    reason: VerificationReason | None = None
    document: AttestedDocument | None = None
