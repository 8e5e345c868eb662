"""The background worker process: procrastinate's worker and its periodic deferrer, on the queue's own direct
connection to PostgreSQL (LISTEN/NOTIFY wakes it when a job is deferred; it also polls, so a lost notification only
delays a job by the polling interval)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import time
from collections.abc import Callable
from typing import Any, Literal

import procrastinate
import psycopg
from procrastinate.exceptions import ConnectorException

from jobs.queue import QUEUE, WORK_DEPS
from jobs.work import WorkDeps

POLLING_SECONDS = 5.0
RECONNECT_FIRST, RECONNECT_MAX = 1.0, 30.0

log = logging.getLogger(__name__)


async def run_worker_for_good(
    make_app: Callable[[], procrastinate.App],
    deps: WorkDeps,
    *,
    first: float = RECONNECT_FIRST,
    handle_signals: bool = True,
    **options: Any,
) -> int:
    """Run the worker until SIGTERM or SIGINT (the jobs running then finish first), outliving database outages.
    When PostgreSQL goes away (a restart, a failover) procrastinate's worker ends, by an error or on its own once a
    side task of it failed; a fresh queue then connects again after a wait that doubles up to RECONNECT_MAX. Jobs cut
    short stay `doing` until `queue.stalled` puts them back. Returns the number of restarts; `options` go to
    `run_worker`."""
    stop = asyncio.Event()
    current: asyncio.Task[None] | None = None

    def request_stop() -> None:
        stop.set()
        if current is not None:
            current.cancel()  # procrastinate's graceful shutdown: running jobs finish, nothing new starts

    loop = asyncio.get_running_loop()
    if handle_signals:
        for number in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(number, request_stop)
    restarts, wait = 0, first
    try:
        while not stop.is_set():
            started = time.monotonic()
            current = asyncio.create_task(run_worker(make_app(), deps, install_signal_handlers=False, **options))
            try:
                await current
                reason = "ended on its own"
            except asyncio.CancelledError:
                if stop.is_set():
                    break
                raise
            except (ConnectorException, psycopg.Error, OSError) as exc:
                reason = type(exc).__name__
            if stop.is_set():
                break
            wait = first if time.monotonic() - started > RECONNECT_MAX * 2 else wait
            log.warning("jobs worker stopped (%s); starting again in %.1f s", reason, wait)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), wait)
            restarts, wait = restarts + 1, min(wait * 2, RECONNECT_MAX)
    finally:
        if handle_signals:
            for number in (signal.SIGINT, signal.SIGTERM):
                loop.remove_signal_handler(number)
    return restarts


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
