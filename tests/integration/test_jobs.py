"""Background jobs on PostgreSQL's queue (procrastinate): once per tick with competing workers, retried with backoff
then parked as failed and re-queued by the CLI, idempotent, and the app workers' loops off when a worker runs them."""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry
from prometheus_client.exposition import generate_latest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import inspect, text

from api.cli import main, migrate
from api.container import Container, build_container
from api.metrics_listener import register_jobs_gauges
from api.settings import Settings
from jobs.metrics import JobsCollector
from jobs.queue import Schedule, build_queue
from jobs.stalled import recover_stalled
from jobs.worker import run_worker
from storage.db import create_db_engine
from storage.migrate import current_revision, downgrade, head_revision, upgrade
from tests.integration.conftest import Wallet, settings_for
from tests.integration.jobs_helpers import events_of, jobs_of, queue_message, sent_with

ON_POSTGRES = pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
EVERY_SECOND = Schedule(outbox=1, janitor=1, audit_chain=1, audit_checkpoint=1)
TASKS = ("outbox.dispatch", "wallet.janitor", "audit.chain", "audit.checkpoint")


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    settings = settings_for(tmp_path, database_url, background="external")
    migrate(settings)
    return settings


@pytest.fixture
def container(settings: Settings) -> Iterator[Container]:
    container = build_container(settings)
    yield container
    asyncio.run(container.aclose())


async def _work_for(seconds: float, *workers: asyncio.Task[None]) -> None:
    await asyncio.sleep(seconds)
    for worker in workers:
        worker.cancel()
    await asyncio.gather(*workers, return_exceptions=True)


@ON_POSTGRES
class TestPeriodicJobs:
    def test_two_workers_run_each_tick_once(self, settings: Settings, container: Container) -> None:
        message = queue_message(container, "một lần")
        url = settings.resolved_direct_database_url

        async def race() -> None:
            workers = [
                asyncio.create_task(
                    run_worker(
                        build_queue(url, EVERY_SECOND),  # each worker its own pool of connections
                        container.work,
                        name=f"w{n}",
                        delete_jobs="never",
                        install_signal_handlers=False,
                        polling_seconds=0.2,
                    )
                )
                for n in (1, 2)
            ]
            await _work_for(3.5, *workers)

        asyncio.run(race())
        for task in TASKS:
            jobs = jobs_of(container.engine, task)
            ticks = Counter(job.args["timestamp"] for job in jobs)
            assert len(ticks) >= 2, f"{task}: {len(ticks)} ticks in 3.5 s at one a second"
            assert max(ticks.values()) == 1, f"{task}: a tick deferred twice: {ticks}"
            for job in jobs:
                started = [kind for kind, _at in events_of(container.engine, job.id) if kind == "started"]
                assert len(started) == job.attempts <= 1, (task, job)  # procrastinate counts each run
            assert {job.status for job in jobs} <= {"succeeded", "todo", "doing"}
        assert len(sent_with(settings.outbox_file, message)) == 1


@ON_POSTGRES
class TestIdempotentDispatch:
    def test_running_the_dispatcher_job_twice_sends_nothing_twice(
        self, settings: Settings, container: Container
    ) -> None:
        message = queue_message(container, "không gửi hai lần")
        app = build_queue(settings.resolved_direct_database_url, Schedule())

        async def run_twice() -> None:
            for tick in (1, 2):
                async with app.open_async():
                    await app.tasks["outbox.dispatch"].defer_async(timestamp=tick)
                await run_worker(app, container.work, wait=False, delete_jobs="never", install_signal_handlers=False)

        asyncio.run(run_twice())
        assert [job.status for job in jobs_of(container.engine, "outbox.dispatch")] == ["succeeded", "succeeded"]
        assert len(sent_with(settings.outbox_file, message)) == 1


def _scrape(container: Container) -> dict[str, float]:
    registry = CollectorRegistry()
    registry.register(JobsCollector(container.engine))
    text = generate_latest(registry).decode()
    return {s.name: s.value for family in text_string_to_metric_families(text) for s in family.samples}


