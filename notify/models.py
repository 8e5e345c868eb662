"""Tables of the notification domain: the transactional outbox and the in-app inbox.

Contact details, subjects and bodies (OTP codes included) lie only in `payload_sealed`,
sealed with AES-256-GCM and bound to the row id, never in clear.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from sqlalchemy import CheckConstraint, Index
from sqlmodel import Field, SQLModel

from storage.types import UTCDateTime, new_id

Status = Literal["pending", "sent", "dead"]
PENDING: Status = "pending"
SENT: Status = "sent"
DEAD: Status = "dead"


class OutboxMessage(SQLModel, table=True):
    """A notice waiting to be sent, committed with the transaction that caused it."""

    __tablename__ = "notification_outbox"
    __table_args__ = (
        CheckConstraint("status IN ('pending', 'sent', 'dead')", name="ck_notification_outbox_status"),
        Index("ix_notification_outbox_due", "status", "next_attempt_at"),
    )

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    channel: str = Field(max_length=16)
    recipient_id: str | None = Field(default=None, index=True, max_length=64)
    payload_sealed: bytes
    status: str = Field(default=PENDING, max_length=16)
    attempts: int = Field(default=0)
    next_attempt_at: datetime = Field(sa_type=UTCDateTime)
    lease_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(sa_type=UTCDateTime)
    sent_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_error: str | None = Field(default=None, max_length=64)


class InAppNotice(SQLModel, table=True):
    """A notice shown in the citizen's (or officer's) inbox of the app."""

    __tablename__ = "in_app_notice"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    recipient_id: str = Field(index=True, max_length=64)
    payload_sealed: bytes
    created_at: datetime = Field(sa_type=UTCDateTime)
    read_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
