"""Values that leave the notification domain."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal, get_args

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