@ON_POSTGRES
class TestFailingJob:
    def test_retried_with_backoff_then_parked_listed_and_requeued(
        self,
        settings: Settings,
        container: Container,
        monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str],
    ) -> None:
        with container.engine.begin() as connection:  # the janitor's first query now fails, every time
            connection.execute(text("ALTER TABLE pending_blob RENAME TO pending_blob_away"))
        schedule = Schedule(janitor=86400, retry_attempts=3, retry_first=timedelta(seconds=0.4))
        app = build_queue(settings.resolved_direct_database_url, schedule)

        async def fail() -> None:
            async with app.open_async():
                await app.tasks["wallet.janitor"].defer_async(timestamp=1)
            worker = asyncio.create_task(
                run_worker(app, container.work, delete_jobs="never", install_signal_handlers=False, polling_seconds=0.1)
            )
            for _ in range(100):
                if [job.status for job in jobs_of(container.engine, "wallet.janitor")] == ["failed"]:
                    break
                await asyncio.sleep(0.1)
            await _work_for(0, worker)

        asyncio.run(fail())
        [job] = jobs_of(container.engine, "wallet.janitor")
        assert job.status == "failed" and job.attempts == 3  # three runs: the first and two retries
        events = events_of(container.engine, job.id)
        kinds = [kind for kind, _at in events]
        assert kinds.count("started") == 3 and kinds.count("deferred_for_retry") == 2 and kinds[-1] == "failed"
        starts = [at for kind, at in events if kind == "started"]
        gaps = [(later - earlier).total_seconds() for earlier, later in itertools.pairwise(starts)]
        assert gaps[0] >= 0.4 and gaps[1] >= 0.8, gaps  # the wait doubles
        assert _scrape(container)["congdanso_jobs_failed"] == 1

        monkeypatch.setenv("WALLET_DATA_DIR", str(settings.data_dir))
        monkeypatch.setenv("WALLET_DATABASE_URL", settings.resolved_database_url)
        capsys.readouterr()
        assert main(["jobs", "list", "--failed", "--json"]) == 0
        listed = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
        assert [(row["id"], row["task"], row["status"]) for row in listed] == [(job.id, "wallet.janitor", "failed")]

        assert main(["jobs", "retry", str(job.id)]) == 0
        assert [j.status for j in jobs_of(container.engine, "wallet.janitor")] == ["todo"]
        assert main(["jobs", "list", "--failed", "--json"]) == 0
        assert "wallet.janitor" not in capsys.readouterr().out.split("}\n")[-1]
        assert main(["jobs", "retry", str(job.id)]) == 2  # only a failed job is re-queued
        assert "only a failed job" in capsys.readouterr().err
        scraped = _scrape(container)
        assert scraped["congdanso_jobs_failed"] == 0 and scraped["congdanso_jobs_oldest_queued_seconds"] >= 0


class TestWhoRunsTheLoops:
    """`inline` (the default, and the only choice on SQLite): each app worker delivers the outbox itself; `external`:
    the app workers leave it to the job worker."""

    def test_inline_app_workers_deliver_the_outbox_themselves(self, make_wallet: Callable[..., Wallet]) -> None:
        wallet = make_wallet(outbox_interval_seconds=0.1)
        message = queue_message(wallet.app.state.container, "tự gửi")
        deadline = time.monotonic() + 5
        while not sent_with(wallet.outbox, message) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert len(sent_with(wallet.outbox, message)) == 1

    @ON_POSTGRES
    def test_external_app_workers_leave_the_outbox_alone(self, make_wallet: Callable[..., Wallet]) -> None:
        wallet = make_wallet(background="external", outbox_interval_seconds=0.1)
        message = queue_message(wallet.app.state.container, "ai gửi?")
        time.sleep(1.0)  # ten of the loop's periods
        assert sent_with(wallet.outbox, message) == []

    def test_external_is_refused_without_postgres(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        with pytest.raises(ValueError, match="needs PostgreSQL"):
            Settings(data_dir=tmp_path, background="external")
        monkeypatch.setenv("WALLET_DATA_DIR", str(tmp_path / "data"))
        assert main(["jobs", "list", "--failed"]) == 2


@ON_POSTGRES
class TestMetricsRegistration:
    def test_the_gauges_join_a_registry_once(self, settings: Settings) -> None:
        registry = CollectorRegistry()
        assert register_jobs_gauges(settings, registry)
        assert not register_jobs_gauges(settings, registry)  # a second copy is refused, the first stays
        names = {family.name for family in text_string_to_metric_families(generate_latest(registry).decode())}
        assert names == {"congdanso_jobs_failed", "congdanso_jobs_oldest_queued_seconds"}


class TestQueueSchema:
    """The `jobs` chain replays procrastinate's own SQL files; it comes off whole and goes on again."""

    @pytest.mark.parametrize("empty_database_url", ["postgres"], indirect=True)
    def test_up_down_up(self, empty_database_url: str) -> None:
        engine = create_db_engine(empty_database_url, pool_size=1)
        try:
            upgrade(engine, chain="jobs")
            assert current_revision(engine, chain="jobs") == head_revision("jobs")
            queue_tables = {"procrastinate_jobs", "procrastinate_events", "procrastinate_periodic_defers"}
            assert queue_tables <= set(inspect(engine).get_table_names())
            downgrade(engine, chain="jobs", revision="base")
            assert set(inspect(engine).get_table_names()) == {"alembic_version_jobs"}
            upgrade(engine, chain="jobs")
            assert current_revision(engine, chain="jobs") == head_revision("jobs")
        finally:
            engine.dispose()


@ON_POSTGRES
class TestStalledJob:
    def test_a_dead_workers_job_runs_again(self, settings: Settings, container: Container) -> None:
        message = queue_message(container, "sau khi worker chết")
        app = build_queue(settings.resolved_direct_database_url, Schedule())

        async def die_then_recover() -> int:
            async with app.open_async():
                await app.tasks["outbox.dispatch"].defer_async(timestamp=1)
                dead = await app.job_manager.register_worker()
                taken = await app.job_manager.fetch_job(queues=None, worker_id=dead)
                assert taken is not None  # `doing`, holding its lock, and then its worker stops beating
            with container.engine.begin() as connection:
                connection.execute(
                    text("UPDATE procrastinate_workers SET last_heartbeat = now() - interval '1 minute'")
                )
            async with app.open_async():
                found = await recover_stalled(app)
            await run_worker(app, container.work, wait=False, delete_jobs="never", install_signal_handlers=False)
            return found

        assert asyncio.run(die_then_recover()) == 1
        [job] = jobs_of(container.engine, "outbox.dispatch")
        assert job.status == "succeeded"
        assert len(sent_with(settings.outbox_file, message)) == 1
