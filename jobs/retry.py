"""How a failing job is retried: after `first`, then twice as long each time (capped), `attempts` runs in all; then
procrastinate marks it `failed`, where it stays, parked and listed (`congdanso jobs list --failed`), until someone
re-queues it (`congdanso jobs retry ID`)."""

from __future__ import annotations

from datetime import timedelta

from procrastinate import BaseRetryStrategy, RetryDecision
from procrastinate.jobs import Job
from procrastinate.utils import utcnow

CAP = timedelta(hours=1)


class Backoff(BaseRetryStrategy):
    def __init__(self, *, attempts: int, first: timedelta) -> None:
        if attempts < 1 or first <= timedelta(0):
            raise ValueError("a job runs at least once, and waits a positive time before a retry")
        self.attempts = attempts
        self.first = first

    def wait(self, failures: int) -> timedelta:
        """The wait after the `failures`-th failed run: first, 2×first, 4×first… at most an hour."""
        return min(self.first * (1 << min(failures - 1, 20)), CAP)

    def get_retry_decision(self, *, exception: BaseException, job: Job) -> RetryDecision | None:
        failures = job.attempts + 1  # `attempts` counts the runs before this one
        if failures >= self.attempts:
            return None
        return RetryDecision(retry_at=utcnow() + self.wait(failures))
