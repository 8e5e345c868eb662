"""PostgreSQL's monthly partitions of the access log and the notification outbox (`storage.partitions`, migration
20261211_01): rows land in their month's partition (or the default one), `ensure_partitions` makes the coming months
and takes a month's stray rows out of the default partition, a month-bounded query reads one partition, and the
migration of a populated log keeps every row and a chain that `congdanso audit verify` accepts, both ways."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, event, text

from api.cli import migrate
from audit.appends import chain_committed
from audit.repository import AuditRepository
from audit.service import Actor, AuditService
from crypto.clock import FrozenClock
from notify.models import OutboxMessage
from notify.repository import OutboxRepository
from storage.db import create_db_engine, transaction
from storage.migrate import downgrade, upgrade
from storage.partitions import ensure_partitions, partition_name, partitions
from tests.integration.conftest import settings_for
from tests.integration.test_audit_chain import AuditLog, new_keyring

pytestmark = pytest.mark.postgres
BEFORE = "20261210_01"  # the revision before the partitions
ACTOR = Actor("agency", "SOTP-DN", "Sở Tư pháp Đà Nẵng")
NOW = datetime(2026, 12, 7, 12, tzinfo=UTC)
ON_POSTGRES = pytest.mark.parametrize("database_url", ["postgres"], indirect=True)


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = create_db_engine(database_url, pool_size=1)
    ensure_partitions(engine, NOW)
    yield engine
    engine.dispose()


def _record(engine: Engine, at: datetime, citizen: str = "citizen-1") -> None:
    with transaction(engine) as session:
        AuditService(session, FrozenClock(at)).record(citizen, ACTOR, "consent_pull", purpose="Đăng ký thường trú")


def _message(engine: Engine, at: datetime) -> str:
    message = OutboxMessage(channel="sms", payload_sealed=b"s", next_attempt_at=at, created_at=at)
    with transaction(engine) as session:
        OutboxRepository(session).add(message)
    return message.id


def _homes(engine: Engine, table: str) -> dict[str, str]:
    """Each row's id and the partition that holds it."""
    with engine.connect() as connection:
        rows = connection.execute(text(f"SELECT id, tableoid::regclass::text FROM {table}"))  # noqa: S608
        return {str(row_id): str(home) for row_id, home in rows}


@ON_POSTGRES
class TestRowsLandInTheirMonth:
    def test_each_row_in_its_month_and_the_rest_in_the_default(self, engine: Engine) -> None:
        months = {
            datetime(2026, 12, 31, 23, 59, 59, 999_999, UTC): "p2026_12",
            datetime(2027, 1, 1, tzinfo=UTC): "p2027_01",
        }
        far = datetime(2031, 5, 3, tzinfo=UTC)  # no partition that far ahead: the default takes it
        for at in [*months, far]:
            _record(engine, at)
            _message(engine, at)
        chain_committed(engine)
        for table in ("access_log", "notification_outbox"):
            homes = sorted(_homes(engine, table).values())
            assert homes == sorted([f"{table}_default", *(f"{table}_{suffix}" for suffix in months.values())])
        created = ensure_partitions(engine, far, months_ahead=0)
        assert created == ["access_log_p2031_05", "notification_outbox_p2031_05"]
        for table in ("access_log", "notification_outbox"):
            assert f"{table}_default" not in _homes(engine, table).values()  # moved into their month
            assert f"{table}_p2031_05" in _homes(engine, table).values()
        assert ensure_partitions(engine, far, months_ahead=0) == []

    def test_ensure_makes_the_coming_months(self, engine: Engine) -> None:
        later = NOW + timedelta(days=200)
        created = ensure_partitions(engine, later, months_ahead=2)
        assert [name for name in created if name.startswith("access_log")] == [
            "access_log_p2027_06",
            "access_log_p2027_07",
            "access_log_p2027_08",
        ]
        with engine.connect() as connection:
            assert partition_name("notification_outbox", later.date().replace(day=1)) in partitions(
                connection, "notification_outbox"
            )


