"""Helpers of the background job tests: a queued outbox message, the queue's rows and events."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Engine, text

from api.container import Container
from notify.service import Notifier
from storage.db import transaction
from tests.factories import outbox_lines


def queue_message(container: Container, body: str) -> str:
    """A committed SMS in the outbox, not sent yet; returns its outbox id."""
    with transaction(container.engine) as session:
        return Notifier(session, key=container.outbox_key, clock=container.clock).send(
            channel="sms", to="+84901234567", body=body
        )


def sent_with(outbox: Path, message_id: str) -> list[dict[str, Any]]:
    return [line for line in outbox_lines(outbox) if line.get("id") == message_id]


def jobs_of(engine: Engine, task: str) -> list[Any]:
    query = text("SELECT id, status, attempts, args FROM procrastinate_jobs WHERE task_name = :t ORDER BY id")
    with engine.connect() as connection:
        return list(connection.execute(query, {"t": task}))


def events_of(engine: Engine, job_id: int) -> list[tuple[str, Any]]:
    query = text("SELECT type::text, at FROM procrastinate_events WHERE job_id = :j ORDER BY id")
    with engine.connect() as connection:
        return [(row[0], row[1]) for row in connection.execute(query, {"j": job_id})]
