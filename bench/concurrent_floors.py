"""The PostgreSQL paths' floors with two workers: what `GET /me` and `POST /verify/qr` cannot skip, run by two
processes at once against one PostgreSQL on this machine's cores.

With one worker, `bench.fast_paths.path_floors` adds a path's pieces measured in process to the wallet's own floor.
With two, doubling that would assume the two workers' pieces run side by side for free; on PostgreSQL every read
also costs the server's own processes CPU, on the same two cores as the workers and the load generator. Here each of
`PROCESSES` processes runs a path's pieces in a loop on an event loop, as a worker does (the token's Ed25519 check on
the loop, the read transaction in a worker thread, three hops in all, the scans' rows written 16 scans to a batch in
a worker thread), for `SECONDS` from a common start, with one and with eight calls in flight in each; the figure is
the better of their calls together per second: this machine's
rate for that work alone, with nothing of HTTP or of the service. Only SQLAlchemy, the driver, anyio and
`cryptography`, like `bench.floors`.
"""

from __future__ import annotations

import multiprocessing
import os
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from multiprocessing.queues import Queue

import anyio
import anyio.to_thread
import sqlalchemy as sa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from bench import floors

PROCESSES = 2
SECONDS = 3.0
SETTLE = 3.0  # seconds for the processes to start and connect before the common start
SCANS_PER_BATCH = 16  # as `floors.transaction_floors` writes them: at most 16 scans at 16 connections
TASKS = (1, 8)  # calls in flight in each process (a worker serves 8 of the load's 16 connections): the best counts


def measure(url: str) -> dict[str, float]:
    """Calls per second of each path's pieces, `PROCESSES` processes together, on the database at `url`."""
    engine = floors._filled(sa.create_engine(url, pool_size=1))
    try:
        return {
            f"postgres_{PROCESSES}proc_{path}_per_s": max(_together(url, path, tasks) for tasks in TASKS)
            for path in ("me", "scan")
        }
    finally:
        with engine.begin() as connection:
            floors._TABLE.drop(connection)
        engine.dispose()


@dataclass(frozen=True)
class _Run:
    url: str
    path: str  # "me" or "scan"
    index: int  # the process's number, to keep its inserted rows apart from the other's
    tasks: int
    start_at: float  # the common start, in `time.time()`


def _together(url: str, path: str, tasks: int) -> float:
    context = multiprocessing.get_context("spawn")  # no copy of this process's threads or connections
    results: Queue[int | str] = context.Queue()
    start_at = time.time() + SETTLE
    children = [
        context.Process(target=_child, args=(_Run(url, path, index, tasks, start_at), results))
        for index in range(PROCESSES)
    ]
    for child in children:
        child.start()
    counts = [results.get(timeout=SETTLE + SECONDS + 60) for _ in children]
    for child in children:
        child.join(timeout=30)
    failed = [count for count in counts if isinstance(count, str)]
    if failed:
        raise RuntimeError(f"a process of the concurrent floors failed: {failed[0]}")
    return sum(int(count) for count in counts) / SECONDS


def _child(run: _Run, results: Queue[int | str]) -> None:
    engine = sa.create_engine(run.url, pool_size=run.tasks)
    try:
        results.put(anyio.run(_loop, _pieces(engine, run), run.tasks, run.start_at))
    except Exception as exc:  # the parent says which, instead of waiting for a count that never comes
        results.put(repr(exc))
    finally:
        engine.dispose()


async def _loop(call: Callable[[], Awaitable[None]], tasks: int, start_at: float) -> int:
    for _ in range(50):  # warm the connections and the caches
        await call()
    await anyio.sleep(max(0.0, start_at - time.time()))
    calls, ends = [0] * tasks, start_at + SECONDS

    async def task(n: int) -> None:
        while time.time() < ends:
            await call()
            calls[n] += 1

    async with anyio.create_task_group() as group:
        for n in range(tasks):
            group.start_soon(task, n)
    return sum(calls)


def _pieces(engine: sa.Engine, run: _Run) -> Callable[[], Awaitable[None]]:
    key = Ed25519PrivateKey.generate()
    public, message = key.public_key(), os.urandom(400)
    signature = key.sign(message)
    aead, nonce = AESGCM(os.urandom(32)), os.urandom(12)
    sealed = aead.encrypt(nonce, os.urandom(floors.ROW_BYTES), b"profile")
    written = iter(range(10**9))

    def two_reads() -> None:
        with engine.connect() as connection, connection.begin():
            for n in (1, 2):
                connection.execute(floors.BY_ID, {"id": f"row{n * 7}"}).first()

    def batch() -> None:
        with engine.connect() as connection, connection.begin():
            for _ in range(2 * SCANS_PER_BATCH):
                row = {"id": f"p{run.index}-{run.tasks}-{next(written)}", "sealed": b"entry"}
                connection.execute(floors._TABLE.insert(), row)

    def nothing() -> None:
        return None

    counter = iter(range(10**9))

    async def me() -> None:
        public.verify(signature, message)
        await anyio.to_thread.run_sync(two_reads)
        for _ in range(2):
            await anyio.to_thread.run_sync(nothing)
        aead.decrypt(nonce, sealed, b"profile")

    async def scan() -> None:
        public.verify(signature, message)  # the officer's token
        public.verify(signature, message)  # the QR token
        await anyio.to_thread.run_sync(two_reads)
        for _ in range(2):
            await anyio.to_thread.run_sync(nothing)
        aead.decrypt(nonce, sealed, b"profile")
        if next(counter) % SCANS_PER_BATCH == 0:
            await anyio.to_thread.run_sync(batch)

    return me if run.path == "me" else scan
