"""The audit service on its own tables (in-memory SQLite): entries, pages, cursors, presence expiry."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import create_engine
from sqlmodel import Session, SQLModel

from audit.errors import InvalidCursor
from audit.models import AccessLogEntry, Presence
from audit.schemas import AccessLogEntryPublic, ActorPublic
from audit.service import PRESENCE_TTL, Actor, AuditService, _decode_cursor
from crypto.clock import FrozenClock

START = datetime(2026, 11, 24, 8, 0, tzinfo=UTC)
OFFICER = Actor("officer", "CA-DN", "Công an thành phố Đà Nẵng")


@pytest.fixture
def session() -> Iterator[Session]:
    engine = create_engine("sqlite://")
    tables = [SQLModel.metadata.tables[t] for t in (AccessLogEntry.__tablename__, Presence.__tablename__)]
    SQLModel.metadata.create_all(engine, tables=tables)
    with Session(engine) as session:
        yield session
    engine.dispose()


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(START)


class TestRecord:
    def test_an_entry_is_listed_for_its_citizen_only(self, session: Session, clock: FrozenClock) -> None:
        audit = AuditService(session, clock)
        audit.record("alice", OFFICER, "qr_scan")
        items, cursor = audit.access_log("alice")
        assert cursor is None
        assert [i.model_dump(mode="json") for i in items] == [
            {
                "at": "2026-11-24T08:00:00Z",
                "actor": {"type": "officer", "code": "CA-DN", "name": "Công an thành phố Đà Nẵng"},
                "action": "qr_scan",
            }
        ]
        assert audit.access_log("bob") == ([], None)

    def test_pages_newest_first_without_loss_or_repeat(self, session: Session, clock: FrozenClock) -> None:
        audit = AuditService(session, clock)
        for i in range(7):
            audit.record("alice", OFFICER, "qr_scan", purpose=str(i))
            if i % 2:
                clock.advance(timedelta(seconds=1))  # some entries share an instant
        seen: list[str | None] = []
        cursor: str | None = None
        while True:
            items, cursor = audit.access_log("alice", limit=3, cursor=cursor)
            seen += [i.purpose for i in items]
            if cursor is None:
                break
        assert seen[0] == "6" and sorted(seen, key=str) == [str(i) for i in range(7)]
        assert len(seen) == len(set(seen)) == 7

    @pytest.mark.parametrize(("limit", "size"), [(None, 50), (0, 50), (1, 1), (1000, 100)])
    def test_the_page_size_is_bounded(self, session: Session, clock: FrozenClock, limit: int | None, size: int) -> None:
        audit = AuditService(session, clock)
        for _ in range(120):
            audit.record("alice", OFFICER, "qr_scan")
        assert len(audit.access_log("alice", limit=limit)[0]) == size


class TestPresence:
    def test_valid_until_its_expiry(self, session: Session, clock: FrozenClock) -> None:
        audit = AuditService(session, clock)
        presence = audit.open_presence("alice", officer_id="o1", agency_code="CA-DN")
        assert presence.expires_at == START + PRESENCE_TTL
        clock.set(presence.expires_at - timedelta(microseconds=1))
        assert audit.presence(presence.id) == presence
        clock.set(presence.expires_at)
        assert audit.presence(presence.id) is None
        assert audit.presence("unknown") is None


class TestCursor:
    @given(st.text(max_size=200))
    def test_any_string_is_a_cursor_or_invalid_cursor(self, text: str) -> None:
        try:
            at, entry_id = _decode_cursor(text)
        except InvalidCursor:
            return
        assert at.tzinfo is not None and entry_id


class TestPublicShape:
    def test_absent_optional_fields_are_omitted_present_ones_kept(self) -> None:
        actor = ActorPublic(type="agency", code="SOTP", name="Sở Tư pháp")
        bare = AccessLogEntryPublic(at=START, actor=actor, action="qr_scan")
        assert set(bare.model_dump()) == {"at", "actor", "action"}
        full = AccessLogEntryPublic(
            at=START, actor=actor, action="consent_pull", document_id="d", consent_id="c", purpose="p"
        )
        assert full.model_dump()["document_id"] == "d"
        assert set(full.model_dump()) == {"at", "actor", "action", "document_id", "consent_id", "purpose"}
