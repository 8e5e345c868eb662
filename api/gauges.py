"""Gauges of the database's state for the alert rules (deploy/prometheus/): how long the oldest unsent notification
has waited, and how old the access log's latest signed checkpoint and its unsigned tail are.

They are read at scrape time, only on the metrics listener (`api.metrics_listener`), never on the API's `/metrics`
(that handler runs on the event loop; a database read there would hold up requests). Each read is three or four small
indexed queries on a connection of the collector's own (requests never wait for it), bounded by a statement timeout
on PostgreSQL, and its result is reused for `CACHE_SECONDS` so that several scrapers cost one read. The values are
database-wide: every worker reports the same one, so the rules take their `max`, never their sum."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime

from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import Engine, text
from sqlmodel import Session

from audit.repository import AuditRepository
from crypto.clock import Clock
from notify.repository import OutboxRepository
from storage.db import read_only

PREFIX = "congdanso"
"""Of every metric the service exports (`api.app` gives the request metrics the same one)."""
OUTBOX_LAG = f"{PREFIX}_outbox_oldest_unsent_seconds"
CHECKPOINT_AGE = f"{PREFIX}_audit_checkpoint_age_seconds"
UNSIGNED_TAIL = f"{PREFIX}_audit_unsigned_seconds"
_OUTBOX_HELP = "Seconds the oldest notification not sent yet has waited in the outbox (0: none waits)"
_CHECKPOINT_HELP = "Seconds since the latest signed checkpoint of the access log (absent before the first)"
_UNSIGNED_HELP = "Seconds the oldest access-log entry no signed checkpoint covers has waited (0: all signed)"
CACHE_SECONDS = 5.0
STATEMENT_TIMEOUT_MS = 2000

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Readings:
    outbox_lag: float
    checkpoint_age: float | None
    unsigned_tail: float


def read(session: Session, now: datetime) -> Readings:
    """The gauges' values at `now`, in the caller's transaction."""
    oldest = OutboxRepository(session).oldest_unsent_at()
    audit = AuditRepository(session)
    latest = audit.latest_checkpoint()
    unsigned = audit.oldest_unsigned_at(after_seq=0 if latest is None else latest.seq)
    return Readings(
        outbox_lag=_age(now, oldest),
        checkpoint_age=None if latest is None else _age(now, latest.at),
        unsigned_tail=_age(now, unsigned),
    )


def _age(now: datetime, then: datetime | None) -> float:
    return 0.0 if then is None else max(0.0, (now - then).total_seconds())


class DatabaseGauges(Collector):
    """A prometheus_client collector of `Readings`; a failed read is logged and leaves the gauges out of that scrape
    (the rules' `absent` alert sees it), it never fails the scrape of the other metrics."""

    def __init__(self, engine: Callable[[], Engine], clock: Clock, *, cache_seconds: float = CACHE_SECONDS) -> None:
        self._engine_factory = engine
        self._engine: Engine | None = None
        self._clock = clock
        self._cache_seconds = cache_seconds
        self._lock = threading.Lock()
        self._last: tuple[float, Readings] | None = None

    def collect(self) -> Iterator[Metric]:
        readings = self._readings()
        if readings is None:
            return
        yield GaugeMetricFamily(OUTBOX_LAG, _OUTBOX_HELP, value=readings.outbox_lag)
        if readings.checkpoint_age is not None:
            yield GaugeMetricFamily(CHECKPOINT_AGE, _CHECKPOINT_HELP, value=readings.checkpoint_age)
        yield GaugeMetricFamily(UNSIGNED_TAIL, _UNSIGNED_HELP, value=readings.unsigned_tail)

    def close(self) -> None:
        if self._engine is not None:
            self._engine.dispose()

    def _readings(self) -> Readings | None:
        with self._lock:  # concurrent scrapes share one read
            if self._last is not None and time.monotonic() - self._last[0] < self._cache_seconds:
                return self._last[1]
            try:
                readings = self._read()
            except Exception as exc:  # the database is down or slow: these gauges are left out, the scrape goes on
                log.warning("database gauges not read: %s", type(exc).__name__)
                return None
            self._last = (time.monotonic(), readings)
            return readings

    def _read(self) -> Readings:
        if self._engine is None:
            self._engine = self._engine_factory()
        with Session(read_only(self._engine)) as session:
            if self._engine.dialect.name == "postgresql":  # per transaction: PgBouncer's pooling keeps no SET
                session.execute(text(f"SET LOCAL statement_timeout = {STATEMENT_TIMEOUT_MS}"))
            return read(session, self._clock.now())
