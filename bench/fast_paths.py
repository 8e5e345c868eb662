"""The hot paths against their floors: `GET /me`, `GET /documents?limit=50`, `POST /verify/qr` and `GET /me/qr` on
SQLite and on PostgreSQL, with 1 and 2 uvicorn workers, each against a baseline measured in the same run.
The wallet's own floor is measured beside them: `GET /.well-known/jwks.json`, a public route with no database work
through the wallet's whole middleware stack (access log, limits, metrics, JSON guard, compression, CSRF) and guard,
so the gap between the bare app and an authenticated read splits into what every route pays and what the read adds;
and the stack's own floor for `GET /me` (`bench/stack_floor_app.py`: token, two reads, the profile's open, no
middleware) beside the bare app, which with the wallet's middleware added bounds what `GET /me` could reach here.

`python -m bench.fast_paths` (also run by `python -m bench`, about 3 minutes). Baselines: the bare Litestar app of
`bench/baseline_app.py` (`GET /plain`, and `POST /jwt`, one EdDSA JWT verified with pyjwt) with as many workers as the
wallet, measured just before and just after each path its ratio is taken against (`bench.fast_baselines`), and the
wallet's own page of 50 papers built in this process over the same data (the rows, the unseal and the
JSON encoding the controller does, without HTTP). The wallet runs as in `bench.foundation`; citizens come from the
real register → outbox → OTP flow, the officer from the `congdanso` CLI and a phone + PIN + OTP login. PostgreSQL is
a throwaway cluster (`tests.postgres.PostgresServer`, durability off). Only HTTP and public names that older commits
also have, so the same module measures them.
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import httpx
import jwt
from litestar.plugins.pydantic import PydanticInitPlugin
from litestar.serialization import encode_json, get_serializer

from bench import concurrent_floors
from bench import floors as floors_module
from bench.fast_baselines import Baselines, baseline_figures, short_load
from bench.foundation import PIN, Citizen, Wallet, check_environment, wallet_server
from bench.harness import REPO_ROOT, LoadResult, RequestFactory, record
from bench.qr import _expect
from bench.wallet_requests import Form

CONCURRENCY = 16
DURATION = 4.0  # seconds of measured load
WARMUP = 1.0  # seconds of unmeasured load before it
WORKERS = (1, 2)
PAPERS = 50  # diplomas without files in the wallet `GET /documents?limit=50` lists
QR_POOL = 20  # fresh QR tokens the officer scans in turn (each valid 5 minutes)
INPROCESS_BATCH = 20  # pages built per timed batch
INPROCESS_ROUNDS = 7  # batches, after one warm-up batch

AGENCY = "BENCH-FAST"
OFFICER_PHONE = "0981234500"
OFFICER_E164 = "+84981234500"


def _measured(name: str, target: str | RequestFactory, **request: Any) -> LoadResult:
    """`CONCURRENCY` keep-alive connections, `WARMUP` s unmeasured, then `DURATION` s; a failed request stops it."""
    return short_load(name, target, duration=DURATION, warmup=WARMUP, **request)


def documents_inprocess(data_dir: Path, database_url: str | None, citizen_id: str, over_http: Any) -> float:
    """Pages/s on one thread of what `GET /documents?limit=50` does past HTTP: one read transaction, the wallet
    service's page (rows, citizen key unwrap, unseal of every paper), the page model, and its JSON as Litestar encodes
    a handler's answer. Checked equal to the answer `over_http` first."""
    from api.container import build_container  # the server's own wiring, over the same data
    from api.settings import Settings
    from storage.db import read_only, transaction
    from wallet.schemas import DocumentPage
    from wallet.service import WalletService

    settings = Settings(data_dir=data_dir, env="dev", database_url=database_url, log_level="warning")
    container = build_container(settings)
    serializer = get_serializer(PydanticInitPlugin.encoders())

    def page() -> bytes:
        with transaction(read_only(container.engine)) as session:
            items, cursor = WalletService(session, container.wallet).page(
                citizen_id, type_code=None, limit=PAPERS, cursor=None
            )
        return encode_json(DocumentPage(items=items, next_cursor=cursor), serializer=serializer)

    try:
        if json.loads(page()) != over_http:
            raise RuntimeError("the in-process page differs from the answer of GET /documents")
        rounds: list[float] = []
        for n in range(1 + INPROCESS_ROUNDS):
            started = time.perf_counter()
            for _ in range(INPROCESS_BATCH):
                page()
            if n:
                rounds.append(INPROCESS_BATCH / (time.perf_counter() - started))
    finally:
        asyncio.run(container.aclose())
    rate = statistics.median(rounds)
    print(f"  in-process page of {PAPERS}: {rate:.0f}/s", flush=True)
    return rate


