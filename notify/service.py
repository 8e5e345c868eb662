"""Enqueueing notices and reading the in-app inbox; sending is the dispatcher's job."""

from __future__ import annotations

import base64
import binascii
import json
from datetime import datetime
from typing import Any

from sqlmodel import Session

from crypto.aead import KEY_SIZE, Context, open_sealed, seal
from crypto.clock import Clock
from notify.errors import InvalidCursor, NoticeNotFound
from notify.models import InAppNotice, OutboxMessage
from notify.repository import InAppNoticeRepository, OutboxRepository
from notify.schemas import CHANNELS, Channel, InAppNoticeView
from storage.types import new_id

__all__ = ["Channel", "InAppNoticeView", "Notifier", "check_key", "open_payload", "seal_payload"]

OUTBOX_PURPOSE = "outbox"
IN_APP_PURPOSE = "in_app_notice"
MAX_PAGE = 100


def seal_payload(key: bytes, payload: dict[str, Any], *, context: Context) -> bytes:
    return seal(key, json.dumps(payload, ensure_ascii=False).encode(), context=context)


def open_payload(key: bytes, sealed: bytes, *, context: Context) -> dict[str, Any]:
    """Open a sealed payload; `crypto.errors.DecryptionError` if the key or row does not match."""
    payload: dict[str, Any] = json.loads(open_sealed(key, sealed, context=context))
    return payload


def check_key(key: bytes) -> None:
    """Refuse a key AES-256-GCM cannot use, at construction rather than at the first notice."""
    if not isinstance(key, bytes) or len(key) != KEY_SIZE:
        raise ValueError("the outbox key must be 32 bytes")


def outbox_context(message_id: str) -> Context:
    return Context(purpose=OUTBOX_PURPOSE, document=message_id)


def in_app_context(recipient_id: str, notice_id: str) -> Context:
    return Context(purpose=IN_APP_PURPOSE, citizen=recipient_id, document=notice_id)


class Notifier:
    """Enqueues notices in the caller's session: they commit, or vanish, with the caller's transaction.

    Nothing is sent here: `notify.dispatcher.OutboxDispatcher` delivers committed rows later,
    outside any request transaction. The notifier only flushes; the caller commits.
    """

    def __init__(self, session: Session, *, key: bytes, clock: Clock) -> None:
        check_key(key)
        self._key = key
        self._clock = clock
        self._outbox = OutboxRepository(session)
        self._notices = InAppNoticeRepository(session)
        # Outbox ids queued through this notifier, so the caller can deliver them right after its commit.
        self.queued_ids: list[str] = []

    def __repr__(self) -> str:
        return "Notifier(<key hidden>)"

    def send(
        self, *, channel: Channel, to: str, body: str, subject: str | None = None, recipient_id: str | None = None
    ) -> str:
        """Queue one notice and return its outbox id. For "in_app", `to` is the recipient id."""
        if channel not in CHANNELS:
            raise ValueError(f"unknown channel {channel!r}")
        if not to:
            raise ValueError("a notice needs a recipient")
        if channel == "in_app":
            if recipient_id not in (None, to):
                raise ValueError("an in-app notice goes to its recipient_id")
            recipient_id = to
            self._add_in_app(to, subject, body)
        return self._enqueue(channel, to, subject, body, recipient_id)

    def notify_all(
        self, *, recipient_id: str, phone: str | None, email: str | None, subject: str, body: str
    ) -> list[str]:
        """Queue the same notice by SMS and email (when known) and in the app; returns the outbox ids."""
        ids = []
        if phone:
            ids.append(self.send(channel="sms", to=phone, body=body, subject=subject, recipient_id=recipient_id))
        if email:
            ids.append(self.send(channel="email", to=email, body=body, subject=subject, recipient_id=recipient_id))
        ids.append(self.send(channel="in_app", to=recipient_id, body=body, subject=subject))
        return ids

    def list_in_app(
        self, recipient_id: str, *, limit: int = 50, cursor: str | None = None, unread_only: bool = False
    ) -> tuple[list[InAppNoticeView], str | None]:
        """The recipient's notices (only the unread ones if `unread_only`), newest first, and the cursor of the
        next page (None on the last). InvalidCursor for a cursor this service did not issue."""
        limit = max(1, min(limit, MAX_PAGE))
        after = _decode_cursor(cursor) if cursor else None
        rows = self._notices.page(recipient_id, limit=limit + 1, after=after, unread_only=unread_only)
        page = rows[:limit]
        next_cursor = _encode_cursor(page[-1]) if len(rows) > limit else None
        return [self._view(row) for row in page], next_cursor

    def unread_count(self, recipient_id: str) -> int:
        """How many of the recipient's notices are unread, whatever page is shown."""
        return self._notices.count_unread(recipient_id)

    def mark_read(self, recipient_id: str, notice_id: str) -> InAppNoticeView:
        """Mark a notice read (idempotent: the first reading time stays) and return it; NoticeNotFound if it is
        not this recipient's."""
        notice = self._notices.get_for(recipient_id, notice_id)
        if notice is None:
            raise NoticeNotFound(notice_id)
        self._notices.mark_read(notice, now=self._clock.now())
        return self._view(notice)

    def mark_all_read(self, recipient_id: str) -> int:
        """Mark every unread notice of the recipient read now; returns how many were marked."""
        return self._notices.mark_all_read(recipient_id, now=self._clock.now())

    def forget_in_app(self, recipient_id: str) -> int:
        """Delete every in-app notice of the recipient (an account closed as someone else's keeps none of the
        notices its holder received); returns how many."""
        return self._notices.delete_all(recipient_id)

    def _enqueue(self, channel: str, to: str, subject: str | None, body: str, recipient_id: str | None) -> str:
        now = self._clock.now()
        message_id = new_id()
        sealed = seal_payload(
            self._key, {"to": to, "subject": subject, "body": body}, context=outbox_context(message_id)
        )
        self._outbox.add(
            OutboxMessage(
                id=message_id,
                channel=channel,
                recipient_id=recipient_id,
                payload_sealed=sealed,
                next_attempt_at=now,
                created_at=now,
            )
        )
        self.queued_ids.append(message_id)
        return message_id

    def _add_in_app(self, recipient_id: str, subject: str | None, body: str) -> None:
        notice_id = new_id()
        context = in_app_context(recipient_id, notice_id)
        sealed = seal_payload(self._key, {"subject": subject, "body": body}, context=context)
        self._notices.add(
            InAppNotice(id=notice_id, recipient_id=recipient_id, payload_sealed=sealed, created_at=self._clock.now())
        )

    def _view(self, notice: InAppNotice) -> InAppNoticeView:
        payload = open_payload(self._key, notice.payload_sealed, context=in_app_context(notice.recipient_id, notice.id))
        return InAppNoticeView(notice.id, payload["subject"], payload["body"], notice.created_at, notice.read_at)


def _encode_cursor(notice: InAppNotice) -> str:
    raw = f"{notice.created_at.isoformat()}|{notice.id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_cursor(cursor: str) -> tuple[datetime, str]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        moment, notice_id = raw.split("|", 1)
        created_at = datetime.fromisoformat(moment)
    except (binascii.Error, UnicodeDecodeError, ValueError) as exc:
        raise InvalidCursor(cursor) from exc
    if created_at.tzinfo is None or not notice_id:
        raise InvalidCursor(cursor)
    return created_at, notice_id
