"""CPU time spent by a server process and by this (client) process, read around one transfer: how much of the two
cores a 10 MiB upload or download costs on each side, whatever the wall clock says.

A server's time is the sum over its threads of the kernel's nanosecond run time (`/proc/<pid>/task/*/schedstat`).
A thread that ends between two readings takes its time out of that sum, so then the process's own counters
(`/proc/<pid>/stat`, whole clock ticks, ended threads included) are used instead. The client's is `getrusage`.
"""

from __future__ import annotations

import os
import resource
from dataclasses import dataclass, field
from pathlib import Path

_TICK = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class Reading:
    threads: dict[str, int]  # thread id: nanoseconds run
    ticks_seconds: float  # user + system of the whole process, ended threads included


def read_process(pid: int) -> Reading:
    threads: dict[str, int] = {}
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            threads[task.name] = int((task / "schedstat").read_text().split()[0])
        except (FileNotFoundError, ProcessLookupError):
            continue  # the thread ended while the folder was read
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return Reading(threads, (int(fields[11]) + int(fields[12])) / _TICK)


def process_seconds(before: Reading, after: Reading) -> float:
    """CPU seconds the process spent between two readings."""
    if before.threads.keys() <= after.threads.keys():
        return sum(after.threads[tid] - before.threads.get(tid, 0) for tid in after.threads) / 1e9
    return after.ticks_seconds - before.ticks_seconds  # a thread ended: only the coarse counters have its time


def own_seconds() -> float:
    """User + system CPU seconds of this process so far."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


@dataclass
class Meter:
    """CPU seconds of a server and of this process over one step: `start()`, the step, then `stop()`."""

    pid: int
    _server: Reading | None = None
    _client: float = 0.0

    def start(self) -> None:
        self._server, self._client = read_process(self.pid), own_seconds()

    def stop(self) -> tuple[float, float]:
        """(server, client) seconds since `start()`; the meter starts again from here."""
        if self._server is None:
            raise RuntimeError("the meter was not started")
        server, client = read_process(self.pid), own_seconds()
        spent = process_seconds(self._server, server), client - self._client
        self._server, self._client = server, client
        return spent


@dataclass
class Costs:
    """Server and client CPU seconds of each measured upload and download of one kind of trip."""

    up_server: list[float] = field(default_factory=list)
    up_client: list[float] = field(default_factory=list)
    down_server: list[float] = field(default_factory=list)
    down_client: list[float] = field(default_factory=list)

    def uploaded(self, spent: tuple[float, float]) -> None:
        self.up_server.append(spent[0])
        self.up_client.append(spent[1])

    def downloaded(self, spent: tuple[float, float]) -> None:
        self.down_server.append(spent[0])
        self.down_client.append(spent[1])

    def lists(self) -> tuple[list[float], list[float], list[float], list[float]]:
        return self.up_server, self.up_client, self.down_server, self.down_client

    def figures(self, prefix: str, nbytes: int) -> dict[str, float]:
        """Mean milliseconds a transfer of `nbytes`, as `<prefix>_{upload,download}_{server,client}_cpu_ms_per_10mib`
        scaled to 10 MiB."""
        scale = 10 * 1024 * 1024 / nbytes * 1000
        names = ("upload_server", "upload_client", "download_server", "download_client")
        return {
            f"{prefix}_{name}_cpu_ms_per_10mib": sum(values) / len(values) * scale
            for name, values in zip(names, self.lists(), strict=True)
            if values
        }