# -- the people ------------------------------------------------------------------------------------------------------


def _congdanso(data_dir: Path, database_url: str | None, *args: str) -> None:
    """The operator's CLI on the benchmark's data (and database)."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "WALLET_ENV": "dev",
        "WALLET_DATA_DIR": str(data_dir),
        "WALLET_LOG_LEVEL": "warning",
    }
    if database_url is not None:
        env["WALLET_DATABASE_URL"] = database_url
    command = [sys.executable, "-m", "api.cli", *args]  # this tree's CLI, whatever the venv has installed
    done = subprocess.run(command, cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=120, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"congdanso {' '.join(args)} failed: {done.stderr}")


class People:
    """A citizen (`/me`, `/me/qr`, the QR the officer scans), a citizen holding `PAPERS` diplomas, and an officer."""

    def __init__(self, wallet: Wallet, client: httpx.Client, data_dir: Path, database_url: str | None) -> None:
        self.client = client
        self.citizen = wallet.sign_up(client, Citizen(1))
        self.holder = wallet.sign_up(client, Citizen(2))
        for n in range(PAPERS):
            form = Form.diploma(100 + n, filename=None)
            response = client.post(
                f"{wallet.api}/documents", content=form.head + form.tail, headers=form.headers(self.holder, 0)
            )
            _expect(response, 201)
        _congdanso(data_dir, database_url, "agency", "create", "--code", AGENCY, "--name", "Một cửa (bench)", "--json")
        officer = ["--phone", OFFICER_PHONE, "--name", "Cán bộ Bench", "--agency", AGENCY, "--pin", PIN, "--json"]
        _congdanso(data_dir, database_url, "officer", "create", *officer)
        challenge = _expect(client.post(f"{wallet.api}/auth/login", json={"phone": OFFICER_PHONE, "pin": PIN}), 202)
        verify = {"challenge_id": challenge["challenge_id"], "code": wallet.outbox.code_for(OFFICER_E164)}
        self.officer: str = _expect(client.post(f"{wallet.api}/auth/otp/verify", json=verify), 200)["access_token"]

    def auth(self, token: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {token}"}

    def documents(self, wallet: Wallet) -> Any:
        """The holder's first page, checked to hold every paper."""
        url = f"{wallet.api}/documents?limit={PAPERS}"
        page = _expect(self.client.get(url, headers=self.auth(self.holder)), 200)
        if len(page["items"]) != PAPERS or page["next_cursor"] is not None:
            raise RuntimeError(f"the wallet lists {len(page['items'])} papers, not {PAPERS} on one page")
        return page

    def qr_tokens(self, wallet: Wallet) -> list[str]:
        return [
            _expect(self.client.get(f"{wallet.api}/me/qr", headers=self.auth(self.citizen)), 200)["token"]
            for _ in range(QR_POOL)
        ]

    def check_scan(self, wallet: Wallet, qr: str) -> None:
        scan = self.client.post(f"{wallet.api}/verify/qr", json={"token": qr}, headers=self.auth(self.officer))
        if _expect(scan, 200).get("valid") is not True:
            raise RuntimeError(f"the officer's scan of a fresh QR token answered {scan.text}")


# -- the wallet under load -------------------------------------------------------------------------------------------


