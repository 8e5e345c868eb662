"""The background worker outlives a PostgreSQL restart: the jobs deferred after the server is back still run."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path

import anyio
import procrastinate
import pytest

from api.cli import migrate
from api.container import build_container
from jobs.queue import Schedule, build_queue
from jobs.worker import run_worker_for_good
from tests.integration.conftest import settings_for
from tests.integration.jobs_helpers import queue_message, sent_with
from tests.postgres import PostgresServer

pytestmark = pytest.mark.postgres

EVERY_SECOND = Schedule(outbox=1, janitor=3600, audit_chain=1, audit_checkpoint=3600)


@pytest.fixture(scope="module")
def pg() -> Iterator[PostgresServer]:
    """A server of this module's own: the test stops and starts it."""
    with PostgresServer() as server:
        yield server


async def _until(condition: object, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if callable(condition) and condition():
            return True
        await asyncio.sleep(0.2)
    return False


def test_the_worker_sends_what_is_queued_after_postgresql_restarts(pg: PostgresServer, tmp_path: Path) -> None:
    settings = settings_for(tmp_path, pg.create_database("jobs_reconnect"), background="external")
    migrate(settings)
    container = build_container(settings)
    url = settings.resolved_direct_database_url
    outbox = settings.outbox_file
    queues: list[procrastinate.App] = []

    def fresh_queue() -> procrastinate.App:
        queues.append(build_queue(url, EVERY_SECOND))
        return queues[-1]

    async def scenario() -> None:
        worker = asyncio.create_task(
            run_worker_for_good(
                fresh_queue,
                container.work,
                first=0.2,
                handle_signals=False,
                polling_seconds=0.2,
            )
        )
        before = queue_message(container, "trước khi khởi động lại")
        assert await _until(lambda: len(sent_with(outbox, before)) == 1, 20), "not sent before the restart"
        await anyio.to_thread.run_sync(pg.stop)
        await asyncio.sleep(1.5)  # the worker's connections are gone; its next queries fail
        await anyio.to_thread.run_sync(pg.start)
        after = await anyio.to_thread.run_sync(queue_message, container, "sau khi khởi động lại")
        sent = await _until(lambda: len(sent_with(outbox, after)) == 1, 45)
        assert not worker.done(), worker  # still running, not ended by the outage
        worker.cancel()
        await asyncio.gather(worker, return_exceptions=True)
        assert sent, "the message queued after the restart was never sent"
        assert len(sent_with(outbox, before)) == 1 and len(sent_with(outbox, after)) == 1

    try:
        asyncio.run(scenario())
    finally:
        asyncio.run(container.aclose())
    assert len(queues) >= 2  # procrastinate's own worker ended with the outage; a fresh one took over
