"""Public shapes of the audit trail (API.md: `GET /me/access-log`)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field, SerializerFunctionWrapHandler, model_serializer

ActorType = Literal["officer", "agency", "system"]
_OPTIONAL = ("document_id", "consent_id", "purpose")


class ActorPublic(BaseModel):
    type: ActorType
    code: str
    name: str
    person: str | None = Field(default=None, description="who acted for the agency (an officer's name); absent else")

    @model_serializer(mode="wrap")
    def _omit_absent(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        data: dict[str, Any] = handler(self)
        return {k: v for k, v in data.items() if not (k == "person" and v is None)}


class AccessLogEntryPublic(BaseModel):
    """One access to the citizen's data; `document_id`, `consent_id` and `purpose` appear only when they apply."""

    at: datetime
    actor: ActorPublic
    action: str = Field(description="what was done, e.g. qr_scan (an officer verified the citizen's QR)")
    document_id: str | None = None
    consent_id: str | None = None
    purpose: str | None = None

    @model_serializer(mode="wrap")
    def _omit_absent(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        data: dict[str, Any] = handler(self)
        return {k: v for k, v in data.items() if not (k in _OPTIONAL and v is None)}


class AccessLogPage(BaseModel):
    items: list[AccessLogEntryPublic]
    next_cursor: str | None
