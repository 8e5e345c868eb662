"""The job queue: a procrastinate App whose tasks are the periodic upkeep (`jobs.work`), each deferred once per period
however many workers run (the periodic defers table is unique on task and tick), each holding a lock named after
itself (two runs of one task never overlap) and a queueing lock (at most one waits: a tick that finds one waiting,
e.g. a job retrying with backoff, is skipped rather than piling up)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import procrastinate
from procrastinate import JobContext
from sqlalchemy import make_url

from jobs import work
from jobs.retry import Backoff
from jobs.schedule import cron_every
from jobs.stalled import PERIOD_SECONDS as STALLED_PERIOD
from jobs.stalled import recover_stalled

WORK_DEPS = "work"  # the key of `work.WorkDeps` in the worker's additional context
QUEUE = "upkeep"


@dataclass(frozen=True)
class Schedule:
    """Every period in seconds, and how failing runs are retried."""

    outbox: float = 2.0
    janitor: float = 3600.0
    audit_chain: float = 1.0
    audit_checkpoint: float = 300.0
    retry_attempts: int = 5
    retry_first: timedelta = timedelta(seconds=10)


Work = Callable[[work.WorkDeps], Awaitable[Any]]


def periodic_work(schedule: Schedule) -> dict[str, tuple[Work, float]]:
    """Task name → (the work, its period)."""
    return {
        "outbox.dispatch": (work.dispatch_outbox, schedule.outbox),
        "wallet.janitor": (work.collect_garbage, schedule.janitor),
        "audit.chain": (work.chain_audit_log, schedule.audit_chain),
        "audit.checkpoint": (work.sign_checkpoint, schedule.audit_checkpoint),
    }


def libpq_url(url: str) -> str:
    """A SQLAlchemy URL (`postgresql+psycopg://…?prepare_threshold=none`) as libpq takes it."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "postgresql":
        raise ValueError("the job queue lives in PostgreSQL")
    plain = parsed.set(drivername="postgresql").difference_update_query(["prepare_threshold"])
    return plain.render_as_string(hide_password=False)


def build_queue(database_url: str, schedule: Schedule) -> procrastinate.App:
    """The App (not opened) with every periodic task registered."""
    # No server-side prepared statements, in case the URL leads through PgBouncer in transaction mode.
    connector = procrastinate.PsycopgConnector(
        conninfo=libpq_url(database_url), kwargs={"prepare_threshold": None}, min_size=1, max_size=4
    )
    app = procrastinate.App(connector=connector)
    retry = Backoff(attempts=schedule.retry_attempts, first=schedule.retry_first)
    for name, (unit, period) in periodic_work(schedule).items():
        task = app.task(name=name, queue=QUEUE, pass_context=True, retry=retry, lock=name, queueing_lock=name)(
            _runner(unit)
        )
        app.periodic(cron=cron_every(period))(task)

    async def stalled(timestamp: int) -> None:
        await recover_stalled(app)

    recovery = app.task(name="queue.stalled", queue=QUEUE, lock="queue.stalled", queueing_lock="queue.stalled")
    app.periodic(cron=cron_every(STALLED_PERIOD))(recovery(stalled))
    return app


def _runner(unit: Work) -> Callable[[JobContext, int], Awaitable[None]]:
    async def run(context: JobContext, timestamp: int) -> None:  # procrastinate passes the tick it was deferred for
        await unit(context.additional_context[WORK_DEPS])

    return run
