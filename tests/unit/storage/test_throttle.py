"""The throttle store: delay policies (the PIN policy unchanged, the second-factor one), failures recorded under a
given policy, and the exact sliding window of `allow`; the store runs on SQLite and on PostgreSQL alike."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, create_engine

from identity.toolkit import SECOND_FACTOR_BACKOFF
from storage.throttle import Backoff, DatabaseThrottle, growing_delay, throttle_metadata

NOW = datetime(2026, 11, 24, 8, 0, tzinfo=UTC)
MICROSECOND = timedelta(microseconds=1)


def seconds(policy: Backoff, failures: range) -> list[float]:
    return [policy(n).total_seconds() for n in failures]


class TestPolicies:
    def test_the_pin_policy_is_unchanged(self) -> None:
        # none for 2 failures, then 1, 2, 4 … seconds, capped at 15 minutes (the policy before it was a parameter)
        expected = [0, 0, 0] + [min(2 ** (n - 3), 900) for n in range(3, 40)]
        assert seconds(growing_delay, range(40)) == expected

    def test_second_factor_codes_wait_60_seconds_after_the_fifth_doubling_to_an_hour(self) -> None:
        delays = seconds(SECOND_FACTOR_BACKOFF, range(1, 14))
        assert delays == [0, 0, 0, 0, 60, 120, 240, 480, 960, 1920, 3600, 3600, 3600]

    def test_any_number_of_failures_is_capped(self) -> None:
        assert SECOND_FACTOR_BACKOFF(10**9) == timedelta(hours=1)
        assert growing_delay(10**9) == timedelta(minutes=15)


@pytest.fixture
def throttle(empty_database_url: str) -> Iterator[DatabaseThrottle]:
    engine: Engine = create_engine(empty_database_url)
    throttle_metadata.create_all(engine)
    yield DatabaseThrottle(engine)
    engine.dispose()


class TestRecordFailure:
    def test_blocks_for_the_delay_the_given_policy_sets(self, throttle: DatabaseThrottle) -> None:
        for _ in range(5):
            assert throttle.blocked("2fa:citizen:a", now=NOW).allowed
            throttle.record_failure("2fa:citizen:a", now=NOW, delay=SECOND_FACTOR_BACKOFF)
        verdict = throttle.blocked("2fa:citizen:a", now=NOW)
        assert (verdict.allowed, verdict.retry_after) == (False, 60)
        assert not throttle.blocked("2fa:citizen:a", now=NOW + timedelta(seconds=60) - MICROSECOND).allowed
        assert throttle.blocked("2fa:citizen:a", now=NOW + timedelta(seconds=60)).allowed

    def test_without_a_policy_the_pin_policy_applies(self, throttle: DatabaseThrottle) -> None:
        for _ in range(3):
            throttle.record_failure("pin:c:x", now=NOW)
        assert throttle.blocked("pin:c:x", now=NOW).retry_after == 1
        assert throttle.blocked("pin:c:x", now=NOW + timedelta(seconds=1)).allowed

    def test_reset_forgets_the_count(self, throttle: DatabaseThrottle) -> None:
        for _ in range(5):
            throttle.record_failure("k", now=NOW, delay=SECOND_FACTOR_BACKOFF)
        throttle.reset("k")
        assert throttle.blocked("k", now=NOW).allowed
        throttle.record_failure("k", now=NOW, delay=SECOND_FACTOR_BACKOFF)
        assert throttle.blocked("k", now=NOW).allowed


class TestAllow:
    def test_counts_at_most_limit_events_in_any_period(self, throttle: DatabaseThrottle) -> None:
        day = timedelta(hours=24)
        moments = [NOW, NOW + timedelta(hours=1), NOW + timedelta(hours=23)]
        assert [throttle.allow("w", limit=3, period=day, now=m).allowed for m in moments] == [True] * 3
        refused = throttle.allow("w", limit=3, period=day, now=NOW + timedelta(hours=23, minutes=30))
        assert (refused.allowed, refused.retry_after) == (False, 30 * 60)
        assert not throttle.allow("w", limit=3, period=day, now=NOW + day - MICROSECOND).allowed
        assert throttle.allow("w", limit=3, period=day, now=NOW + day).allowed  # the first event's slot is free
        assert not throttle.allow("w", limit=3, period=day, now=NOW + day).allowed

    def test_a_day_boundary_lets_no_more_through(self, throttle: DatabaseThrottle) -> None:
        late = datetime(2026, 11, 24, 23, 59, tzinfo=UTC)
        for _ in range(3):
            assert throttle.allow("w", limit=3, period=timedelta(hours=24), now=late).allowed
        assert not throttle.allow("w", limit=3, period=timedelta(hours=24), now=late + timedelta(minutes=2)).allowed

    def test_keys_are_apart(self, throttle: DatabaseThrottle) -> None:
        assert throttle.allow("a", limit=1, period=timedelta(hours=1), now=NOW).allowed
        assert throttle.allow("b", limit=1, period=timedelta(hours=1), now=NOW).allowed
        assert not throttle.allow("a", limit=1, period=timedelta(hours=1), now=NOW).allowed
