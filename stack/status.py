"""`stack status`: each process of the stack with its pid, port and health, and what the load balancer thinks of
each worker."""

from __future__ import annotations

import contextlib
import csv
import io
import socket
from dataclasses import dataclass
from pathlib import Path

from stack.jobs import jobs_heartbeat
from stack.layout import Layout, State
from stack.processes import Process, http_ok, tcp_open
from stack.seaweed import volume_servers


@dataclass(frozen=True)
class Row:
    name: str
    pid: int
    port: int
    health: str  # up | unhealthy (runs, but fails its check) | down (exited)
    balancer: str  # the load balancer's check of a worker (UP, DOWN…); empty for other processes
    log: str


def status(layout: Layout) -> list[Row]:
    state = State.load(layout)
    views = balancer_view(layout.haproxy_socket)
    return [Row(p.name, p.pid, p.port, _health(p, state), views.get(p.name, ""), p.log) for p in state.processes]


def _health(process: Process, state: State) -> str:
    if not process.alive:
        return "down"
    with contextlib.suppress(Exception):
        if _check(process, state):
            return "up"
    return "unhealthy"


def _check(process: Process, state: State) -> bool:
    base = f"http://127.0.0.1:{process.port}"
    if process.name.startswith("app-") or process.name == "haproxy":
        return http_ok(f"{base}/health")
    if process.name == "jobs":
        return jobs_heartbeat(state)
    if process.name == "weed-master":
        return http_ok(f"{base}/cluster/status")
    if process.name.startswith("weed-volume-"):
        return http_ok(f"{base}/status") and volume_servers(state.ports["weed-master"]) > 0
    return tcp_open(process.port)


def balancer_view(stats_socket: Path) -> dict[str, str]:
    """Each worker's status as HAProxy's health checks see it (`show stat` on its admin socket)."""
    if not stats_socket.exists():
        return {}
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(2)
            sock.connect(str(stats_socket))
            sock.sendall(b"show stat\n")
            raw = b"".join(iter(lambda: sock.recv(65536), b""))
    except OSError:
        return {}
    lines = raw.decode(errors="replace").lstrip("# ").splitlines()
    return {
        row["svname"]: row["status"]
        for row in csv.DictReader(io.StringIO("\n".join(lines)))
        if row.get("pxname") == "workers" and row.get("svname", "").startswith("app-")
    }


def render(rows: list[Row]) -> str:
    header = f"{'PROCESS':<15} {'PID':>8} {'PORT':>6}  {'HEALTH':<10} {'BALANCER':<9} LOG"
    lines = [f"{r.name:<15} {r.pid:>8} {r.port:>6}  {r.health:<10} {r.balancer or '-':<9} {r.log}" for r in rows]
    return "\n".join([header, *lines]) if rows else "the stack is not running (no process recorded)"
