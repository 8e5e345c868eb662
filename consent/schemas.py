"""Request and response shapes of consent (API.md: "Agencies and consent")."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from identity.text import FreeText
from wallet.schemas import DocumentPublic

RequestStatus = Literal["pending", "approved", "denied", "expired"]
ConsentStatus = Literal["active", "revoked", "expired"]
CollectionMethod = Literal["app", "counter"]

DEFAULT_VALID_DAYS = 30
MAX_VALID_DAYS = 365
MAX_PURPOSE_CHARS = 500
MAX_TYPES = 10  # the catalog's size: one request never needs a type twice
MAX_FIELDS_PER_TYPE = 50
MAX_DOCUMENTS = 50

_FORBID = ConfigDict(extra="forbid")


# -- in --------------------------------------------------------------------------------------------------------------
class ConsentRequestCreate(BaseModel):
    """An agency's request. `purpose` is shown to the citizen verbatim (so it is not trimmed); one purpose per
    request. `fields` restricts a type to the fields listed (and then shares no files); other types are shared
    whole."""

    model_config = _FORBID

    national_id: str | None = Field(
        default=None,
        min_length=1,
        max_length=20,
        description="the citizen's 12-digit CCCD number; may be left out with `presence_id` (the citizen scanned)",
    )
    document_types: list[str] = Field(max_length=MAX_TYPES, description="document type codes, each at most once")
    fields: dict[str, list[str]] | None = Field(
        default=None, description="per requested type, the only fields to share (no files then)"
    )
    purpose: FreeText = Field(max_length=MAX_PURPOSE_CHARS, description="one purpose, shown to the citizen verbatim")
    valid_days: int = Field(default=DEFAULT_VALID_DAYS, ge=1, le=MAX_VALID_DAYS, description="1 to 365 days")
    presence_id: str | None = Field(
        default=None, max_length=64, description="from an officer's QR scan: the citizen is at the agency's counter"
    )

    @field_validator("valid_days", mode="before")
    @classmethod
    def _whole_number(cls, value: object) -> object:
        # Litestar validates leniently (strict=False), which would take "30", true or 30.0 for 30.
        if type(value) is not int:
            raise ValueError("must be a whole number of days")
        return value


class ConsentApproval(BaseModel):
    """The citizen's approval: optionally which of their documents, and a fresh OTP/TOTP code unless the login is
    under 5 minutes old."""

    model_config = _FORBID

    document_ids: list[str] | None = Field(
        default=None, max_length=MAX_DOCUMENTS, description="default: every current document of the requested types"
    )
    code: str | None = Field(
        default=None, min_length=1, max_length=12, description="a fresh SMS (POST /auth/otp/send) or TOTP code"
    )
    challenge_id: str | None = Field(default=None, max_length=64, description="the step-up SMS challenge, if any")


# -- out -------------------------------------------------------------------------------------------------------------
class AgencyPublic(BaseModel):
    code: str
    name: str


class ConsentRequestCreated(BaseModel):
    id: str
    status: Literal["pending"] = "pending"


class ConsentRequestStatus(BaseModel):
    """What the requesting agency sees of its request."""

    id: str
    status: RequestStatus
    consent_id: str | None


class RequestedDocument(BaseModel):
    """One requested paper as the citizen sees it: every field (`fields: null`) with its scans, or only some."""

    type: str
    name: str
    fields: list[str] | None = Field(description="null: every field and the scans")
    field_labels: list[str] = Field(description="the shared fields' Vietnamese labels")
    files: bool = Field(description="whether the scans are shared")


class ConsentRequestView(BaseModel):
    """A request as the citizen sees it, with the notice they approve or deny."""

    id: str
    status: RequestStatus
    agency: AgencyPublic
    purpose: str
    documents: list[RequestedDocument]
    document_types: list[str]
    fields: dict[str, list[str]] | None
    valid_days: int
    collection_method: CollectionMethod
    at_counter_of: str | None = Field(description="the agency at whose counter the request was made, if any")
    notice: str = Field(description="the text shown to the citizen; its SHA-256 goes into the artefact")
    notice_sha256: str
    created_at: datetime
    expires_at: datetime
    consent_id: str | None


class ConsentRequestPage(BaseModel):
    items: list[ConsentRequestView]
    next_cursor: str | None


class ConsentGranted(BaseModel):
    id: str
    artefact: str = Field(description="a JWS (EdDSA) of the consent record, verifiable with /.well-known/jwks.json")
    valid_until: datetime


class ConsentApproved(BaseModel):
    consent: ConsentGranted


class ConsentView(BaseModel):
    """A consent as the citizen sees it."""

    id: str
    status: ConsentStatus
    request_id: str
    agency: AgencyPublic
    purpose: str
    document_types: list[str]
    fields: dict[str, list[str]] | None
    document_ids: list[str]
    collection_method: CollectionMethod
    created_at: datetime
    valid_until: datetime
    revoked_at: datetime | None
    artefact: str


class ConsentPage(BaseModel):
    items: list[ConsentView]
    next_cursor: str | None


class SharedDocuments(BaseModel):
    """The papers a consent covers, current versions, only the consented fields. One page holds them all."""

    items: list[DocumentPublic]
    next_cursor: str | None = None
