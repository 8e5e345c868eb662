"""Throughput with 1, 2 and 4 app workers on the seeded stack, with the CPU each request costs in every process it
crosses (`make bench-scale`'s `workers` part).

For each count the stack is stopped and started again with that many workers (`python -m stack down`, then `up
--workers N`: the data, the keys and the citizens' sessions stay), and `GET /api/v1/me` of the signed-in citizens is
loaded through the load balancer. The CPU seconds of the app workers, PostgreSQL (the postmaster and its backends),
PgBouncer and HAProxy are read from `/proc/<pid>/stat` before and after the measured load: user + system time of
each process and its descendants, with the time of children that ended since (`cutime`, `cstime`: a backend that
exits is counted by the postmaster that waits for it). CPU per request is what predicts a larger machine: on 2 cores
the throughput stops growing once the processes together use both, whatever the worker count. The stack is left
with the worker count it had.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path

import httpx

from bench.cpu import own_seconds
from bench.harness import REPO_ROOT, load
from bench.scale_flows import WARMUP, Site, checked, sign_in

WORKER_COUNTS = (1, 2, 4)
CONNECTIONS = 16
DURATION = 8.0
_TICK = os.sysconf("SC_CLK_TCK")
ROLES = {"app": "app-", "postgres": "postgres", "pgbouncer": "pgbouncer", "haproxy": "haproxy"}


def _stack(env: dict[str, str], *args: str) -> str:
    command = [sys.executable, "-m", "stack", *args]
    done = subprocess.run(command, cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=300, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"stack {' '.join(args)} failed: {done.stdout[-1000:]}{done.stderr[-2000:]}")
    return done.stdout


def _tree_seconds(pid: int) -> float:
    """User + system seconds of `pid`, its live descendants, and the children each has waited for."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
        children = [
            int(child)
            for task in Path(f"/proc/{pid}/task").iterdir()
            for child in (task / "children").read_text().split()
        ]
    except (FileNotFoundError, ProcessLookupError):
        return 0.0  # it ended meanwhile: its parent's cutime has it now
    own = sum(int(value) for value in fields[11:15]) / _TICK  # utime, stime, cutime, cstime
    return own + sum(_tree_seconds(child) for child in children)


def _pids(env: dict[str, str]) -> dict[str, list[int]]:
    rows = json.loads(_stack(env, "status", "--json"))
    return {role: [row["pid"] for row in rows if row["name"].startswith(prefix)] for role, prefix in ROLES.items()}


def _cpu(pids: dict[str, list[int]]) -> dict[str, float]:
    return {role: sum(_tree_seconds(pid) for pid in group) for role, group in pids.items()}


def _measure(site: Site, env: dict[str, str], tokens: list[str], workers: int) -> dict[str, float]:
    _stack(env, "down")
    _stack(env, "up", "--workers", str(workers))
    url = f"{site.api}/me"
    requests = [httpx.Request("GET", url, headers={"Authorization": f"Bearer {token}"}) for token in tokens]

    def nth(n: int) -> httpx.Request:
        return requests[n % len(requests)]

    asyncio.run(load(nth, concurrency=CONNECTIONS, duration=WARMUP, max_requests=10**7))
    pids = _pids(env)
    before, client_before = _cpu(pids), own_seconds()
    result = asyncio.run(load(nth, concurrency=CONNECTIONS, duration=DURATION, max_requests=10**7))
    after, client_after = _cpu(pids), own_seconds()
    checked(result, f"GET /me with {workers} workers at {CONNECTIONS} connections")
    prefix = f"scale.workers_{workers}"
    figures = {f"{prefix}_rps": result.rps, f"{prefix}_p99_ms": result.p99_ms}
    spent = {role: after[role] - before[role] for role in ROLES}
    for role, seconds in spent.items():
        figures[f"{prefix}_cpu_ms_per_req_{role}"] = seconds / result.requests * 1000
    figures[f"{prefix}_cpu_ms_per_req_server"] = sum(spent.values()) / result.requests * 1000
    figures[f"{prefix}_cpu_ms_per_req_client"] = (client_after - client_before) / result.requests * 1000
    figures[f"{prefix}_cores_busy"] = (sum(spent.values()) + client_after - client_before) / result.seconds
    return figures


def worker_curve(site: Site, env: dict[str, str]) -> dict[str, float]:
    """`GET /me` through the load balancer with 1, 2 and 4 workers, each with CPU per request by process."""
    had = len(_pids(env)["app"])
    # Fresh sign-ins: the earlier parts (a long audit part above all) may have outlived the first tokens (15 min).
    tokens = [sign_in(site.client, site.outbox, n) for n in site.numbers]
    figures: dict[str, float] = {}
    try:
        for workers in WORKER_COUNTS:
            figures |= _measure(site, env, tokens, workers)
    finally:
        _stack(env, "down")
        _stack(env, "up", "--workers", str(had))
    return figures
