"""The database gauges the alert rules read (`api.gauges`), on SQLite and PostgreSQL, through the real outbox, the
real dispatcher and real signed checkpoints: an unsent message makes the lag grow, its sending ends it; entries
past the latest checkpoint make the unsigned tail grow, a fresh checkpoint resets it."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import anyio
import pytest
import sqlalchemy as sa
from prometheus_client import CollectorRegistry
from sqlalchemy import Engine

from api.gauges import CHECKPOINT_AGE, OUTBOX_LAG, UNSIGNED_TAIL, DatabaseGauges
from audit.appends import chain_committed
from audit.checkpoints import CheckpointService
from audit.service import Actor, AuditService
from crypto.clock import FrozenClock
from crypto.keyring import Keyring
from notify.dispatcher import OutboxDispatcher
from notify.senders import DevOutboxFileSender
from notify.service import Notifier
from storage.db import create_db_engine, transaction
from tests.integration.conftest import START
from tests.integration.test_query_plans import _unindexed

KEY = secrets.token_bytes(32)
OFFICER = Actor("officer", "CA-DN", "Công an thành phố Đà Nẵng")


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = create_db_engine(database_url, pool_size=2)
    yield engine
    engine.dispose()


class Gauges:
    """The collector as the metrics listener registers it (no cache, so each read is fresh), read as a scrape."""

    def __init__(self, engine: Engine, clock: FrozenClock) -> None:
        self.registry = CollectorRegistry()
        self.collector = DatabaseGauges(lambda: engine, clock, cache_seconds=0)
        self.registry.register(self.collector)

    def value(self, name: str) -> float | None:
        return self.registry.get_sample_value(name)


def queue_sms(engine: Engine, clock: FrozenClock) -> str:
    with transaction(engine) as session:
        return Notifier(session, key=KEY, clock=clock).send(channel="sms", to="+84901234567", body="Mã: 123456")


def record_access(engine: Engine, clock: FrozenClock) -> None:
    with transaction(engine) as session:
        AuditService(session, clock).record("citizen-1", OFFICER, "qr_scan")


class TestOutboxLag:
    def test_an_unsent_message_makes_the_lag_grow_until_it_is_sent(self, engine: Engine, tmp_path: Path) -> None:
        clock = FrozenClock(START)
        gauges = Gauges(engine, clock)
        assert gauges.value(OUTBOX_LAG) == 0.0
        queue_sms(engine, clock)
        clock.advance(timedelta(seconds=40))
        queue_sms(engine, clock)  # a younger one does not hide the oldest
        clock.advance(timedelta(seconds=50))
        assert gauges.value(OUTBOX_LAG) == 90.0
        clock.advance(timedelta(minutes=10))
        assert gauges.value(OUTBOX_LAG) == 690.0
        sender = DevOutboxFileSender(tmp_path / "outbox.jsonl", clock)
        dispatcher = OutboxDispatcher(engine, {"sms": sender}, key=KEY, clock=clock)
        assert anyio.run(dispatcher.dispatch) == 2
        assert gauges.value(OUTBOX_LAG) == 0.0


class TestAuditCheckpointAge:
    def test_a_fresh_checkpoint_resets_the_age_and_the_unsigned_tail(self, engine: Engine) -> None:
        clock = FrozenClock(START)
        keyring = Keyring.generate(now=START - timedelta(days=1), development=True)
        gauges = Gauges(engine, clock)
        assert gauges.value(CHECKPOINT_AGE) is None  # none signed yet: no age to report
        assert gauges.value(UNSIGNED_TAIL) == 0.0
        record_access(engine, clock)
        clock.advance(timedelta(seconds=30))
        record_access(engine, clock)
        clock.advance(timedelta(seconds=45))
        assert gauges.value(UNSIGNED_TAIL) == 75.0  # the oldest entry, unchained on PostgreSQL until a pass
        chain_committed(engine)
        assert gauges.value(UNSIGNED_TAIL) == 75.0  # chained is not signed
        with transaction(engine) as session:
            assert CheckpointService(session, clock, lambda: keyring).make() is not None
        assert gauges.value(CHECKPOINT_AGE) == 0.0
        assert gauges.value(UNSIGNED_TAIL) == 0.0
        clock.advance(timedelta(minutes=20))
        assert gauges.value(CHECKPOINT_AGE) == 1200.0
        assert gauges.value(UNSIGNED_TAIL) == 0.0  # a quiet log: nothing waits for a signature
        record_access(engine, clock)
        clock.advance(timedelta(seconds=5))
        chain_committed(engine)
        assert gauges.value(UNSIGNED_TAIL) == 5.0  # the first entry past the checkpoint, by its seq
        with transaction(engine) as session:
            assert CheckpointService(session, clock, lambda: keyring).make() is not None
        assert (gauges.value(CHECKPOINT_AGE), gauges.value(UNSIGNED_TAIL)) == (0.0, 0.0)


@pytest.mark.postgres
class TestCost:
    @pytest.mark.parametrize("database_url", [pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True)
    def test_every_read_is_served_by_an_index(self, engine: Engine) -> None:
        """The statements one scrape sends, planned with sequential scans off (tests/integration/test_query_plans.py):
        none reads a growing table in full, so a scrape costs the same with a billion log entries."""
        clock = FrozenClock(START)
        seen: dict[str, Any] = {}

        def capture(_conn: sa.Connection, _cursor: Any, sql: str, parameters: Any, _context: Any, _many: bool) -> None:
            if sql.lstrip().lower().startswith("select"):
                seen.setdefault(sql, parameters)

        sa.event.listen(engine, "before_cursor_execute", capture)
        try:
            Gauges(engine, clock).value(OUTBOX_LAG)
        finally:
            sa.event.remove(engine, "before_cursor_execute", capture)
        captured = " ".join(seen)
        assert "notification_outbox" in captured and "audit_checkpoint" in captured and "access_log" in captured
        with engine.connect() as connection, connection.begin():
            assert _unindexed(connection, seen) == {}


class TestUnreadableDatabase:
    def test_the_gauges_are_left_out_and_the_scrape_goes_on(self, tmp_path: Path) -> None:
        broken = create_db_engine(f"sqlite:///{tmp_path / 'no-schema.db'}")  # no tables: every read fails
        gauges = Gauges(broken, FrozenClock(START))
        assert [metric.name for metric in gauges.registry.collect()] == []
        broken.dispose()
