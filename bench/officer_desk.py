"""The staff dossier list (`/officer/dossiers`, a signed-in officer's HTML page) over 10,000 dossiers of the agency:
p50 and p99 over `LOADS` loads of the first page and of filtered pages (status + procedure, and overdue), on SQLite
(the default deployment) and on a throwaway PostgreSQL server (`tests.postgres.PostgresServer`) when its binaries are
installed. Goal: p99 < 100 ms (read from `bench/results.json`, never asserted here).

`python -m bench.officer_desk`. The server is real (uvicorn over a migrated data directory); its officer and agency
come from the `congdanso` CLI and sign in through the API; `CITIZENS` citizens register through the API (their
profiles are sealed under their own keys, so the page's masked ID numbers are really read); the 10,000 dossiers are
bulk-inserted as rows, spread over the citizens and the five states (a share of the open ones past their due date),
with placeholder sealed content the list never opens. Loads are sequential: the figure is one page's latency."""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import insert, select

from api.cli import migrate
from api.settings import Settings
from bench.foundation import PIN, Citizen, OutboxReader, Wallet, _service_env, check_environment
from bench.harness import CLI, REPO_ROOT, ServerProcess, percentile, record
from forms.models import Application
from identity.models import Citizen as CitizenRow
from storage.db import create_db_engine
from storage.types import new_id

DOSSIERS = 10_000
CITIZENS = 60
LOADS = 300
WARMUP = 20
AGENCY = "ca_xnc"  # the passport office: the catalog's passport procedure names it
PROCEDURE = "passport_issue"
OFFICER_PHONE = "0912000777"
STATES = ("submitted", "processing", "needs_info", "completed", "rejected")
PAGES = {
    "first": "/officer/dossiers",
    "status_procedure": f"/officer/dossiers?status=processing&procedure={PROCEDURE}",
    "overdue": "/officer/dossiers?overdue=1",
}


def _cli(env: dict[str, str], *args: str) -> dict[str, Any]:
    done = subprocess.run(
        [*CLI, *args, "--json"], cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=120, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"congdanso {' '.join(args)}: {done.stderr}")
    answer: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return answer


@contextmanager
def _desk_server(data_dir: Path, database_url: str | None) -> Iterator[tuple[Wallet, dict[str, str]]]:
    """The service over `data_dir` (and `database_url` when given), migrated; with the environment of its CLI."""
    env = _service_env(data_dir) | ({"WALLET_DATABASE_URL": database_url} if database_url else {})
    migrate(Settings(data_dir=data_dir, database_url=database_url, env="dev"))
    with ServerProcess("api.app:app_factory", factory=True, env=env) as server:
        yield Wallet(server, OutboxReader(data_dir / "outbox.jsonl")), {"PATH": os.environ.get("PATH", "")} | env


def _officer_cookie(wallet: Wallet, env: dict[str, str], client: httpx.Client) -> str:
    # The desk's pages need the scope of processing dossiers (the route policy answers 403 without it).
    name = "Phòng Quản lý xuất nhập cảnh"
    _cli(env, "agency", "create", "--code", AGENCY, "--name", name, "--scopes", "applications:process")
    _cli(
        env, "officer", "create", "--phone", OFFICER_PHONE, "--name", "Trần Thị Bích", "--agency", AGENCY, "--pin", PIN
    )
    challenge = client.post(f"{wallet.api}/auth/login", json={"phone": OFFICER_PHONE, "pin": PIN})
    challenge.raise_for_status()
    code = wallet.outbox.code_for("+84" + OFFICER_PHONE[1:])
    verify = {"challenge_id": challenge.json()["challenge_id"], "code": code}
    tokens = client.post(f"{wallet.api}/auth/otp/verify", json=verify)
    tokens.raise_for_status()
    return f"cds_staff_at={tokens.json()['access_token']}"


