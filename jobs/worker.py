"""The background worker process: procrastinate's worker and its periodic deferrer, on the queue's own direct
connection to PostgreSQL (LISTEN/NOTIFY wakes it when a job is deferred; it also polls, so a lost notification only
delays a job by the polling interval)."""

from __future__ import annotations

from typing import Literal

import procrastinate

from jobs.queue import QUEUE, WORK_DEPS
from jobs.work import WorkDeps

POLLING_SECONDS = 5.0


async def run_worker(
    app: procrastinate.App,
    deps: WorkDeps,
    *,
    name: str = "congdanso-jobs",
    wait: bool = True,
    delete_jobs: Literal["never", "successful", "always"] = "successful",
    install_signal_handlers: bool = True,
    polling_seconds: float = POLLING_SECONDS,
) -> None:
    """Run jobs until stopped (SIGTERM/SIGINT let the running ones finish), or, with `wait=False`, until the queue is
    empty. Succeeded jobs are deleted (the table stays small); failed ones stay, parked."""
    async with app.open_async():
        await app.run_worker_async(
            queues=[QUEUE],
            name=name,
            concurrency=2,
            wait=wait,
            listen_notify=True,
            fetch_job_polling_interval=polling_seconds,
            delete_jobs=delete_jobs,
            additional_context={WORK_DEPS: deps},
            install_signal_handlers=install_signal_handlers,
            shutdown_graceful_timeout=30,
        )