@ON_POSTGRES
class TestQueriesOnPartitions:
    def test_a_month_bounded_page_reads_one_partition(self, engine: Engine) -> None:
        """The citizen's log narrowed to January (`GET /me/access-log?from=…&to=…`): the statement the service
        sends, planned by PostgreSQL, reads January's partition alone."""
        for days in range(0, 120, 10):
            _record(engine, NOW + timedelta(days=days))
        sent: list[tuple[str, Any]] = []

        def capture(_conn: Any, _cursor: Any, sql: str, parameters: Any, _context: Any, _many: bool) -> None:
            if "FROM access_log" in sql:
                sent.append((sql, parameters))

        event.listen(engine, "before_cursor_execute", capture)
        try:
            with transaction(engine) as session:
                since, until = datetime(2027, 1, 1, tzinfo=UTC), datetime(2027, 2, 1, tzinfo=UTC)
                page, _ = AuditService(session, FrozenClock(NOW)).access_log("citizen-1", since=since, until=until)
        finally:
            event.remove(engine, "before_cursor_execute", capture)
        assert [entry.at.month for entry in page] == [1, 1, 1]
        (sql, parameters), *_ = sent
        with engine.connect() as connection:
            plan = connection.exec_driver_sql(f"EXPLAIN (FORMAT JSON) {sql}", parameters).scalar_one()
        assert set(_relations(plan[0]["Plan"])) == {"access_log_p2027_01"}
        with engine.connect() as connection:  # the same page without the bounds reads every month
            plan = connection.exec_driver_sql(
                "EXPLAIN (FORMAT JSON) SELECT * FROM access_log WHERE citizen_id = 'citizen-1' ORDER BY at DESC"
                " LIMIT 20"
            ).scalar_one()
        assert len(set(_relations(plan[0]["Plan"]))) > 2

    def test_pages_and_chain_across_months(self, engine: Engine) -> None:
        times = [NOW + timedelta(days=days, microseconds=days) for days in range(0, 100, 7)]
        for at in times:
            _record(engine, at)
        assert chain_committed(engine) == len(times)
        with transaction(engine) as session:
            service = AuditService(session, FrozenClock(NOW))
            seen, cursor = [], None
            while True:
                page, cursor = service.access_log("citizen-1", limit=4, cursor=cursor)
                seen += [entry.at for entry in page]
                if cursor is None:
                    break
            head = AuditRepository(session).head()
        assert seen == sorted(times, reverse=True)
        assert head.seq == len(times)

    def test_the_dispatcher_claims_across_months(self, engine: Engine) -> None:
        ids = [_message(engine, NOW + timedelta(days=days)) for days in (0, 40, 80)]
        later = NOW + timedelta(days=100)
        with transaction(engine) as session:
            repo = OutboxRepository(session)
            due = repo.due_ids(now=later, channels=["sms"], ids=None, limit=10)
            claims = repo.claim(due, now=later, lease_until=later + timedelta(minutes=1))
            assert all(repo.mark_sent(claim.id, now=later) for claim in claims)
        assert sorted(due) == sorted(ids) and len(claims) == 3
        with transaction(engine) as session:
            assert OutboxRepository(session).get(ids[1]) is not None


def _relations(node: dict[str, Any]) -> Iterator[str]:
    if "Relation Name" in node:
        yield node["Relation Name"]
    for child in node.get("Plans", []):
        yield from _relations(child)


def _rows(engine: Engine, table: str) -> list[tuple[Any, ...]]:
    with engine.connect() as connection:
        return [tuple(row) for row in connection.execute(text(f"SELECT * FROM {table} ORDER BY id"))]  # noqa: S608


@pytest.mark.parametrize("empty_database_url", ["postgres"], indirect=True)
def test_migrating_a_populated_log_keeps_every_row_and_the_chain(tmp_path: Path, empty_database_url: str) -> None:
    settings = settings_for(tmp_path, empty_database_url)
    engine = create_db_engine(empty_database_url)
    try:
        upgrade(engine, revision=BEFORE)
        upgrade(engine, chain="throttle")
        log = AuditLog(settings, engine, FrozenClock(datetime(2026, 8, 30, tzinfo=UTC)), new_keyring(settings))
        for _ in range(5):  # entries over five months, with checkpoints between
            log.record(6)
            chain_committed(engine)
            log.checkpoint()
            log.clock.advance(timedelta(days=27))
        for days in range(0, 150, 30):
            _message(engine, datetime(2026, 8, 1, tzinfo=UTC) + timedelta(days=days))
        before = {table: _rows(engine, table) for table in ("access_log", "notification_outbox")}

        migrate(settings)  # to head, then this month's partitions and the next three
        assert {table: _rows(engine, table) for table in before} == before
        homes = set(_homes(engine, "access_log").values())
        assert {"access_log_p2026_08", "access_log_p2026_12"} <= homes and "access_log_default" not in homes
        report = log.verify()
        assert (report["ok"], report["entries"], report["checkpoints"]) == (True, 30, 5)

        downgrade(engine, revision=BEFORE)
        assert {table: _rows(engine, table) for table in before} == before
        assert log.verify()["ok"] is True
    finally:
        engine.dispose()