def _dossier_rows(citizen_ids: list[str], now: datetime) -> list[dict[str, Any]]:
    """Spread over the citizens (a page shows as many different ones as rows) and the states; submitted over the
    last 30 days, due 8 working days (about 11 days) later, so the oldest open ones are overdue."""
    rows = []
    for n in range(DOSSIERS):
        submitted = now - timedelta(days=30) + timedelta(seconds=n * 30 * 86_400 // DOSSIERS)
        rows.append(
            {
                "id": new_id(),
                "citizen_id": citizen_ids[n % len(citizen_ids)],
                "procedure_code": PROCEDURE,
                "agency_code": AGENCY,
                "status": STATES[n % len(STATES)],
                "dossier_code": f"HS-BENCH-{n:06d}",
                "revision": 1,
                "wrapped_key": b"-",
                "sealed": b"-",
                "field_count": 12,
                "prefilled_count": 9,
                "reused_count": 3,
                "uploaded_count": 0,
                "erased": False,
                "created_at": submitted,
                "updated_at": submitted,
                "submitted_at": submitted,
                "due_at": submitted + timedelta(days=11),
            }
        )
    return rows


def _seed(wallet: Wallet, database_url: str, client: httpx.Client) -> None:
    for n in range(1, CITIZENS + 1):
        wallet.sign_up(client, Citizen(n))
    engine = create_db_engine(database_url)
    try:
        with engine.begin() as connection:
            citizen_ids = list(connection.execute(select(CitizenRow.id)).scalars())  # type: ignore[call-overload]
            started = time.perf_counter()
            connection.execute(insert(Application), _dossier_rows(citizen_ids, datetime.now(UTC)))
        print(f"  {DOSSIERS} dossiers inserted in {time.perf_counter() - started:.2f} s")
    finally:
        engine.dispose()


def _latencies(client: httpx.Client, url: str, cookie: str) -> list[float]:
    headers = {"Cookie": cookie, "Accept": "text/html"}
    durations = []
    for n in range(WARMUP + LOADS):
        started = time.perf_counter()
        answer = client.get(url, headers=headers)
        elapsed = time.perf_counter() - started
        if answer.status_code != 200 or "HS-BENCH-" not in answer.text:
            raise RuntimeError(f"{url} answered {answer.status_code}: {answer.text[:300]}")
        if n >= WARMUP:
            durations.append(elapsed * 1000)
    return durations


def _figures(database: str, data_dir: Path, database_url: str | None) -> dict[str, float]:
    figures: dict[str, float] = {}
    with _desk_server(data_dir, database_url) as (wallet, env), httpx.Client(timeout=30, trust_env=False) as client:
        cookie = _officer_cookie(wallet, env, client)
        _seed(wallet, database_url or Settings(data_dir=data_dir, env="dev").resolved_database_url, client)
        for name, path in PAGES.items():
            times = _latencies(client, wallet.server.base_url + path, cookie)
            p50, p99 = percentile(times, 50), percentile(times, 99)
            print(f"  {database} {path}: p50 {p50:.1f} ms, p99 {p99:.1f} ms over {len(times)} loads")
            figures[f"officer_desk.{database}.{name}.p50_ms"] = p50
            figures[f"officer_desk.{database}.{name}.p99_ms"] = p99
    return figures


def _postgres_figures() -> dict[str, float]:
    try:
        from tests.postgres import PostgresServer, find_bindir

        find_bindir()
    except (ImportError, RuntimeError) as exc:
        print(f"  postgresql skipped: {exc}")
        return {}
    with ExitStack() as stack:
        server = stack.enter_context(PostgresServer())
        data_dir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-desk-pg-")))
        return _figures("postgres", data_dir, server.create_database("bench_desk"))


def main() -> None:
    check_environment()
    print(f"officer desk: the dossier list page over {DOSSIERS} dossiers, {LOADS} loads per page")
    with tempfile.TemporaryDirectory(prefix="bench-desk-") as data_dir:
        figures = _figures("sqlite", Path(data_dir), None)
    figures |= _postgres_figures()
    record(figures)


if __name__ == "__main__":
    main()
