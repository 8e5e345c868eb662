"""Values that leave the notification domain."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal, get_args

from pydantic import BaseModel, Field

Channel = Literal["sms", "email", "in_app"]
CHANNELS: frozenset[str] = frozenset(get_args(Channel))


@dataclass(frozen=True)
class InAppNoticeView:
    """An in-app notice as its recipient sees it, opened from its sealed row."""

    id: str
    subject: str | None
    body: str
    created_at: datetime
    read_at: datetime | None


class NoticePublic(BaseModel):
    """An in-app notice in the caller's inbox (API.md: `GET /me/notifications`)."""

    id: str
    subject: str | None
    body: str
    created_at: datetime
    read: bool
    read_at: datetime | None

    @classmethod
    def of(cls, view: InAppNoticeView) -> NoticePublic:
        return cls(
            id=view.id,
            subject=view.subject,
            body=view.body,
            created_at=view.created_at,
            read=view.read_at is not None,
            read_at=view.read_at,
        )


class NoticePage(BaseModel):
    items: list[NoticePublic]
    next_cursor: str | None
    unread_count: int = Field(description="the caller's unread notices in all, whatever the page or filter")


class NoticesMarked(BaseModel):
    marked: int = Field(description="how many unread notices were marked read")
