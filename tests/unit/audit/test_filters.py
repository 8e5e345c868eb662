"""The access log narrowed by agency and period (in-memory SQLite): exact bounds, cursors that stay exact under the
filters, the agencies a citizen's log names, and naive times refused."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import create_engine
from sqlmodel import Session, SQLModel

from audit.errors import InvalidPeriod
from audit.models import AccessLogEntry
from audit.service import Actor, AuditService, LogActor
from crypto.clock import FrozenClock

START = datetime(2026, 11, 24, 8, 0, tzinfo=UTC)
POLICE = Actor("agency", "CA-DN", "Công an thành phố Đà Nẵng")
COUNTER = Actor("officer", "MC-HC", "Bộ phận một cửa UBND phường Hải Châu")
JUSTICE = Actor("agency", "STP", "Sở Tư pháp")


@pytest.fixture
def session() -> Iterator[Session]:
    engine = create_engine("sqlite://")
    SQLModel.metadata.create_all(engine, tables=[SQLModel.metadata.tables[AccessLogEntry.__tablename__]])
    with Session(engine) as session:
        yield session
    engine.dispose()


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(START)


def every_page(audit: AuditService, citizen: str, **filters: object) -> list[str | None]:
    seen: list[str | None] = []
    cursor: str | None = None
    while True:
        items, cursor = audit.access_log(citizen, limit=2, cursor=cursor, **filters)  # type: ignore[arg-type]
        seen += [i.purpose for i in items]
        if cursor is None:
            return seen


def an_hour_each(audit: AuditService, clock: FrozenClock) -> None:
    """Nine entries an hour apart (purposes "0" to "8"), the actors in turn: police, counter, justice."""
    for i in range(9):
        audit.record("alice", (POLICE, COUNTER, JUSTICE)[i % 3], "consent_pull", purpose=str(i))
        clock.advance(timedelta(hours=1))
    audit.record("bob", POLICE, "consent_pull", purpose="bob's")


class TestByAgency:
    def test_only_that_agencys_entries_newest_first_over_pages(self, session: Session, clock: FrozenClock) -> None:
        audit = AuditService(session, clock)
        an_hour_each(audit, clock)
        assert every_page(audit, "alice", agency="CA-DN") == ["6", "3", "0"]
        assert every_page(audit, "alice", agency="MC-HC") == ["7", "4", "1"]
        assert every_page(audit, "alice", agency="nobody") == []

    def test_another_citizens_entries_never_appear(self, session: Session, clock: FrozenClock) -> None:
        audit = AuditService(session, clock)
        an_hour_each(audit, clock)
        assert "bob's" not in every_page(audit, "alice", agency="CA-DN")
        assert every_page(audit, "bob", agency="CA-DN") == ["bob's"]


class TestByPeriod:
    def test_since_is_inclusive_until_exclusive(self, session: Session, clock: FrozenClock) -> None:
        audit = AuditService(session, clock)
        an_hour_each(audit, clock)
        since, until = START + timedelta(hours=2), START + timedelta(hours=5)
        assert every_page(audit, "alice", since=since, until=until) == ["4", "3", "2"]
        assert every_page(audit, "alice", since=START + timedelta(hours=7)) == ["8", "7"]
        assert every_page(audit, "alice", until=START + timedelta(hours=1)) == ["0"]

    def test_any_time_zone_means_the_same_instant(self, session: Session, clock: FrozenClock) -> None:
        audit = AuditService(session, clock)
        an_hour_each(audit, clock)
        vietnam = timezone(timedelta(hours=7))
        since = (START + timedelta(hours=6)).astimezone(vietnam)
        assert every_page(audit, "alice", since=since) == ["8", "7", "6"]

    def test_an_empty_or_reversed_period_lists_nothing(self, session: Session, clock: FrozenClock) -> None:
        audit = AuditService(session, clock)
        an_hour_each(audit, clock)
        assert every_page(audit, "alice", since=START + timedelta(hours=3), until=START + timedelta(hours=3)) == []
        assert every_page(audit, "alice", since=START + timedelta(hours=5), until=START) == []

    def test_agency_and_period_together(self, session: Session, clock: FrozenClock) -> None:
        audit = AuditService(session, clock)
        an_hour_each(audit, clock)
        found = every_page(
            audit, "alice", agency="STP", since=START + timedelta(hours=3), until=START + timedelta(hours=9)
        )
        assert found == ["8", "5"]

    @pytest.mark.parametrize("bound", ["since", "until"])
    def test_a_naive_time_is_refused(self, session: Session, clock: FrozenClock, bound: str) -> None:
        with pytest.raises(InvalidPeriod):
            AuditService(session, clock).access_log("alice", **{bound: datetime(2026, 11, 24)})  # noqa: DTZ001


class TestCursorUnderFilters:
    def test_entries_sharing_an_instant_are_neither_lost_nor_repeated(
        self, session: Session, clock: FrozenClock
    ) -> None:
        audit = AuditService(session, clock)
        for i in range(7):
            audit.record("alice", (POLICE, JUSTICE)[i % 2], "consent_pull", purpose=str(i))
            if i % 3 == 2:
                clock.advance(timedelta(seconds=1))
        police = every_page(audit, "alice", agency="CA-DN", since=START)
        assert sorted(police, key=str) == ["0", "2", "4", "6"]
        assert len(police) == len(set(police))

    def test_a_page_cursor_continues_with_the_filters_it_is_given(self, session: Session, clock: FrozenClock) -> None:
        audit = AuditService(session, clock)
        an_hour_each(audit, clock)
        first, cursor = audit.access_log("alice", limit=2, agency="CA-DN")
        assert [i.purpose for i in first] == ["6", "3"] and cursor is not None
        rest, last = audit.access_log("alice", limit=2, cursor=cursor, agency="CA-DN")
        assert [i.purpose for i in rest] == ["0"] and last is None


class TestActors:
    def test_each_actor_once_by_name_under_its_latest_name(self, session: Session, clock: FrozenClock) -> None:
        audit = AuditService(session, clock)
        an_hour_each(audit, clock)
        audit.record("alice", Actor("agency", "STP", "Sở Tư pháp thành phố Đà Nẵng"), "consent_pull")
        assert audit.actors("alice") == [
            LogActor("MC-HC", "Bộ phận một cửa UBND phường Hải Châu"),
            LogActor("CA-DN", "Công an thành phố Đà Nẵng"),
            LogActor("STP", "Sở Tư pháp thành phố Đà Nẵng"),
        ]
        assert audit.actors("bob") == [LogActor("CA-DN", "Công an thành phố Đà Nẵng")]
        assert audit.actors("carol") == []