def wallet_loads(
    wallet: Wallet, people: People, kind: str, workers: int, *, baselines: Baselines, inprocess: float
) -> dict[str, float]:
    """The four paths on one server; each ratio against the bare app with as many workers measured around it
    (`Baselines.around`), and the page against the in-process page."""
    prefix = f"fast.{kind}.{workers}w"
    me_auth = people.auth(people.citizen)
    jwks_url = f"{wallet.server.base_url}/.well-known/jwks.json"
    floor, floor_bare = baselines.around(
        workers, "get", lambda: _measured(f"{prefix} GET /.well-known/jwks.json", jwks_url)
    )
    me, me_bare = baselines.around(
        workers, "get", lambda: _measured(f"{prefix} GET /me", f"{wallet.api}/me", headers=me_auth)
    )
    people.documents(wallet)
    documents = _measured(
        f"{prefix} GET /documents", f"{wallet.api}/documents?limit={PAPERS}", headers=people.auth(people.holder)
    )
    tokens = people.qr_tokens(wallet)
    people.check_scan(wallet, tokens[0])
    url, officer = f"{wallet.api}/verify/qr", people.auth(people.officer)
    scans = [httpx.Request("POST", url, json={"token": token}, headers=officer) for token in tokens]
    verify, verify_bare = baselines.around(
        workers, "post", lambda: _measured(f"{prefix} POST /verify/qr", lambda n: scans[n % len(scans)])
    )
    people.check_scan(wallet, tokens[-1])  # still valid at the end: the load measured real verifications
    me_qr = _measured(f"{prefix} GET /me/qr", f"{wallet.api}/me/qr", headers=me_auth)
    return {
        f"{prefix}.wallet_floor_rps": floor.rps,
        f"{prefix}.wallet_floor_bare_rps": floor_bare,
        f"{prefix}.wallet_floor_vs_bare": floor.rps / floor_bare,
        f"{prefix}.me_vs_wallet_floor": me.rps / floor.rps,
        f"{prefix}.me_rps": me.rps,
        f"{prefix}.me_p50_ms": me.p50_ms,
        f"{prefix}.me_p99_ms": me.p99_ms,
        f"{prefix}.me_bare_rps": me_bare,
        f"{prefix}.me_vs_bare": me.rps / me_bare,
        f"{prefix}.documents_rps": documents.rps,
        f"{prefix}.documents_p99_ms": documents.p99_ms,
        f"{prefix}.documents_vs_inprocess": documents.rps / inprocess,
        f"{prefix}.verify_qr_rps": verify.rps,
        f"{prefix}.verify_qr_p99_ms": verify.p99_ms,
        f"{prefix}.verify_qr_bare_rps": verify_bare,
        f"{prefix}.verify_qr_vs_bare_post_jwt": verify.rps / verify_bare,
        f"{prefix}.me_qr_rps": me_qr.rps,
        f"{prefix}.me_qr_p99_ms": me_qr.p99_ms,
    }


@contextmanager
def database(kind: str) -> Iterator[str | None]:
    """None for the default SQLite file of the data directory, else a fresh database on a throwaway PostgreSQL."""
    if kind == "sqlite":
        yield None
        return
    from tests.postgres import PostgresServer  # the tests' throwaway cluster; needs Debian's postgresql

    with PostgresServer() as server:
        yield server.create_database("bench_fast")


def postgres_available() -> bool:
    try:
        from tests.postgres import find_bindir

        find_bindir()
    except (ImportError, RuntimeError) as exc:
        print(f"fast_paths: PostgreSQL skipped: {exc}")
        return False
    return True


def measure_database(kind: str, baselines: Baselines, bare: dict[str, float]) -> dict[str, float]:
    figures: dict[str, float] = {}
    with database(kind) as url, tempfile.TemporaryDirectory(prefix=f"bench-fast-{kind}-") as tmp:
        data_dir = Path(tmp)
        with httpx.Client(timeout=60.0, trust_env=False) as client:
            for workers in WORKERS:
                with wallet_server(data_dir=data_dir, workers=workers, database_url=url) as wallet:
                    if workers == WORKERS[0]:
                        print(f"fast_paths: {kind}: people, {PAPERS} papers, the in-process page", flush=True)
                        people = People(wallet, client, data_dir, url)
                        holder_id = str(jwt.decode(people.holder, options={"verify_signature": False})["sub"])
                        inprocess = documents_inprocess(data_dir, url, holder_id, people.documents(wallet))
                        figures[f"fast.{kind}.documents_inprocess_per_s"] = inprocess
                    print(f"fast_paths: {kind}, {workers} worker(s), {CONCURRENCY} connections", flush=True)
                    figures |= wallet_loads(wallet, people, kind, workers, baselines=baselines, inprocess=inprocess)
        print(f"fast_paths: {kind}: the floors in process", flush=True)
        floors = floors_module.measure(kind, url)
        if kind == "postgres":
            print("fast_paths: postgres: the paths' pieces in two processes at once", flush=True)
            floors |= concurrent_floors.measure(str(url))
    return (
        figures
        | {f"fast.floor.{name}": value for name, value in floors.items()}
        | path_floors(kind, figures, floors, bare)
    )


