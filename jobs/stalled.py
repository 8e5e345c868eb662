"""Jobs left `doing` by a worker that died (no heartbeat for 30 s) go back to the queue; while one stayed `doing` its
lock would keep every later run of its task from starting. One that cannot go back (a job of its task waits already)
is parked as failed instead, so it is seen, never silently dropped."""

from __future__ import annotations

import procrastinate
import structlog
from procrastinate.exceptions import ConnectorException
from procrastinate.jobs import Status

log = structlog.get_logger("jobs.stalled")
PERIOD_SECONDS = 60.0


async def recover_stalled(app: procrastinate.App) -> int:
    """Re-queue (or park) the jobs of dead workers; returns how many were found."""
    stalled = list(await app.job_manager.get_stalled_jobs())
    for job in stalled:
        try:
            await app.job_manager.retry_job(job)
            log.warning("job_stalled_requeued", job_id=job.id, task=job.task_name)
        except ConnectorException:  # its queueing lock is taken: a job of the same task is queued
            await app.job_manager.finish_job(job, status=Status.FAILED, delete_job=False)
            log.warning("job_stalled_parked", job_id=job.id, task=job.task_name)
    return len(stalled)
