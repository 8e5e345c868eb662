"""Access-log appends on each database: the entry `record` returns is the row it wrote, a naive time is refused, and
the chaining pass links batches of any size into one chain, in the order of the entries' times."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, select

from audit.appends import CHAIN_BATCH, chain_committed
from audit.checkpoints import CheckpointVerifier
from audit.models import AccessLogEntry
from audit.service import Actor, AuditService
from audit.verification import verify_log
from crypto.clock import FrozenClock
from storage.db import create_db_engine, transaction

START = datetime(2026, 11, 24, 8, 0, tzinfo=UTC)
OFFICER = Actor("officer", "CA-DN", "Công an thành phố Đà Nẵng", "Trần Thị Bình")
ENTRIES = AccessLogEntry.__table__  # type: ignore[attr-defined]


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = create_db_engine(database_url, pool_size=2)
    yield engine
    engine.dispose()


def stored(engine: Engine) -> list[dict[str, object]]:
    with engine.connect() as connection:
        rows = connection.execute(select(ENTRIES).order_by(ENTRIES.c.at, ENTRIES.c.id))
        return [dict(row._mapping) for row in rows]


def test_the_recorded_entry_is_the_row_written(engine: Engine) -> None:
    with transaction(engine) as session:
        entry = AuditService(session, FrozenClock(START)).record(
            "alice", OFFICER, "consent_pull", document_id="doc-1", consent_id="consent-1", purpose="Đăng ký thường trú"
        )
    chain_committed(engine)
    [row] = stored(engine)
    assert {name: getattr(entry, name) for name in row if name not in ("seq", "prev_hash", "entry_hash")} == {
        name: value for name, value in row.items() if name not in ("seq", "prev_hash", "entry_hash")
    }
    assert row["at"] == START and row["actor_person"] == "Trần Thị Bình" and row["seq"] == 1
    if engine.dialect.name == "sqlite":  # chained in its own transaction there
        assert (entry.seq, entry.prev_hash, entry.entry_hash) == (row["seq"], row["prev_hash"], row["entry_hash"])


def test_a_naive_time_is_refused_and_nothing_is_written(engine: Engine) -> None:
    naive = FrozenClock(START.replace(tzinfo=None))
    with pytest.raises(ValueError, match=r"naive|timezone-aware"), transaction(engine) as session:
        AuditService(session, naive).record("alice", OFFICER, "qr_scan")
    assert stored(engine) == []


def test_batches_of_any_size_make_one_chain_in_time_order(engine: Engine) -> None:
    clock = FrozenClock(START)
    count = CHAIN_BATCH + 3  # more than one batch of the chaining pass
    with transaction(engine) as session:
        audit = AuditService(session, clock)
        for n in range(count):
            clock.advance(timedelta(milliseconds=1))
            audit.record(f"citizen-{n % 7}", OFFICER, "qr_scan", purpose=None if n % 2 else f"Thủ tục {n}")
    assert chain_committed(engine) == (count if engine.dialect.name == "postgresql" else 0)
    rows = stored(engine)
    assert [row["seq"] for row in rows] == list(range(1, count + 1))
    assert [row["prev_hash"] for row in rows[1:]] == [row["entry_hash"] for row in rows[:-1]]
    report = verify_log(engine, CheckpointVerifier({}))
    assert report.ok and report.entries == count
