"""What an operator sees of the queue and can do to it: list jobs (failed ones are parked there, never dropped) and
re-queue a failed one."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import procrastinate
from procrastinate.utils import utcnow

STATUSES = ("todo", "doing", "succeeded", "failed", "cancelled", "aborting", "aborted")


class JobsError(Exception):
    """An operator's request the queue cannot honour (unknown job, not failed, already queued)."""


@dataclass(frozen=True)
class JobRow:
    id: int
    task: str
    status: str
    attempts: int
    scheduled_at: datetime | None
    periodic_tick: int | None

    def as_dict(self) -> dict[str, object]:
        return {
            "id": self.id,
            "task": self.task,
            "status": self.status,
            "attempts": self.attempts,
            "scheduled_at": self.scheduled_at.isoformat() if self.scheduled_at else None,
            "periodic_tick": self.periodic_tick,
        }


async def list_jobs(app: procrastinate.App, *, status: str | None = None) -> list[JobRow]:
    """Jobs (newest first), of one status if given."""
    async with app.open_async():
        jobs = await app.job_manager.list_jobs_async(status=status)
    rows = [
        JobRow(
            id=job.id or 0,
            task=job.task_name,
            status=str(job.status or ""),
            attempts=job.attempts,
            scheduled_at=job.scheduled_at,
            periodic_tick=_tick(job.task_kwargs.get("timestamp")),
        )
        for job in jobs
    ]
    return sorted(rows, key=lambda row: row.id, reverse=True)


def _tick(value: object) -> int | None:
    return value if isinstance(value, int) else None


async def retry_job(app: procrastinate.App, job_id: int) -> None:
    """Put a failed job back in the queue, to run now (and be retried with backoff again if it fails)."""
    async with app.open_async():
        found = list(await app.job_manager.list_jobs_async(id=job_id))
        if not found:
            raise JobsError(f"no job {job_id}")
        if found[0].status != "failed":
            raise JobsError(f"job {job_id} is {found[0].status}: only a failed job is re-queued")
        waiting = list(await app.job_manager.list_jobs_async(queueing_lock=found[0].queueing_lock, status="todo"))
        if found[0].queueing_lock and waiting:
            raise JobsError(f"a {found[0].task_name} job ({waiting[0].id}) is queued already: it runs the same work")
        await app.job_manager.retry_job_by_id_async(job_id, retry_at=utcnow())
