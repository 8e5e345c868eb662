"""Every query of the notification domain."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, and_, delete, func, or_, update
from sqlmodel import Session, col, select

from notify.models import DEAD, PENDING, SENT, InAppNotice, OutboxMessage
from storage.db import connection_of


@dataclass(frozen=True)
class Claim:
    """A message this worker holds until `lease_until`, which also fences its later updates."""

    id: str
    channel: str
    payload_sealed: bytes
    created_at: datetime
    attempts: int
    lease_until: datetime


def _claimable(now: datetime) -> list[ColumnElement[bool]]:
    """Pending, due, and not leased by a live worker (a lease that ran out counts as free)."""
    return [
        col(OutboxMessage.status) == PENDING,
        col(OutboxMessage.next_attempt_at) <= now,
        or_(col(OutboxMessage.lease_until).is_(None), col(OutboxMessage.lease_until) < now),
    ]


class OutboxRepository:
    """Queries on `notification_outbox`; the caller owns the transaction."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def add(self, message: OutboxMessage) -> None:
        self._session.add(message)
        self._session.flush()

    def get(self, message_id: str) -> OutboxMessage | None:
        return self._session.get(OutboxMessage, message_id)

    def oldest_unsent_at(self) -> datetime | None:
        """When the oldest message still pending was queued, None when none is. Read through the (status,
        next_attempt_at) index: its cost follows the pending backlog, never the sent history."""
        query = select(func.min(col(OutboxMessage.created_at))).where(col(OutboxMessage.status) == PENDING)
        return self._session.exec(query).one()

    def due_ids(self, *, now: datetime, channels: Collection[str], ids: Sequence[str] | None, limit: int) -> list[str]:
        """Ids of pending, unleased messages due by `now`, oldest first (locked rows skipped on PostgreSQL)."""
        query = select(OutboxMessage.id).where(*_claimable(now)).where(col(OutboxMessage.channel).in_(list(channels)))
        if ids is not None:
            query = query.where(col(OutboxMessage.id).in_(list(ids)))
        query = (
            query.order_by(col(OutboxMessage.next_attempt_at), col(OutboxMessage.id))
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        return list(connection_of(self._session).execute(query).scalars())

    def try_claim(self, message_id: str, *, now: datetime, lease_until: datetime) -> Claim | None:
        """Lease one message unless another worker got it first."""
        claims = self.claim([message_id], now=now, lease_until=lease_until)
        return claims[0] if claims else None

    def claim(self, message_ids: Sequence[str], *, now: datetime, lease_until: datetime) -> list[Claim]:
        """Lease the messages of `message_ids` still claimable, in their order; those another worker got first are
        left out (the UPDATE's condition decides, row by row). One statement for the batch, on the connection: the
        ORM's update and a read a message cost a delivery more than the delivery itself (a held paper's SMS)."""
        if not message_ids:
            return []
        statement = (
            update(OutboxMessage)
            .where(col(OutboxMessage.id).in_(list(message_ids)), *_claimable(now))
            .values(lease_until=lease_until)
            .returning(
                col(OutboxMessage.id),
                col(OutboxMessage.channel),
                col(OutboxMessage.payload_sealed),
                col(OutboxMessage.created_at),
                col(OutboxMessage.attempts),
            )
        )
        leased = {row[0]: row for row in connection_of(self._session).execute(statement)}
        return [
            Claim(message_id, row[1], row[2], row[3], row[4], lease_until)
            for message_id in message_ids
            if (row := leased.get(message_id)) is not None
        ]

    def mark_sent(self, message_id: str, *, now: datetime) -> bool:
        """Record a delivery; a no-op if the message is no longer pending."""
        result = connection_of(self._session).execute(
            update(OutboxMessage)
            .where(col(OutboxMessage.id) == message_id, col(OutboxMessage.status) == PENDING)
            .values(status=SENT, sent_at=now, lease_until=None, last_error=None)
        )
        return result.rowcount == 1

    def record_failure(self, claim: Claim, *, error: str, next_attempt_at: datetime, dead: bool) -> bool:
        """Count a failed attempt and release the lease; ignored if the lease was lost to another worker."""
        result = self._session.exec(
            update(OutboxMessage)
            .where(
                and_(
                    col(OutboxMessage.id) == claim.id,
                    col(OutboxMessage.status) == PENDING,
                    col(OutboxMessage.lease_until) == claim.lease_until,
                )
            )
            .values(
                status=DEAD if dead else PENDING,
                attempts=claim.attempts + 1,
                next_attempt_at=next_attempt_at,
                lease_until=None,
                last_error=error[:64],
            )
        )
        return result.rowcount == 1


class InAppNoticeRepository:
    """Queries on `in_app_notice`; the caller owns the transaction."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def add(self, notice: InAppNotice) -> None:
        self._session.add(notice)
        self._session.flush()

    def page(
        self, recipient_id: str, *, limit: int, after: tuple[datetime, str] | None, unread_only: bool = False
    ) -> list[InAppNotice]:
        """Up to `limit` notices, newest first, strictly older than the `after` (created_at, id) key;
        only the unread ones if `unread_only`."""
        query = select(InAppNotice).where(col(InAppNotice.recipient_id) == recipient_id)
        if unread_only:
            query = query.where(col(InAppNotice.read_at).is_(None))
        if after is not None:
            created_at, notice_id = after
            query = query.where(
                or_(
                    col(InAppNotice.created_at) < created_at,
                    and_(col(InAppNotice.created_at) == created_at, col(InAppNotice.id) < notice_id),
                )
            )
        query = query.order_by(col(InAppNotice.created_at).desc(), col(InAppNotice.id).desc()).limit(limit)
        return list(self._session.exec(query))

    def get_for(self, recipient_id: str, notice_id: str) -> InAppNotice | None:
        query = select(InAppNotice).where(
            col(InAppNotice.id) == notice_id, col(InAppNotice.recipient_id) == recipient_id
        )
        return self._session.exec(query).first()

    def mark_read(self, notice: InAppNotice, *, now: datetime) -> None:
        if notice.read_at is None:
            notice.read_at = now
            self._session.add(notice)
            self._session.flush()

    def count_unread(self, recipient_id: str) -> int:
        query = (
            select(func.count())
            .select_from(InAppNotice)
            .where(col(InAppNotice.recipient_id) == recipient_id, col(InAppNotice.read_at).is_(None))
        )
        return int(self._session.exec(query).one())

    def mark_all_read(self, recipient_id: str, *, now: datetime) -> int:
        """Mark every unread notice of the recipient read at `now`; returns how many changed."""
        result = self._session.exec(
            update(InAppNotice)
            .where(col(InAppNotice.recipient_id) == recipient_id, col(InAppNotice.read_at).is_(None))
            .values(read_at=now)
            .execution_options(synchronize_session="fetch")
        )
        return int(result.rowcount)

    def delete_all(self, recipient_id: str) -> int:
        result = self._session.execute(delete(InAppNotice).where(col(InAppNotice.recipient_id) == recipient_id))
        self._session.flush()
        return int(getattr(result, "rowcount", 0) or 0)
