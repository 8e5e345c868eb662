"""The baselines of `bench.fast_paths`: the bare Litestar app (`bench/baseline_app.py`) with 1 and 2 workers, kept
running through the whole run, and the stack's floor for `GET /me` (`bench/stack_floor_app.py`).

On this shared machine the bare app's own rate moved by half between minutes of one run (bare `GET /plain` with one
worker 9,913 and 15,165 req/s, with two 14,754 and 12,270, in the two halves of one comparison), and a baseline
measured once at the start carried that drift into every ratio. So each path is measured between two short loads of
the bare app (`Baselines.around`), and its ratio is taken against their mean.
"""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path
from typing import Any, Literal

import httpx

from bench import baseline_jwt
from bench import floors as floors_module
from bench.harness import LoadResult, RequestFactory, ServerProcess, load
from bench.qr import _expect

CONCURRENCY = 16
MAX_REQUESTS = 10_000_000  # the duration is the bound
BRACKET_SECONDS = 2.0  # each of the two bare loads around a path
BRACKET_WARMUP = 0.5
TOKEN_LIFETIME = 4 * 3600  # the run's baseline token outlives the run

Route = Literal["get", "post"]


def short_load(
    name: str, target: str | RequestFactory, *, duration: float, warmup: float, **request: Any
) -> LoadResult:
    """`CONCURRENCY` keep-alive connections, `warmup` s unmeasured, then `duration` s; a failed request stops it."""
    asyncio.run(load(target, concurrency=CONCURRENCY, duration=warmup, max_requests=MAX_REQUESTS, **request))
    result = asyncio.run(load(target, concurrency=CONCURRENCY, duration=duration, max_requests=MAX_REQUESTS, **request))
    print(f"  {name}: {result}", flush=True)
    if result.errors:
        raise RuntimeError(f"{name}: {result.errors} of {result.requests} requests failed")
    return result


class Baselines:
    """One bare server per worker count, idle but for the loads measured on it."""

    def __init__(self, stack: ExitStack, workers: tuple[int, ...]) -> None:
        self.token = baseline_jwt.signed_token(TOKEN_LIFETIME)
        self._servers = {n: stack.enter_context(ServerProcess("bench.baseline_app:app", workers=n)) for n in workers}
        for server in self._servers.values():
            _expect(httpx.post(f"{server.base_url}/jwt", json={"token": self.token}, trust_env=False), 200)

    def measure(self, workers: int, route: Route, *, duration: float, warmup: float) -> LoadResult:
        """`GET /plain` or `POST /jwt` (one EdDSA JWT verified with pyjwt) with `workers` workers."""
        base = self._servers[workers].base_url
        if route == "get":
            return short_load(f"bare GET /plain, {workers}w", f"{base}/plain", duration=duration, warmup=warmup)
        body = {"token": self.token}
        name = f"bare POST /jwt, {workers}w"
        return short_load(name, f"{base}/jwt", duration=duration, warmup=warmup, method="POST", json=body)

    def around(self, workers: int, route: Route, path: Callable[[], LoadResult]) -> tuple[LoadResult, float]:
        """`path` measured between two short loads of the bare app's `route`: its result, and their mean rate."""
        before = self.measure(workers, route, duration=BRACKET_SECONDS, warmup=BRACKET_WARMUP)
        result = path()
        after = self.measure(workers, route, duration=BRACKET_SECONDS, warmup=BRACKET_WARMUP)
        return result, (before.rps + after.rps) / 2


def stack_floor(workers: int, token: str, *, duration: float, warmup: float) -> LoadResult:
    """`GET /me` of `bench.stack_floor_app` (the stack's floor for an authenticated profile read) on SQLite."""
    with tempfile.TemporaryDirectory(prefix="bench-stack-floor-") as tmp:
        path = Path(tmp) / "floor.db"
        floors_module.stack_floor_database(path)
        env = {floors_module.STACK_FLOOR_DB_ENV: str(path)}
        with ServerProcess("bench.stack_floor_app:app", workers=workers, env=env) as server:
            url, auth = f"{server.base_url}/me", {"Authorization": f"Bearer {token}"}
            _expect(httpx.get(url, headers=auth, trust_env=False), 200)
            name = f"stack floor GET /me, {workers}w"
            return short_load(name, url, duration=duration, warmup=warmup, headers=auth)


def baseline_figures(baselines: Baselines, workers: int, *, duration: float, warmup: float) -> dict[str, float]:
    """The bare app's two routes as loads of their own, and the stack's floor between two bare loads."""
    plain = baselines.measure(workers, "get", duration=duration, warmup=warmup)
    post = baselines.measure(workers, "post", duration=duration, warmup=warmup)
    floor, bare = baselines.around(
        workers, "get", lambda: stack_floor(workers, baselines.token, duration=duration, warmup=warmup)
    )
    return {
        f"fast.bare_get_rps_{workers}w": plain.rps,
        f"fast.bare_get_p99_ms_{workers}w": plain.p99_ms,
        f"fast.bare_post_jwt_rps_{workers}w": post.rps,
        f"fast.bare_post_jwt_p99_ms_{workers}w": post.p99_ms,
        f"fast.stack_floor_me_rps_{workers}w": floor.rps,
        f"fast.stack_floor_bare_rps_{workers}w": bare,
        f"fast.stack_floor_me_vs_bare_{workers}w": floor.rps / bare,
    }
