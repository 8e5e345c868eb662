"""`make bench-scale`: the wallet at a province's size, on the production topology.

A stack (`python -m stack up`: PostgreSQL behind PgBouncer, a SeaweedFS cluster, two workers, HAProxy) in a
temporary folder is seeded with `BENCH_SCALE_CITIZENS` citizens (default 1,000,000) of `PAPERS` papers each
(`congdanso seed`, through the real key hierarchy and PgBouncer), and with the statistics part one dossier each over
the last 12 months. `SIGNED_IN` of them, spread over the whole number range, sign in through the real login
(national ID, PIN, the SMS code from the dev outbox). Then the parts of `BENCH_SCALE_PARTS` (default all, in this
order): `list` (the wallet's list at 8, 16 and 32 connections; goal p99 < 50 ms at 8), `signin`, `scan`, `consent`,
`stats` (`bench.scale_flows`), `audit` (`audit verify` over `BENCH_SCALE_AUDIT_ENTRIES` access-log entries,
`bench.scale_audit`) and `workers` (1, 2 and 4 app workers with CPU per request, `bench.scale_workers`). The stack is
destroyed afterwards. bench/README.md says what each figure means.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import sqlalchemy as sa

from api.settings import Settings
from bench.foundation import OutboxReader
from bench.harness import REPO_ROOT, free_port, record
from bench.scale_audit import AUDIT_ENTRIES, audit_at_scale
from bench.scale_flows import (
    Site,
    consent_pull,
    figures_of,
    measured_load,
    officer_token,
    scan_throughput,
    sign_in,
    signin_throughput,
    year_stats,
)
from bench.scale_workers import worker_curve
from storage.db import create_db_engine

CITIZENS = int(os.environ.get("BENCH_SCALE_CITIZENS", "1000000"))
PARTS = ("list", "signin", "scan", "consent", "stats", "audit", "workers")
# With `stats`: dossiers each citizen started over the last 12 months (one: a million a year for a million citizens).
DOSSIERS_PER_CITIZEN = int(os.environ.get("BENCH_SCALE_DOSSIERS_PER_CITIZEN", "1"))
PAPERS = 10
SIGNED_IN = 64
CONNECTIONS = (8, 16, 32)
LIST_RUNS = 3
# Cheap PIN hashing and per-address limits out of the way: every sign-in comes from 127.0.0.1.
APP_ENV = {
    "WALLET_ARGON2_TIME_COST": "1",
    "WALLET_ARGON2_MEMORY_KIB": "1024",
    "WALLET_LOGIN_PER_IP_PER_MINUTE": "100000",
    "WALLET_LOG_LEVEL": "warning",
    "WALLET_WORKERS": "2",
}


@contextmanager
def stack(data_dir: Path, port: int) -> Iterator[dict[str, str]]:
    """A running stack and the environment that points commands at it; destroyed afterwards, whatever happens."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("WALLET_")}
    env |= APP_ENV | {"WALLET_DATA_DIR": str(data_dir), "WALLET_PORT": str(port)}
    try:
        _run([sys.executable, "-m", "stack", "up"], env, timeout=300)
        yield env
    finally:
        _run([sys.executable, "-m", "stack", "destroy"], env, timeout=300, check=False)


def _run(command: list[str], env: dict[str, str], *, timeout: float, check: bool = True) -> str:
    done = subprocess.run(command, check=False, cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=timeout)
    if check and done.returncode != 0:
        raise RuntimeError(f"{' '.join(command[1:])} failed: {done.stderr[-2000:]}")
    return done.stdout


def seed(env: dict[str, str], dossiers: int) -> dict[str, float]:
    print(f"scale: seeding {CITIZENS:,} citizens with {PAPERS} papers and {dossiers} dossiers each", flush=True)
    command = [sys.executable, "-m", "api.cli", "seed", "--citizens", str(CITIZENS), "--json"]
    command += ["--papers-per-citizen", str(PAPERS), "--dossiers-per-citizen", str(dossiers)]
    report = json.loads(_run(command, env, timeout=3600).strip().splitlines()[-1])
    return {
        "scale.seed_seconds": report["seconds"],
        "scale.seed_papers_per_s": report["papers_per_second"],
        "scale.seed_vacuum_seconds": report["vacuum_seconds"],
        "scale.dossiers": float(report["dossiers"]),
    }


