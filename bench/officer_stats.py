"""The agency's statistics page over 100,000 dossiers: `GET /officer/stats` (all time, and the last 30 days) and its
CSV, as an officer of the passport office loads them, on SQLite (the default deployment) and on a throwaway
PostgreSQL server (`tests.postgres.PostgresServer`) when its binaries are installed.

The dossiers are bulk-inserted rows (clear columns with random but plausible times, counts, statuses and ratings over
the last 120 days; their sealed content is a placeholder the statistics never read); the figures are computed by the
database (`forms.stats_sql`). Each figure: the server's answer time seen by the client, over `LOADS` loads after one
warm-up load.

`python -m bench.officer_stats` (about 1 minute). Goal (read from `bench/results.json`, never asserted here): a page
load under 1 s (p50 and max).
"""

from __future__ import annotations

import random
import statistics
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import insert

from api.cli import migrate
from api.container import build_container
from api.settings import Settings
from bench.harness import record
from forms.models import Application
from identity.accounts import AccountService
from identity.models import Citizen
from seed.dossiers import timeline
from storage.db import create_db_engine, transaction
from tests.factories import make_phone
from tests.web.server import WebServer

DOSSIERS = 100_000
LOADS = 10
BATCH = 5_000
PROCEDURE, AGENCY = "passport_issue", "ca_xnc"
PIN = "135790"
STATUSES = ("draft", "submitted", "processing", "needs_info", "completed", "rejected")


def _rows(citizen_id: str, count: int, now: datetime) -> Iterator[list[dict[str, Any]]]:
    rng = random.Random(2026)
    batch: list[dict[str, Any]] = []
    for n in range(count):
        created = now - timedelta(seconds=rng.randint(0, 120 * 86_400))
        status = rng.choice(STATUSES)
        submitted = None if status == "draft" else created + timedelta(seconds=rng.randint(20, 1_800))
        decided = submitted + timedelta(hours=rng.randint(1, 300)) if submitted and status in STATUSES[4:] else None
        batch.append(
            {
                "id": f"bench-{n:08d}",
                "citizen_id": citizen_id,
                "procedure_code": PROCEDURE,
                "agency_code": AGENCY,
                "status": status,
                "dossier_code": f"HS-BENCH-{n:08d}" if submitted else None,
                "revision": 1,
                "wrapped_key": b"-",
                "sealed": b"-",
                **timeline(rng, created=created, submitted=submitted, decided=decided),
            }
        )
        if len(batch) == BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


def _seed(settings: Settings, phone: str) -> float:
    """The passport office, its officer and the dossiers; returns the seconds the bulk insert took."""
    container = build_container(settings)
    try:
        with transaction(container.engine) as session:
            accounts = AccountService(session, container.identity)
            accounts.create_agency(AGENCY, "Phòng Quản lý xuất nhập cảnh", ["applications:process", "stats:read"])
            accounts.create_officer(phone=phone, name="Cán bộ thống kê", agency_code=AGENCY, pin=PIN)
            now = datetime.now(UTC)
            citizen = Citizen(
                national_id_index="bench-stats",
                phone_index="bench-stats",
                qr_id="bench-stats",
                profile_sealed=b"-",
                pin_hash="-",
                status="active",
                created_at=now,
            )
            session.add(citizen)
            session.flush()
            citizen_id = citizen.id
        engine = create_db_engine(settings.resolved_database_url)
        started = time.perf_counter()
        try:
            for batch in _rows(citizen_id, DOSSIERS, now):
                with engine.begin() as connection:
                    connection.execute(insert(Application), batch)
        finally:
            engine.dispose()
        return time.perf_counter() - started
    finally:
        container.engine.dispose()


def _sign_in(web: WebServer, phone: str) -> str:
    with web.api() as api:
        challenge = api.post("/auth/login", json={"phone": phone, "pin": PIN}).json()
        answer = api.post(
            "/auth/otp/verify", json={"challenge_id": challenge["challenge_id"], "code": web.code_for(phone)}
        )
        answer.raise_for_status()
        return str(answer.json()["access_token"])


def _load_times(client: httpx.Client, url: str) -> list[float]:
    """Seconds per load of `url`, after one warm-up load."""
    times = []
    for n in range(LOADS + 1):
        started = time.perf_counter()
        answer = client.get(url)
        elapsed = time.perf_counter() - started
        if answer.status_code != 200:
            raise RuntimeError(f"{url} answered {answer.status_code}: {answer.text[:300]}")
        if n:
            times.append(elapsed)
    return times


@contextmanager
def _server(database_url: str | None) -> Iterator[tuple[WebServer, Settings]]:
    extra = {"WALLET_DATABASE_URL": database_url} if database_url else {}
    web = WebServer(**extra)
    settings = Settings(data_dir=web.data_dir, env="dev", database_url=database_url)
    migrate(settings)
    with web:
        yield web, settings


def figures(name: str, database_url: str | None = None) -> dict[str, float]:
    phone = make_phone()
    with _server(database_url) as (web, settings):
        seconds = _seed(settings, phone)
        print(f"  {name}: {DOSSIERS} dossiers inserted in {seconds:.1f} s")
        cookies = {"cds_staff_at": _sign_in(web, phone)}
        today = datetime.now(UTC).date()
        month = f"from={(today - timedelta(days=29)).strftime('%d/%m/%Y')}&to={today.strftime('%d/%m/%Y')}"
        results: dict[str, float] = {}
        with httpx.Client(base_url=web.base_url, cookies=cookies, timeout=60, trust_env=False) as client:
            for label, path in (
                ("page", "/officer/stats"),
                ("page_30_days", f"/officer/stats?{month}"),
                ("csv", "/officer/stats/csv"),
            ):
                times = _load_times(client, path)
                p50, worst = statistics.median(times) * 1000, max(times) * 1000
                print(f"  {name} {path}: p50 {p50:.0f} ms, max {worst:.0f} ms over {LOADS} loads")
                results[f"officer_stats.{label}_p50_ms_{name}"] = p50
                results[f"officer_stats.{label}_max_ms_{name}"] = worst
        return results


def _postgres_figures() -> dict[str, float]:
    try:
        from tests.postgres import PostgresServer, find_bindir

        find_bindir()
    except (ImportError, RuntimeError) as exc:
        print(f"  postgresql skipped: {exc}")
        return {}
    with PostgresServer() as server:
        return figures("postgres", server.create_database("bench_officer_stats"))


def main() -> None:
    print(f"officer statistics page over {DOSSIERS} dossiers")
    results = figures("sqlite")
    results |= _postgres_figures()
    record(results)


if __name__ == "__main__":
    main()
