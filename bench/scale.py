"""`make bench-scale`: the wallet at a province's size, on the production topology.

A stack (`python -m stack up`: PostgreSQL behind PgBouncer, a SeaweedFS cluster, two workers, HAProxy) in a
temporary folder is seeded with `BENCH_SCALE_CITIZENS` citizens (default 1,000,000) of `PAPERS` papers each
(`congdanso seed`, through the real key hierarchy and PgBouncer). `SIGNED_IN` of them, spread over the whole number
range, sign in through the real login (national ID, PIN, the SMS code from the dev outbox); then the wallet's list
(`GET /api/v1/documents?limit=50`: every paper of the citizen, opened with their key) is loaded through the load
balancer at 8, 16 and 32 connections, each request by one of those citizens in turn. The goal of issue 15: a p99
under 50 ms at 8 connections, with the curve at 16 and 32. About 10 minutes at a million citizens here, most of it
the seed; the stack is destroyed afterwards.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import sqlalchemy as sa

from api.settings import Settings
from bench.foundation import OutboxReader
from bench.harness import REPO_ROOT, LoadResult, free_port, load, record
from seed.people import profile
from seed.service import SEED_PIN
from storage.db import create_db_engine

CITIZENS = int(os.environ.get("BENCH_SCALE_CITIZENS", "1000000"))
PAPERS = 10
SIGNED_IN = 64
CONNECTIONS = (8, 16, 32)
DURATION = 5.0
WARMUP = 1.0
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


def seed(env: dict[str, str]) -> dict[str, float]:
    print(f"scale: seeding {CITIZENS:,} citizens with {PAPERS} papers each", flush=True)
    command = [sys.executable, "-m", "api.cli", "seed", "--citizens", str(CITIZENS)]
    out = _run([*command, "--papers-per-citizen", str(PAPERS), "--json"], env, timeout=3600)
    report = json.loads(out.strip().splitlines()[-1])
    return {"scale.seed_seconds": report["seconds"], "scale.seed_papers_per_s": report["papers_per_second"]}


def sign_in(client: httpx.Client, outbox: OutboxReader) -> list[str]:
    """Access tokens of `SIGNED_IN` seeded citizens spread over the number range, each list checked whole."""
    tokens = []
    for k in range(SIGNED_IN):
        holder = profile(k * CITIZENS // SIGNED_IN)
        challenge = client.post("/auth/login", json={"national_id": holder.national_id, "pin": SEED_PIN})
        challenge.raise_for_status()
        code = outbox.code_for(str(holder.phone))
        answer = {"challenge_id": challenge.json()["challenge_id"], "code": code}
        verified = client.post("/auth/otp/verify", json=answer)
        verified.raise_for_status()
        token = str(verified.json()["access_token"])
        listed = client.get("/documents?limit=50", headers={"Authorization": f"Bearer {token}"})
        if len(listed.json()["items"]) != PAPERS:
            raise RuntimeError(f"citizen {k} lists {len(listed.json()['items'])} papers, not {PAPERS}")
        tokens.append(token)
    return tokens


def list_loads(base_url: str, tokens: list[str]) -> dict[str, float]:
    url = f"{base_url}/api/v1/documents?limit=50"
    requests = [httpx.Request("GET", url, headers={"Authorization": f"Bearer {token}"}) for token in tokens]
    figures: dict[str, float] = {}
    for connections in CONNECTIONS:
        asyncio.run(_load(requests, connections, WARMUP))
        result = _checked(asyncio.run(_load(requests, connections, DURATION)))
        print(f"scale: GET /documents at {connections} connections: {result.rps:.0f} req/s", flush=True)
        prefix = f"scale.list_{connections}c"
        figures |= {f"{prefix}_rps": result.rps, f"{prefix}_p50_ms": result.p50_ms, f"{prefix}_p99_ms": result.p99_ms}
    return figures


async def _load(requests: list[httpx.Request], connections: int, duration: float) -> LoadResult:
    return await load(
        lambda n: requests[n % len(requests)], concurrency=connections, duration=duration, max_requests=10**7
    )


def _checked(result: LoadResult) -> LoadResult:
    if result.errors:
        raise RuntimeError(f"{result.errors} of {result.requests} wallet lists failed under load")
    return result


def database_mb(data_dir: Path) -> float:
    # The service's own engine: it reads the stack's URL (PgBouncer, prepared statements off) as every command does.
    engine = create_db_engine(Settings(data_dir=data_dir).resolved_database_url, pool_size=1)
    try:
        with engine.connect() as connection:
            size = connection.execute(sa.text("SELECT pg_database_size(current_database())")).scalar_one()
    finally:
        engine.dispose()
    return float(size) / 2**20


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="bench-scale-") as tmp:
        data_dir, port = Path(tmp) / "stack", free_port()
        with stack(data_dir, port) as env:
            figures = seed(env) | {"scale.citizens": float(CITIZENS), "scale.papers": float(CITIZENS * PAPERS)}
            figures["scale.database_mb"] = database_mb(data_dir)
            base_url = f"http://127.0.0.1:{port}"
            with httpx.Client(base_url=f"{base_url}/api/v1", timeout=30, trust_env=False) as client:
                tokens = sign_in(client, OutboxReader(data_dir / "outbox.jsonl"))
            figures |= list_loads(base_url, tokens)
    record(figures)


if __name__ == "__main__":
    main()
