"""Starting, watching and stopping the stack's processes, which outlive the command that started them."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class Process:
    """One process the stack started: how to find it again (its pid and its start time, so that a pid the
    system gave to someone else since is never signalled), what it listens on and where it logs."""

    name: str
    pid: int
    started: int
    port: int
    log: str

    @property
    def alive(self) -> bool:
        return started_at(self.pid) == self.started


def spawn(
    name: str,
    command: Sequence[str],
    *,
    port: int,
    log: Path,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    user: str | None = None,
) -> Process:
    """Start `command` in a session of its own (a Ctrl+C in the terminal that ran `stack up` does not reach it),
    its output appended to `log`."""
    log.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    with log.open("ab") as out:
        child = subprocess.Popen(  # noqa: S603 - commands built by the stack from fixed binaries
            list(command),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            env=dict(env) if env is not None else None,
            cwd=cwd,
            user=user,
            start_new_session=True,
        )
    return Process(name, child.pid, started_at(child.pid) or 0, port, str(log))


def started_at(pid: int) -> int | None:
    """The process's start time in clock ticks since boot (`/proc/<pid>/stat`), or None if it is gone (a zombie
    counts as gone: it is reaped here when it is our child)."""
    with contextlib.suppress(ChildProcessError, OSError):
        os.waitpid(pid, os.WNOHANG)
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat[stat.rindex(")") + 2 :].split()
    if fields[0] in {"Z", "X"}:
        return None
    return int(fields[19])


def stop_all(processes: Sequence[Process], *, timeout: float) -> None:
    """SIGTERM to each live process's group at once, then SIGKILL to whatever still runs after `timeout`."""
    live = [process for process in processes if process.alive]
    for process in live:
        _signal_group(process.pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while (live := [process for process in live if process.alive]) and time.monotonic() < deadline:
        time.sleep(0.1)
    for process in live:
        _signal_group(process.pid, signal.SIGKILL)
    wait_until(lambda: not any(process.alive for process in live), timeout=10, what="killed processes to exit")


def _signal_group(pid: int, signum: signal.Signals) -> None:
    # Each process leads its own session and group (`spawn`), so the group holds it and the children it made.
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signum)


def wait_until(check: Callable[[], bool], *, timeout: float, what: str, log: Path | None = None) -> None:
    deadline = time.monotonic() + timeout
    while True:
        with contextlib.suppress(Exception):
            if check():
                return
        if time.monotonic() > deadline:
            tail = log.read_text(errors="replace")[-3000:] if log is not None and log.exists() else ""
            raise StackError(
                f"timed out after {timeout:.0f} s waiting for {what}" + (f"\n--- {log} ---\n{tail}" * bool(tail))
            )
        time.sleep(0.1)


def http_ok(url: str, *, timeout: float = 2.0) -> bool:
    """Whether `url` answers 2xx (only our own http://127.0.0.1 URLs are asked)."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 - our own http:// URL
            status: int = response.status
            return 200 <= status < 300
    except (OSError, ValueError):
        return False


def tcp_open(port: int, *, host: str = "127.0.0.1", timeout: float = 1.0) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def free_ports(count: int, *, taken: set[int] | frozenset[int] = frozenset()) -> list[int]:
    """Distinct ports on 127.0.0.1 that were free a moment ago (and, with weed's gRPC convention in mind, whose
    port + 10000 is a valid port too)."""
    with contextlib.ExitStack() as stack:
        ports: list[int] = []
        while len(ports) < count:
            sock = stack.enter_context(socket.socket(socket.AF_INET, socket.SOCK_STREAM))
            sock.bind(("127.0.0.1", 0))
            port: int = sock.getsockname()[1]
            if port not in taken and port + 10000 <= 65535:
                ports.append(port)
        return ports


class StackError(Exception):
    """The stack could not be started, stopped or read; the message says what and where to look."""
