"""Generic benchmark pieces: a uvicorn server in a child process, an HTTP load loop, timing helpers, results file.

Every benchmark script runs its own servers on 127.0.0.1, measures, and calls `record({...})`; the figures of
all scripts accumulate in `bench/results.json`. Compare figures only with others measured in the same run.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import ipaddress
import itertools
import json
import math
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, BinaryIO, Literal, Protocol

import httptools
import httpx

REPO_ROOT = Path(__file__).resolve().parent.parent
# The operator's CLI of this tree (whatever the environment has installed as `congdanso`): run it with
# `cwd=REPO_ROOT`, so `make bench-compare` measures an older commit with that commit's own commands.
CLI = [sys.executable, "-m", "api.cli"]
RESULTS_PATH = Path(__file__).resolve().parent / "results.json"

RequestFactory = Callable[[int], httpx.Request]
"""Builds the n-th request of a load run (n counts from 0), e.g. `lambda n: httpx.Request("GET", url)`."""


# -- numbers -----------------------------------------------------------------------------------------------------------


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0 ≤ q ≤ 100) with linear interpolation between closest ranks (numpy's default)."""
    if not values:
        raise ValueError("percentile of no values")
    if not 0 <= q <= 100:
        raise ValueError(f"percentile {q} is outside [0, 100]")
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100
    low = math.floor(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def timed(fn: Callable[[], object], *, repeat: int, warmup: int = 1) -> list[float]:
    """Call `fn` `warmup` times unmeasured, then `repeat` times; return each call's duration in seconds."""
    for _ in range(warmup):
        fn()
    durations: list[float] = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        durations.append(time.perf_counter() - start)
    return durations


def record(results: Mapping[str, float], *, path: Path = RESULTS_PATH) -> None:
    """Merge `{name: value}` into the results file (sorted keys, 2-space indent) and print `name: value` lines.

    The file is locked while it is rewritten, so benchmark scripts may run side by side.
    """
    rounded = {name: float(f"{value:.6g}") for name, value in results.items()}
    with path.open("a+", encoding="utf-8") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        handle.seek(0)
        text = handle.read()
        merged: dict[str, Any] = json.loads(text) if text.strip() else {}
        merged.update(rounded)
        handle.seek(0)
        handle.truncate()
        handle.write(json.dumps(merged, indent=2, sort_keys=True) + "\n")
    for name, value in rounded.items():
        print(f"{name}: {value}")


# -- load --------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LoadResult:
    requests: int
    """Requests completed (answered or failed)."""
    errors: int
    """Non-2xx answers plus transport failures (refused, reset, timed out)."""
    seconds: float
    rps: float
    """All completed requests per second; check `errors` before trusting it."""
    p50_ms: float
    p99_ms: float

    def __str__(self) -> str:
        return (
            f"{self.requests} requests ({self.errors} errors) in {self.seconds:.2f} s: {self.rps:.0f} req/s, "
            f"p50 {self.p50_ms:.2f} ms, p99 {self.p99_ms:.2f} ms"
        )


def assert_loopback(url: httpx.URL | str) -> None:
    """Refuse any target that is not on this machine's loopback interface."""
    host = httpx.URL(url).host
    if host == "localhost":
        return
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        raise ValueError(f"load targets must be on 127.0.0.1, not {host!r}")


class _Sender(Protocol):
    async def send(self, request: httpx.Request) -> bool: ...
    async def aclose(self) -> None: ...


class _HttpxSender:
    """One `httpx.AsyncClient` holding one keep-alive connection: full HTTP semantics, ~0.4 ms of CPU a request."""

    def __init__(self, timeout: float) -> None:
        limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
        self._client = httpx.AsyncClient(limits=limits, timeout=timeout, trust_env=False)

    async def send(self, request: httpx.Request) -> bool:
        try:
            response = await self._client.send(request)
            await response.aclose()
        except httpx.HTTPError:
            return False
        return response.is_success

    async def aclose(self) -> None:
        await self._client.aclose()


class _FastSender:
    """Bare HTTP/1.1 over one keep-alive socket, responses parsed by httptools (~25-50 µs of CPU a request).

    Sends the request's method, path, headers and body as given (no default headers, no redirects, no HEAD).
    """

    def __init__(self, timeout: float) -> None:
        self._timeout = timeout
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._last: tuple[httpx.Request, bytes] | None = None
        self._parser = httptools.HttpResponseParser(self)
        self._complete = False
        self._keep_alive = False

    def on_headers_complete(self) -> None:  # httptools callbacks; keep-alive is only known until the message ends
        self._keep_alive = self._parser.should_keep_alive()

    def on_message_complete(self) -> None:
        self._complete = True

    def _wire(self, request: httpx.Request) -> bytes:
        if self._last is not None and self._last[0] is request:
            return self._last[1]
        if request.method == "HEAD" or request.url.scheme != "http":
            raise ValueError("the fast engine speaks plain http and cannot read HEAD responses; use engine='httpx'")
        lines = [request.method.encode() + b" " + request.url.raw_path + b" HTTP/1.1\r\n"]
        lines += [name + b": " + value + b"\r\n" for name, value in request.headers.raw]
        wire = b"".join(lines) + b"\r\n" + request.read()
        self._last = (request, wire)
        return wire

    async def send(self, request: httpx.Request) -> bool:
        wire = self._wire(request)
        try:
            async with asyncio.timeout(self._timeout):
                if self._writer is None:
                    self._reader, self._writer = await asyncio.open_connection(request.url.host, request.url.port or 80)
                assert self._reader is not None
                self._writer.write(wire)
                self._parser = parser = httptools.HttpResponseParser(self)
                self._complete = False
                while not self._complete:
                    data = await self._reader.read(65536)
                    if not data:
                        raise ConnectionResetError("server closed the connection")
                    parser.feed_data(data)
        except (OSError, TimeoutError, httptools.HttpParserError):
            await self.aclose()
            return False
        if not self._keep_alive:
            await self.aclose()
        return 200 <= parser.get_status_code() < 300

    async def aclose(self) -> None:
        writer, self._reader, self._writer = self._writer, None, None
        if writer is not None:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()


async def load(
    url_or_request_factory: str | RequestFactory,
    *,
    concurrency: int,
    duration: float,
    max_requests: int,
    method: str = "GET",
    headers: Mapping[str, str] | None = None,
    json: Any = None,
    timeout: float = 30.0,
    engine: Literal["fast", "httpx"] = "fast",
) -> LoadResult:
    """Send requests from `concurrency` workers, each over its own keep-alive connection, until `duration` seconds
    have passed or `max_requests` have been started, whichever comes first; requests in flight then finish.

    With a URL, every request is `method url` with `headers` and `json`; with a factory, the factory builds the
    n-th request (`method`, `headers` and `json` are then unused). Only loopback targets are accepted.

    engine="fast" (the default; raw HTTP/1.1 parsed by httptools, ~25-50 µs of client CPU a request) keeps the client
    out of the figure. engine="httpx" is a complete HTTP client (HEAD, default headers) but costs ~0.4 ms of client
    CPU a request, so it tops out near 2.5k req/s on this machine: it measures itself, not a fast server.
    """
    if concurrency < 1 or max_requests < 1 or duration <= 0:
        raise ValueError("concurrency, max_requests and duration must be positive")
    factory: RequestFactory
    if isinstance(url_or_request_factory, str):
        same = httpx.Request(method, url_or_request_factory, headers=headers, json=json)
        assert_loopback(same.url)

        def same_request(_: int) -> httpx.Request:
            return same

        factory = same_request
    else:
        factory = url_or_request_factory
    senders: dict[str, Callable[[float], _Sender]] = {"httpx": _HttpxSender, "fast": _FastSender}
    new_sender = senders[engine]

    latencies: list[float] = []
    errors = 0
    counter = itertools.count()
    checked: set[bytes] = set()  # netlocs known to be loopback

    async def worker(deadline: float) -> None:
        nonlocal errors
        sender = new_sender(timeout)
        try:
            while time.perf_counter() < deadline:
                n = next(counter)
                if n >= max_requests:
                    return
                request = factory(n)
                if request.url.netloc not in checked:
                    assert_loopback(request.url)
                    checked.add(request.url.netloc)
                sent = time.perf_counter()
                ok = await sender.send(request)
                latencies.append(time.perf_counter() - sent)
                errors += not ok
        finally:
            await sender.aclose()

    started = time.perf_counter()
    await asyncio.gather(*(worker(started + duration) for _ in range(concurrency)))
    seconds = time.perf_counter() - started

    ms = [latency * 1000 for latency in latencies]
    return LoadResult(
        requests=len(latencies),
        errors=errors,
        seconds=seconds,
        rps=len(latencies) / seconds,
        p50_ms=percentile(ms, 50) if ms else math.nan,
        p99_ms=percentile(ms, 99) if ms else math.nan,
    )


# -- server process ----------------------------------------------------------------------------------------------------


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _proc_status(pid: int) -> dict[str, str]:
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return {}
    fields = (line.split(":", 1) for line in text.splitlines() if ":" in line)
    return {key: value.strip() for key, value in fields}


def process_tree(pid: int) -> list[int]:
    """`pid` and all its live descendants (from /proc/*/status PPid)."""
    parents: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            ppid = _proc_status(int(entry.name)).get("PPid")
            if ppid is not None:
                parents.setdefault(int(ppid), []).append(int(entry.name))
    tree, todo = [], [pid]
    while todo:
        current = todo.pop()
        tree.append(current)
        todo.extend(parents.get(current, []))
    return tree


def _memory_mb(pids: list[int], field: str) -> float:
    total_kb = 0
    for pid in pids:
        value = _proc_status(pid).get(field)  # "123456 kB"
        if value:
            total_kb += int(value.split()[0])
    return total_kb / 1024


class ServerProcess:
    """A uvicorn server for `app_spec` (e.g. "bench.baseline_app:app") on a free 127.0.0.1 port.

    Started on `__enter__` (waits until `health_path` answers 200), stopped on `__exit__` with SIGTERM, then
    SIGKILL to its whole process group. `env` is merged over `os.environ`; the working directory is the repo root.
    """

    def __init__(
        self,
        app_spec: str,
        *,
        env: Mapping[str, str] | None = None,
        workers: int = 1,
        factory: bool = False,
        health_path: str = "/health",
        startup_timeout: float = 60.0,
        extra_args: list[str] | None = None,
    ) -> None:
        self.app_spec = app_spec
        self.env = dict(env or {})
        self.workers = workers
        self.factory = factory
        self.health_path = health_path
        self.startup_timeout = startup_timeout
        self.extra_args = list(extra_args or [])
        self.port = 0
        self._process: subprocess.Popen[bytes] | None = None
        self._log: BinaryIO | None = None
        self._log_path: Path | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        if self._process is None:
            raise RuntimeError("server is not running")
        return self._process.pid

    def child_pids(self) -> list[int]:
        """The pids of the server's descendants (uvicorn workers with --workers > 1)."""
        return process_tree(self.pid)[1:]

    def rss_mb(self) -> float:
        """Current resident memory of the whole process tree (sum of VmRSS), in MiB."""
        return _memory_mb(process_tree(self.pid), "VmRSS")

    def peak_rss_mb(self) -> float:
        """Peak resident memory of the live process tree (sum of each process's VmHWM), in MiB."""
        return _memory_mb(process_tree(self.pid), "VmHWM")

    def reset_peak_rss(self) -> None:
        """Restart the VmHWM count of every process of the tree at its current VmRSS (Linux `clear_refs` 5), so a
        later `peak_rss_mb()` covers only what happened since; e.g. to leave out a startup spike."""
        for pid in process_tree(self.pid):
            with contextlib.suppress(FileNotFoundError, ProcessLookupError):
                Path(f"/proc/{pid}/clear_refs").write_text("5")

    def log_tail(self, chars: int = 4000) -> str:
        if self._log is None or self._log_path is None:
            return ""
        self._log.flush()
        return self._log_path.read_text(errors="replace")[-chars:]

    def __enter__(self) -> ServerProcess:
        fd, name = tempfile.mkstemp(prefix="bench-server-", suffix=".log")
        self._log, self._log_path = os.fdopen(fd, "wb"), Path(name)
        try:
            for _ in range(3):  # another process may take the port between free_port() and bind()
                self.port = free_port()
                self._spawn()
                if self._wait_healthy():
                    return self
                if "already in use" not in self.log_tail():
                    break
            raise RuntimeError(f"{self.app_spec} did not become healthy on {self.base_url}:\n{self.log_tail()}")
        except BaseException:
            self.stop()
            raise

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def stop(self, grace: float = 10.0) -> None:
        """SIGTERM the server, wait up to `grace` seconds, then SIGKILL its process group. Removes the log."""
        process, self._process = self._process, None
        if process is not None:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                with contextlib.suppress(subprocess.TimeoutExpired):
                    process.wait(timeout=grace)
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)  # workers left behind, if any
            process.wait()
        if self._log is not None:
            self._log.close()
            self._log = None
        if self._log_path is not None:
            self._log_path.unlink(missing_ok=True)
            self._log_path = None

    def _command(self) -> list[str]:
        command = [sys.executable, "-m", "uvicorn", self.app_spec]
        if self.factory:
            command.append("--factory")
        command += ["--app-dir", str(REPO_ROOT), "--host", "127.0.0.1", "--port", str(self.port)]
        command += ["--workers", str(self.workers), "--log-level", "warning", "--no-access-log", *self.extra_args]
        return command

    def _spawn(self) -> None:
        if self._process is not None:  # a previous attempt that exited
            self._process.wait()
        self._process = subprocess.Popen(
            self._command(),
            cwd=REPO_ROOT,
            env={**os.environ, **self.env},
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, so stop() can reach every worker
        )

    def _wait_healthy(self) -> bool:
        assert self._process is not None
        deadline = time.monotonic() + self.startup_timeout
        url = self.base_url + self.health_path
        with httpx.Client(timeout=2.0, trust_env=False) as client:
            while time.monotonic() < deadline:
                if self._process.poll() is not None:
                    return False
                with contextlib.suppress(httpx.HTTPError):
                    if client.get(url).status_code == 200:
                        return True
                time.sleep(0.05)
        return False
