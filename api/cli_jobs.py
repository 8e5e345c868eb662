"""`congdanso jobs worker|list|retry`: the background worker on PostgreSQL's job queue, and what an operator sees of
it. The worker connects to WALLET_DIRECT_DATABASE_URL (PostgreSQL directly: LISTEN/NOTIFY does not pass PgBouncer in
transaction mode), the domain work through the main database URL like the app workers."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import timedelta
from functools import partial

import anyio
import procrastinate

from api.settings import Settings

EXIT_REFUSED = 2


def add_jobs_arguments(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    jobs = commands.add_parser("jobs", help="background jobs on PostgreSQL").add_subparsers(dest="sub", required=True)
    jobs.add_parser("worker", help="run the background worker (jobs and their periodic schedule)").set_defaults(
        run=jobs_worker
    )
    listing = jobs.add_parser("list", help="list the jobs (failed ones stay parked until re-queued)")
    listing.add_argument("--failed", action="store_true", help="only the failed (parked) jobs")
    listing.add_argument("--json", action="store_true", help="one JSON object per line")
    listing.set_defaults(run=jobs_list)
    retry = jobs.add_parser("retry", help="re-queue a failed job to run now")
    retry.add_argument("id", type=int, help="the job's id (from `jobs list --failed`)")
    retry.set_defaults(run=jobs_retry)


def queue(settings: Settings) -> procrastinate.App | None:
    url = queue_url(settings)
    return None if url is None else build(settings, url)


def queue_url(settings: Settings) -> str | None:
    """The queue's PostgreSQL URL, or None (said on stderr) when the service runs on SQLite."""
    url = settings.resolved_direct_database_url
    if not url.startswith("postgresql"):
        print(
            "error: background jobs need PostgreSQL (WALLET_DATABASE_URL or WALLET_DIRECT_DATABASE_URL)",
            file=sys.stderr,
        )
        return None
    return url


def build(settings: Settings, url: str) -> procrastinate.App:
    from jobs.queue import Schedule, build_queue

    schedule = Schedule(
        outbox=settings.outbox_interval_seconds,
        janitor=settings.gc_interval_seconds,
        audit_checkpoint=settings.audit_checkpoint_seconds,
        retry_attempts=settings.jobs_retry_attempts,
        retry_first=timedelta(seconds=settings.jobs_retry_seconds),
    )
    return build_queue(url, schedule)


def jobs_worker(settings: Settings, _args: argparse.Namespace) -> int:
    from api.container import build_container
    from jobs.worker import run_worker_for_good

    url = queue_url(settings)
    if url is None:
        return EXIT_REFUSED
    container = build_container(settings)

    async def run() -> None:
        try:  # a fresh queue (its own connection pool) after each loss of the database
            await run_worker_for_good(partial(build, settings, url), container.work)
        finally:
            await container.aclose()

    anyio.run(run)
    return 0


def jobs_list(settings: Settings, args: argparse.Namespace) -> int:
    from jobs.admin import list_jobs

    app = queue(settings)
    if app is None:
        return EXIT_REFUSED
    rows = anyio.run(lambda: list_jobs(app, status="failed" if args.failed else None))
    for row in rows:
        if args.json:
            print(json.dumps(row.as_dict()))
        else:
            at = row.scheduled_at.isoformat() if row.scheduled_at else "-"
            print(f"{row.id:>8}  {row.task:<18} {row.status:<10} attempts={row.attempts}  scheduled_at={at}")
    return 0


def jobs_retry(settings: Settings, args: argparse.Namespace) -> int:
    from jobs.admin import JobsError, retry_job

    app = queue(settings)
    if app is None:
        return EXIT_REFUSED
    try:
        anyio.run(lambda: retry_job(app, args.id))
    except JobsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_REFUSED
    print(json.dumps({"id": args.id, "status": "todo"}))
    return 0
