"""Shared throttling counters. They live in the database so every worker sees the same counts;
a Redis-backed store can implement the same `Throttle` protocol later."""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy import (
    Column,
    ColumnElement,
    Engine,
    Integer,
    MetaData,
    String,
    Table,
    case,
    delete,
    func,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql.dml import Insert

from storage.types import UTCDateTime

# Plain SQLAlchemy tables: infrastructure, not domain data. Created by the first identity migration.
throttle_metadata = MetaData()
window_counters = Table(
    "throttle_window",
    throttle_metadata,
    Column("key", String(200), primary_key=True),
    Column("window_start", UTCDateTime, nullable=False),
    Column("count", Integer, nullable=False),
)
penalties = Table(
    "throttle_penalty",
    throttle_metadata,
    Column("key", String(200), primary_key=True),
    Column("failures", Integer, nullable=False),
    Column("blocked_until", UTCDateTime, nullable=True),
    Column("updated_at", UTCDateTime, nullable=False),
)


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    retry_after: int = 0  # whole seconds, for the Retry-After header


# How long a key stays blocked after its n-th consecutive failure.
DelayPolicy = Callable[[int], timedelta]


@dataclass(frozen=True)
class Backoff:
    """No delay for the first `free` failures; then `first`, doubled by each further failure, capped at `cap`."""

    free: int
    first: timedelta
    cap: timedelta

    def __call__(self, failures: int) -> timedelta:
        if failures <= self.free:
            return timedelta(0)
        # In float seconds with a bounded exponent: a key failed millions of times neither overflows nor costs more.
        doublings = min(failures - self.free - 1, 64)
        delay = self.first.total_seconds() * float(1 << doublings)
        return timedelta(seconds=min(delay, self.cap.total_seconds()))


# Wrong PINs: none after the first 2 failures; from the 3rd on, 1, 2, 4 … seconds, capped at 15 minutes.
growing_delay = Backoff(free=2, first=timedelta(seconds=1), cap=timedelta(minutes=15))


class Throttle(Protocol):
    def hit(self, key: str, *, limit: int, window: timedelta, now: datetime) -> Verdict: ...
    def allow(self, key: str, *, limit: int, period: timedelta, now: datetime) -> Verdict: ...
    def blocked(self, key: str, *, now: datetime) -> Verdict: ...
    def record_failure(self, key: str, *, now: datetime, delay: DelayPolicy = growing_delay) -> None: ...
    def reset(self, key: str) -> None: ...


def _stored_key(key: str) -> str:
    # Keys embed caller-supplied text (a client id, an address): long ones are hashed to fit the column.
    return key if len(key) <= 120 else "sha256:" + hashlib.sha256(key.encode()).hexdigest()


class DatabaseThrottle:
    """Fixed-window counters and growing-delay penalties in their own short transactions, so a count
    is never lost with a rolled-back request."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def _insert(self) -> type[Insert]:
        return postgresql.insert if self._engine.dialect.name == "postgresql" else sqlite.insert  # type: ignore[return-value]

    def hit(self, key: str, *, limit: int, window: timedelta, now: datetime) -> Verdict:
        """Count one event; refuse once `limit` events fell in the current window."""
        key = _stored_key(key)
        start = _window_start(now, window)
        stmt = self._insert()(window_counters).values(key=key, window_start=start, count=1)
        stmt = stmt.on_conflict_do_update(  # type: ignore[attr-defined]
            index_elements=[window_counters.c.key],
            set_={
                "count": _case_same_window(start, window_counters.c.count + 1, 1),
                "window_start": start,
            },
        ).returning(window_counters.c.count)
        with self._engine.begin() as conn:
            count = conn.execute(stmt).scalar_one()
        if count <= limit:
            return Verdict(True)
        return Verdict(False, _seconds_until(start + window, now))

    def allow(self, key: str, *, limit: int, period: timedelta, now: datetime) -> Verdict:
        """Count one event unless `limit` were counted in the `period` before `now` (a sliding window, exact where
        `hit`'s fixed windows let 2 × limit through across a boundary). One row per slot, each busy for `period` after
        the event that took it; a refused event takes none."""
        slots = [_stored_key(f"{key}#{n}") for n in range(limit)]
        with self._engine.begin() as conn:
            for slot in slots:
                stmt = self._insert()(window_counters).values(key=slot, window_start=now, count=1)
                # The conditional upsert takes a free slot atomically: two racing events never share one.
                stmt = stmt.on_conflict_do_update(  # type: ignore[attr-defined]
                    index_elements=[window_counters.c.key],
                    set_={"window_start": now, "count": window_counters.c.count + 1},
                    where=window_counters.c.window_start <= now - period,
                ).returning(window_counters.c.key)
                if conn.execute(stmt).first() is not None:
                    return Verdict(True)
            oldest = conn.execute(
                select(func.min(window_counters.c.window_start)).where(window_counters.c.key.in_(slots))
            ).scalar_one()
        return Verdict(False, _seconds_until(oldest + period, now))

    def blocked(self, key: str, *, now: datetime) -> Verdict:
        key = _stored_key(key)
        with self._engine.connect() as conn:
            until = conn.execute(select(penalties.c.blocked_until).where(penalties.c.key == key)).scalar()
        if until is not None and until > now:
            return Verdict(False, _seconds_until(until, now))
        return Verdict(True)

    def record_failure(self, key: str, *, now: datetime, delay: DelayPolicy = growing_delay) -> None:
        """Count a failure and block the key for `delay(failures so far)`, a delay that grows with the count."""
        key = _stored_key(key)
        stmt = self._insert()(penalties).values(key=key, failures=1, blocked_until=None, updated_at=now)
        stmt = stmt.on_conflict_do_update(  # type: ignore[attr-defined]
            index_elements=[penalties.c.key], set_={"failures": penalties.c.failures + 1, "updated_at": now}
        ).returning(penalties.c.failures)
        with self._engine.begin() as conn:
            failures = conn.execute(stmt).scalar_one()
            until = now + delay(failures)
            conn.execute(update(penalties).where(penalties.c.key == key).values(blocked_until=until))

    def reset(self, key: str) -> None:
        key = _stored_key(key)
        with self._engine.begin() as conn:
            conn.execute(delete(penalties).where(penalties.c.key == key))


def _window_start(now: datetime, window: timedelta) -> datetime:
    seconds = window.total_seconds()
    epoch = now.timestamp()
    return datetime.fromtimestamp(epoch - epoch % seconds, tz=now.tzinfo)


def _seconds_until(moment: datetime, now: datetime) -> int:
    return max(1, math.ceil((moment - now).total_seconds()))


def _case_same_window(start: datetime, same: ColumnElement[int] | int, fresh: int) -> ColumnElement[int]:
    return case((window_counters.c.window_start == start, same), else_=fresh)
