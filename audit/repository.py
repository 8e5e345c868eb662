"""Every query of the audit package."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, and_, col, or_, select

from audit.models import AccessLogEntry, Presence


class AuditRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, *rows: object) -> None:
        self.session.add_all(rows)
        self.session.flush()

    def page(self, citizen_id: str, *, limit: int, after: tuple[datetime, str] | None) -> list[AccessLogEntry]:
        """Up to `limit` entries of the citizen, newest first, strictly older than the `after` (at, id) key."""
        query = select(AccessLogEntry).where(col(AccessLogEntry.citizen_id) == citizen_id)
        if after is not None:
            at, entry_id = after
            query = query.where(
                or_(
                    col(AccessLogEntry.at) < at,
                    and_(col(AccessLogEntry.at) == at, col(AccessLogEntry.id) < entry_id),
                )
            )
        query = query.order_by(col(AccessLogEntry.at).desc(), col(AccessLogEntry.id).desc()).limit(limit)
        return list(self.session.exec(query))

    def presence(self, presence_id: str) -> Presence | None:
        return self.session.get(Presence, presence_id)
