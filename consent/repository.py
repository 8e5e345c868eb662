"""Every query of the consent package."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlmodel import Session, col, func, select

from consent.models import Consent, ConsentEvent, ConsentRequest
from storage.db import lock_key


class ConsentRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, *rows: object) -> None:
        self.session.add_all(rows)
        self.session.flush()

    def request(self, request_id: str, *, for_update: bool = False) -> ConsentRequest | None:
        query = select(ConsentRequest).where(ConsentRequest.id == request_id)
        if for_update:
            query = query.with_for_update()
        return self.session.exec(query).first()

    def consent(self, consent_id: str, *, for_update: bool = False) -> Consent | None:
        query = select(Consent).where(Consent.id == consent_id)
        if for_update:
            query = query.with_for_update()
        return self.session.exec(query).first()

    def pending_duplicate(self, agency_code: str, national_id_index: str, purpose: str, now: datetime) -> bool:
        """Whether the agency already has a live pending request for this citizen and purpose (under the same lock
        as `pending_count`, so two identical requests at once cannot both pass)."""
        lock_key(self.session, "consent.pending", national_id_index)
        query = select(ConsentRequest.id).where(
            ConsentRequest.agency_code == agency_code,
            ConsentRequest.national_id_index == national_id_index,
            ConsentRequest.purpose == purpose,
            ConsentRequest.status == "pending",
            col(ConsentRequest.expires_at) > now,
        )
        return self.session.exec(query.limit(1)).first() is not None

    def pending_count(self, national_id_index: str, now: datetime) -> int:
        """Live pending requests (any agency's) to the holder of this national ID, counted before one is added in this
        transaction: until it ends, another request to the same ID waits here, then counts this one."""
        lock_key(self.session, "consent.pending", national_id_index)
        query = select(func.count()).where(
            ConsentRequest.national_id_index == national_id_index,
            ConsentRequest.status == "pending",
            col(ConsentRequest.expires_at) > now,
        )
        return int(self.session.exec(query).one())

    def requests_of(
        self, citizen_id: str, *, status: str | None, before: str | None, limit: int
    ) -> Sequence[ConsentRequest]:
        """The citizen's requests, newest first (ids are time-ordered)."""
        query = select(ConsentRequest).where(ConsentRequest.citizen_id == citizen_id)
        if status:
            query = query.where(ConsentRequest.status == status)
        if before:
            query = query.where(col(ConsentRequest.id) < before)
        return self.session.exec(query.order_by(col(ConsentRequest.id).desc()).limit(limit)).all()

    def requests_of_agency(
        self, agency_code: str, *, counter_only: bool, before: str | None, limit: int
    ) -> Sequence[ConsentRequest]:
        """The agency's requests, newest first (ids are time-ordered); those filed at its counter if asked."""
        query = select(ConsentRequest).where(ConsentRequest.agency_code == agency_code)
        if counter_only:
            query = query.where(ConsentRequest.collection_method == "counter")
        if before:
            query = query.where(col(ConsentRequest.id) < before)
        return self.session.exec(query.order_by(col(ConsentRequest.id).desc()).limit(limit)).all()

    def due_requests(self, citizen_id: str, now: datetime) -> Sequence[ConsentRequest]:
        query = select(ConsentRequest).where(
            ConsentRequest.citizen_id == citizen_id,
            ConsentRequest.status == "pending",
            col(ConsentRequest.expires_at) <= now,
        )
        return self.session.exec(query).all()

    def consents_of(self, citizen_id: str, *, before: str | None, limit: int) -> Sequence[Consent]:
        query = select(Consent).where(Consent.citizen_id == citizen_id)
        if before:
            query = query.where(col(Consent.id) < before)
        return self.session.exec(query.order_by(col(Consent.id).desc()).limit(limit)).all()

    def due_consents(self, citizen_id: str, now: datetime) -> Sequence[Consent]:
        query = select(Consent).where(
            Consent.citizen_id == citizen_id, Consent.status == "active", col(Consent.valid_until) <= now
        )
        return self.session.exec(query).all()

    def active_consents_of(self, citizen_id: str) -> Sequence[Consent]:
        query = select(Consent).where(Consent.citizen_id == citizen_id, Consent.status == "active")
        return self.session.exec(query.with_for_update()).all()

    def pending_requests_of(self, citizen_id: str) -> Sequence[ConsentRequest]:
        query = select(ConsentRequest).where(
            ConsentRequest.citizen_id == citizen_id, ConsentRequest.status == "pending"
        )
        return self.session.exec(query.with_for_update()).all()

    def events(self, subject_id: str) -> Sequence[ConsentEvent]:
        query = select(ConsentEvent).where(ConsentEvent.subject_id == subject_id)
        return self.session.exec(query.order_by(col(ConsentEvent.at), col(ConsentEvent.id))).all()