def sign_in_all(client: httpx.Client, outbox: OutboxReader) -> tuple[list[int], list[str]]:
    """`SIGNED_IN` seeded citizens spread over the number range, signed in, each list checked whole."""
    numbers = [k * CITIZENS // SIGNED_IN for k in range(min(SIGNED_IN, CITIZENS))]
    tokens = []
    for n in numbers:
        token = sign_in(client, outbox, n)
        listed = client.get("/documents?limit=50", headers={"Authorization": f"Bearer {token}"})
        if len(listed.json()["items"]) != PAPERS:
            raise RuntimeError(f"citizen {n} lists {len(listed.json()['items'])} papers, not {PAPERS}")
        tokens.append(token)
    return numbers, tokens


def list_loads(base_url: str, tokens: list[str]) -> dict[str, float]:
    """Each connection count `LIST_RUNS` times: the figures of the run with the median p99, and the highest p99. One
    5-second window decides nothing on a machine shared with other work; three say how much it moved."""
    url = f"{base_url}/api/v1/documents?limit=50"
    requests = [httpx.Request("GET", url, headers={"Authorization": f"Bearer {token}"}) for token in tokens]
    figures: dict[str, float] = {}
    for connections in CONNECTIONS:
        runs = [
            measured_load(requests, connections, f"GET /documents at {connections} connections ({n + 1})")
            for n in range(LIST_RUNS)
        ]
        runs.sort(key=lambda run: run.p99_ms)
        figures |= figures_of(f"scale.list_{connections}c", runs[len(runs) // 2])
        figures[f"scale.list_{connections}c_p99_max_ms"] = runs[-1].p99_ms
    return figures


@contextmanager
def stack_database(data_dir: Path) -> Iterator[sa.Engine]:
    """The service's own engine: it reads the stack's URL (PgBouncer, prepared statements off) as every command does."""
    engine = create_db_engine(Settings(data_dir=data_dir).resolved_database_url, pool_size=1)
    try:
        yield engine
    finally:
        engine.dispose()


def database_mb(data_dir: Path) -> float:
    with stack_database(data_dir) as engine, engine.connect() as connection:
        size = connection.execute(sa.text("SELECT pg_database_size(current_database())")).scalar_one()
    return float(size) / 2**20


def autovacuum_done(data_dir: Path, *, timeout: float = 900.0) -> float:
    """Wait until no autovacuum worker runs on the stack's database (or `timeout` passes). After a bulk load
    PostgreSQL keeps vacuuming and analysing for minutes; a database that grew over years does not. Its seconds."""
    query = sa.text("SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'autovacuum worker'")
    began = time.perf_counter()
    quiet = 0
    with stack_database(data_dir) as engine:
        while quiet < 3 and time.perf_counter() - began < timeout:  # three quiet looks in a row, a second apart
            with engine.connect() as connection:
                quiet = quiet + 1 if connection.execute(query).scalar_one() == 0 else 0
            time.sleep(1)
    return time.perf_counter() - began


def written_back() -> float:
    """Wait until the kernel has written the seed's ~11 GB of dirty pages to disk (`sync`): otherwise the first part
    measured shares the two cores with that writeback, not with the service alone. Its seconds."""
    began = time.perf_counter()
    os.sync()
    return time.perf_counter() - began


def selected_parts() -> list[str]:
    words = os.environ.get("BENCH_SCALE_PARTS", ",".join(PARTS)).replace(",", " ").split()
    if unknown := sorted(set(words) - set(PARTS)):
        raise SystemExit(f"BENCH_SCALE_PARTS: unknown {', '.join(unknown)}; the parts are {', '.join(PARTS)}")
    return [part for part in PARTS if part in words]


def run_parts(site: Site, parts: list[str], env: dict[str, str], dossiers: int) -> None:
    """Each part in turn, its figures recorded as soon as it ends (kept if a later part fails)."""
    officer = officer_token(site) if {"scan", "consent"} & set(parts) else ""
    signed = set(site.numbers)
    for part in parts:
        if part == "list":
            figures = list_loads(site.base_url, site.tokens)
        elif part == "signin":
            figures = signin_throughput(site, (n for n in range(CITIZENS) if n not in signed))
        elif part == "scan":
            figures = scan_throughput(site, officer)
        elif part == "consent":
            figures = consent_pull(site, officer, PAPERS)
        elif part == "stats":
            figures = year_stats(site, CITIZENS * dossiers)
        elif part == "audit":
            figures = audit_at_scale(site.data_dir, AUDIT_ENTRIES)
        else:
            figures = worker_curve(site, env)
        record(figures)


def main() -> None:
    parts = selected_parts()
    dossiers = DOSSIERS_PER_CITIZEN if "stats" in parts else 0
    with tempfile.TemporaryDirectory(prefix="bench-scale-") as tmp:
        data_dir, port = Path(tmp) / "stack", free_port()
        with stack(data_dir, port) as env:
            figures = seed(env, dossiers) | {
                "scale.citizens": float(CITIZENS),
                "scale.papers": float(CITIZENS * PAPERS),
            }
            figures["scale.database_mb"] = database_mb(data_dir)
            figures["scale.writeback_seconds"] = written_back()
            figures["scale.autovacuum_wait_seconds"] = autovacuum_done(data_dir)
            record(figures)
            base_url = f"http://127.0.0.1:{port}"
            with httpx.Client(base_url=f"{base_url}/api/v1", timeout=30, trust_env=False) as client:
                outbox = OutboxReader(data_dir / "outbox.jsonl")
                numbers, tokens = sign_in_all(client, outbox)
                site = Site(base_url, data_dir, client, outbox, numbers, tokens)
                run_parts(site, parts, env, dossiers)


if __name__ == "__main__":
    main()
