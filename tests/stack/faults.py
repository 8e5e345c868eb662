"""Faults injected into a running stack under load, one at a time, each followed by the checks of
`tests.stack.integrity`; the error rate before, during and after each fault, and the per-second shape of it."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from stack.single import start_one, stop_one
from tests.stack import blob_disk, integrity
from tests.stack.conftest import RunningStack
from tests.stack.load import Load


@dataclass(frozen=True)
class Fault:
    name: str
    inject: Callable[[RunningStack], None]
    recover: Callable[[RunningStack], None]
    hold: float  # seconds between injecting and recovering


def stop(name: str) -> Callable[[RunningStack], None]:
    """`python -m stack stop NAME`, called in this process: the fault starts when the call does, not after the
    seconds a new interpreter takes to import the stack."""
    return lambda running: stop_one(running.layout, name)


def start(name: str) -> Callable[[RunningStack], None]:
    return lambda running: start_one(running.layout, name, env=running.env())


def kill_worker(running: RunningStack) -> None:
    os.kill(running.status()["app-2"]["pid"], signal.SIGKILL)


def volume_folders(running: RunningStack) -> list[Path]:
    return [running.layout.seaweed_dir / f"weed-volume-{n}" for n in (1, 2)]


def fill_disks(running: RunningStack) -> None:
    blob_disk.fill(volume_folders(running))


def empty_disks(running: RunningStack) -> None:
    blob_disk.empty(volume_folders(running))


KILL_WORKER = Fault("kill app worker (SIGKILL)", kill_worker, start("app-2"), hold=3)
# The same, the worker left dead (a worker's start takes 10-30 s on 2 busy cores): over once the balancer took it out.
KILL_WORKER_LEFT_DEAD = Fault("kill app worker (SIGKILL), left dead", kill_worker, lambda running: None, hold=3)
RESTART_POSTGRES = Fault("restart PostgreSQL (stop -m fast, start)", stop("postgres"), start("postgres"), hold=1)
STOP_VOLUME = Fault("stop a SeaweedFS volume server", stop("weed-volume-2"), start("weed-volume-2"), hold=10)
FILL_DISK = Fault("blob store disk full", fill_disks, empty_disks, hold=10)


@dataclass(frozen=True)
class Plan:
    faults: list[Fault]
    threads: int
    before: float  # seconds of load before each fault
    after: float  # seconds of load after recovery, before the load stops for the checks


def wait_healthy(running: RunningStack, *, timeout: float = 60) -> float:
    """Seconds until every process is up and the balancer has each worker in (UP), or, for a worker left dead, out
    (DOWN)."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if all(_settled(row) for row in running.status().values()):
            return time.monotonic() - started
        time.sleep(0.25)
    raise AssertionError(f"the stack did not come back within {timeout} s: {running.status()}")


QUIET = 3.0  # seconds without a failed request that say the service is whole again
QUIET_LIMIT = 150.0


def wait_quiet(load: Load, *, limit: float) -> float:
    """Keep the load running until QUIET seconds pass without an error (a store that marked itself read-only comes
    back at its next check, not when the fault ends), at most `limit`; returns that moment."""
    deadline = time.monotonic() + limit
    while (now := time.monotonic()) < deadline:
        if load.window(now - QUIET, now)["errors"] == 0:
            return now
        time.sleep(0.5)
    return time.monotonic()


def _settled(row: dict[str, Any]) -> bool:
    if not row["name"].startswith("app-"):
        return bool(row["health"] == "up")
    return (row["health"], row["balancer"]) in {("up", "UP"), ("down", "DOWN")}


def run_fault(
    running: RunningStack, operator: integrity.Operator, load: Load, fault: Fault, plan: Plan
) -> dict[str, Any]:
    load.start()
    t0 = time.monotonic()
    time.sleep(plan.before)
    t1 = time.monotonic()
    fault.inject(running)
    time.sleep(fault.hold)
    fault.recover(running)
    healthy = wait_healthy(running)
    t2 = time.monotonic()
    time.sleep(plan.after)
    t3 = wait_quiet(load, limit=QUIET_LIMIT)
    load.stop()
    return {
        "fault": fault.name,
        "seconds_down": round(t2 - t1, 1),
        "seconds_to_healthy_after_recovery": round(healthy, 1),
        "seconds_of_errors_after_recovery": round(max((load.last_error_after(t2) or t2) - t2, 0), 1),
        "before": load.window(t0, t1),
        "during": load.window(t1, t2),
        "after": load.window(t2, t3),
        "during_per_second": load.per_second(t1, t2),
        "recovered": load.window(t3 - QUIET, t3)["errors"] == 0,
        "checks": checks(running, operator, load),
    }


def checks(running: RunningStack, operator: integrity.Operator, load: Load) -> dict[str, Any]:
    left = integrity.drain_outbox(running, timeout=90)
    return {
        "outbox_left": [list(map(str, row)) for row in left],
        "blobs": integrity.blobs(running, operator),
        "dangling": integrity.dangling(running),
        "acknowledged": integrity.acknowledged(running, load),
        "notifications": integrity.notifications(running, load),
    }


def problems(result: dict[str, Any]) -> list[str]:
    """Everything a fault's checks found wrong, one line each (empty: all held)."""
    found: list[str] = [] if result["recovered"] else [f"errors still {QUIET_LIMIT:.0f} s after recovery"]
    checked = result["checks"]
    found += [f"outbox row not sent: {row}" for row in checked["outbox_left"]]
    blobs = checked["blobs"]
    found += [f"{kind}: {key}" for kind in ("orphans", "missing", "pending_left") for key in blobs[kind]]
    found += [f"{name}: {ids}" for name, ids in checked["dangling"].items() if ids]
    found += checked["acknowledged"]["problems"]
    notes = checked["notifications"]
    for key in ("sms_not_delivered", "sms_unknown_deliveries", "not_sent"):
        found += [f"{key}: {value}" for value in notes[key]]
    if notes["sms_without_key"]:
        found.append(f"{notes['sms_without_key']} SMS reached the gateway without an Idempotency-Key")
    return [f"{result['fault']}: {line}" for line in found]


def table(results: list[dict[str, Any]]) -> str:
    header = f"{'fault':<42} {'before':>14} {'during':>16} {'after':>14} {'down s':>7} {'tail s':>7} {'repeats':>8}"
    lines = [header, "-" * len(header)]
    for r in results:
        cells = [_rate(r[phase]) for phase in ("before", "during", "after")]
        repeats = r["checks"]["notifications"]["sms_repeated_requests"]
        down, tail = r["seconds_down"], r["seconds_of_errors_after_recovery"]
        lines.append(f"{r['fault']:<42} {cells[0]:>14} {cells[1]:>16} {cells[2]:>14} {down:>7} {tail:>7} {repeats:>8}")
    return "\n".join(lines)


def _rate(window: dict[str, Any]) -> str:
    return f"{100 * window['error_rate']:.1f}% of {window['requests']}"