def path_floors(
    kind: str, figures: dict[str, float], floors: dict[str, float], bare: dict[str, float]
) -> dict[str, float]:
    """With one worker, the best `GET /me` and `POST /verify/qr` could do on this stack: the wallet's own floor under
    the same load plus, in process, what each cannot skip — for `GET /me` the token's Ed25519 check, the reads of two
    rows (login, profile) in one Core read transaction (as a reading unit makes them, on its connection) and the
    profile's AES-GCM open; for a scan two Ed25519 checks (officer's token, QR), the same reads and its share of a
    writing transaction of 16 scans' two rows each (scans are written in batches, at most 16 at 16 connections). On
    PostgreSQL the reads are made from worker threads (the check, the read, the end: one hop each). Optimistic
    bounds: a path's ratio can come near its floor, never above it."""
    prefix = f"fast.{kind}.1w"
    stack = stack_floors(kind, figures, bare) if kind == "sqlite" else {}
    floor_us = 1e6 / figures[f"{prefix}.wallet_floor_rps"]
    hops = 3 * floors["thread_hop_us"] if kind == "postgres" else 0.0
    read = floors[f"{kind}_core_two_reads_txn_us"] + floors["aes_gcm_open_300b_us"]
    me_us = floor_us + floors["ed25519_verify_us"] + read + hops
    write = floors[f"{kind}_core_write_batch16_txn_us"] / 16
    scan_us = floor_us + 2 * floors["ed25519_verify_us"] + read + write + hops
    two_workers = two_worker_floors(figures, floors) if kind == "postgres" else {}
    return (
        stack
        | two_workers
        | {
            f"{prefix}.me_path_floor_us": me_us,
            f"{prefix}.me_path_floor_vs_bare": 1e6 / me_us / figures[f"{prefix}.wallet_floor_bare_rps"],
            f"{prefix}.verify_qr_path_floor_us": scan_us,
            f"{prefix}.verify_qr_path_floor_vs_bare_post_jwt": 1e6 / scan_us / figures[f"{prefix}.verify_qr_bare_rps"],
        }
    )


def two_worker_floors(figures: dict[str, float], floors: dict[str, float]) -> dict[str, float]:
    """On PostgreSQL with two workers, the best `GET /me` and `POST /verify/qr` could do: this machine's time a
    request of the wallet's own floor under the two-worker load (1 / its rate, both cores busy) plus that of the
    path's pieces run by two processes at once (`bench.concurrent_floors`, the PostgreSQL server's work included).
    Doubling the one-worker floor instead would count the database server's CPU as free."""
    prefix = "fast.postgres.2w"
    floor_us = 1e6 / figures[f"{prefix}.wallet_floor_rps"]
    me_us = floor_us + 1e6 / floors["postgres_2proc_me_per_s"]
    scan_us = floor_us + 1e6 / floors["postgres_2proc_scan_per_s"]
    return {
        f"{prefix}.me_path_floor_us": me_us,
        f"{prefix}.me_path_floor_rps": 1e6 / me_us,
        f"{prefix}.me_path_floor_vs_bare": 1e6 / me_us / figures[f"{prefix}.me_bare_rps"],
        f"{prefix}.verify_qr_path_floor_us": scan_us,
        f"{prefix}.verify_qr_path_floor_rps": 1e6 / scan_us,
        f"{prefix}.verify_qr_path_floor_vs_bare_post_jwt": 1e6 / scan_us / figures[f"{prefix}.verify_qr_bare_rps"],
    }


def stack_floors(kind: str, figures: dict[str, float], bare: dict[str, float]) -> dict[str, float]:
    """For each worker count, `GET /me` at the stack's floor (`bench.stack_floor_app`, no middleware) plus what the
    wallet's middleware and guard cost every route (its own floor's time a request less the bare app's): the best
    `GET /me` could do here if the service's own work cost nothing beyond what the floor app does. Each part is taken
    in bare requests' time from its own ratio (measured between bare loads), so their sum does not carry the drift
    between the moments they were measured."""
    bounds: dict[str, float] = {}
    for workers in WORKERS:
        prefix, w = f"fast.{kind}.{workers}w", f"{workers}w"
        floor_app = 1 / bare[f"fast.stack_floor_me_vs_bare_{w}"]  # in bare requests
        middleware = 1 / figures[f"{prefix}.wallet_floor_vs_bare"] - 1
        bounds[f"{prefix}.me_stack_floor_us"] = (floor_app + middleware) * 1e6 / figures[f"{prefix}.me_bare_rps"]
        bounds[f"{prefix}.me_stack_floor_vs_bare"] = 1 / (floor_app + middleware)
    return bounds


def main() -> None:
    check_environment()
    print(f"fast_paths: {os.cpu_count()} CPUs, load average {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    with ExitStack() as stack:
        baselines = Baselines(stack, WORKERS)
        bare: dict[str, float] = {}
        for workers in WORKERS:
            bare |= baseline_figures(baselines, workers, duration=DURATION, warmup=WARMUP)
        record(bare)
        kinds = ["sqlite", *(["postgres"] if postgres_available() else [])]
        for kind in kinds:
            figures = measure_database(kind, baselines, bare)
            if kind == "sqlite":  # the name the goals use; the same figure as fast.sqlite.documents_inprocess_per_s
                figures["fast.documents_inprocess_per_s"] = figures["fast.sqlite.documents_inprocess_per_s"]
            record(figures)


if __name__ == "__main__":
    main()
