"""The per-citizen storage quota as a reservation: an upload reserves its bytes as they are sealed, by one
conditional UPDATE of the citizen's usage row (`stored_bytes + n <= quota`), committed at once, so two uploads in
flight cannot both pass the quota (PostgreSQL re-checks the condition on the row another writer just changed;
SQLite serialises writers). What a pending blob reserved is recorded on it: an upload that fails, is discarded or
is abandoned by a crash (the janitor) gives it back; a committed upload keeps it as usage; deleting a paper gives
back its files' bytes."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

from sqlalchemy import CursorResult, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col, func, select

from wallet.models import CitizenUsage, PendingBlob


class Usage:
    """Every query on `citizen_usage`."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def reserve(self, citizen_id: str, blob_key: str, amount: int, *, quota: int) -> bool:
        """Add `amount` to the citizen's usage if it stays within `quota`, and note it on the pending blob."""
        self._ensure_row(citizen_id)
        grown = self.session.execute(
            update(CitizenUsage)
            .where(col(CitizenUsage.citizen_id) == citizen_id, col(CitizenUsage.stored_bytes) + amount <= quota)
            .values(stored_bytes=col(CitizenUsage.stored_bytes) + amount)
        )
        if cast(CursorResult[Any], grown).rowcount != 1:
            return False
        self._note_pending(blob_key, amount)
        return True

    def give_back(self, citizen_id: str, blob_key: str, amount: int) -> None:
        """Return `amount` reserved for the pending blob and not used (an upload that claimed ahead of need)."""
        self.release(citizen_id, amount)
        self._note_pending(blob_key, -amount)

    def _note_pending(self, blob_key: str, amount: int) -> None:
        self.session.execute(
            update(PendingBlob)
            .where(col(PendingBlob.blob_key) == blob_key)
            .values(reserved_bytes=col(PendingBlob.reserved_bytes) + amount)
        )

    def release(self, citizen_id: str, amount: int) -> None:
        if amount:
            self.session.execute(
                update(CitizenUsage)
                .where(col(CitizenUsage.citizen_id) == citizen_id)
                .values(stored_bytes=col(CitizenUsage.stored_bytes) - amount)
            )

    def release_pending(self, blob_keys: Sequence[str]) -> None:
        """Give back what these pending blobs reserved (they will never commit)."""
        if not blob_keys:
            return
        query = (
            select(PendingBlob.citizen_id, func.sum(PendingBlob.reserved_bytes))
            .where(col(PendingBlob.blob_key).in_(blob_keys))
            .group_by(col(PendingBlob.citizen_id))
        )
        for citizen_id, amount in self.session.exec(query).all():
            self.release(citizen_id, int(amount or 0))

    def stored_bytes(self, citizen_id: str) -> int:
        row = self.session.get(CitizenUsage, citizen_id)
        return row.stored_bytes if row is not None else 0

    def _ensure_row(self, citizen_id: str) -> None:
        dialect = postgresql if self.session.get_bind().dialect.name == "postgresql" else sqlite
        self.session.execute(
            dialect.insert(CitizenUsage)
            .values(citizen_id=citizen_id, stored_bytes=0)
            .on_conflict_do_nothing(index_elements=["citizen_id"])
        )
