"""Flame graphs of the hot paths under load: where a request's time goes, before anything is made faster.

`python -m bench.profile [PATH ...]` (`make profile`; every path when none is named, `--list` names them). Each
path runs as in its benchmark, on this machine's loopback: the wallet as a real server (`bench.foundation`,
1 uvicorn worker, SQLite), citizens and an officer through the real flows, a warm-up, then `PROFILE_SECONDS`
(default 10) of load while py-spy samples the server process (`bench.flames.recording`). The audit appends run
in a child process on a throwaway PostgreSQL; `congdanso audit verify` runs under py-spy from start to end over a
chain of `PROFILE_AUDIT_ENTRIES` (default 100,000). Each writes `profiles/<path>.svg` (git-ignored) and prints the
15 functions that took the most time themselves, also kept beside the SVG as `<path>.txt`.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import httpx

from api.cli import migrate
from api.settings import Settings
from audit.service import AuditService
from bench import flames
from bench.assurance import issuer_token
from bench.audit import ACTOR, PURPOSE, build_chain
from bench.foundation import Citizen, Wallet, check_environment, wallet_server
from bench.harness import REPO_ROOT, RequestFactory, load
from bench.peers import CITIZENS as ISSUE_CITIZENS
from bench.peers import issue_request
from bench.qr import fresh_qr, officer_token, proof_at_counter
from bench.wallet import FILE_BYTES
from bench.wallet_requests import Api, Form, pdf_bytes
from crypto.clock import SystemClock
from storage.db import create_db_engine, transaction
from storage.types import new_id

PROFILE_DIR = REPO_ROOT / "profiles"
SECONDS = float(os.environ.get("PROFILE_SECONDS", "10"))
AUDIT_ENTRIES = int(os.environ.get("PROFILE_AUDIT_ENTRIES", "100000"))
WARMUP = 1.0  # seconds of unprofiled load first: connections open, caches and lazy imports filled
SLACK = 1.0  # load keeps going this long after py-spy's sampling window, which starts once it has attached
MAX_REQUESTS = 10_000_000  # the duration bounds each load
CONCURRENCY = 16  # as in bench.foundation and bench.qr
DOWNLOAD_CONCURRENCY = 2  # 10 MiB answers: two keep a core busy
WALLET_PAPERS = 50
QR_POOL = 20  # distinct QR tokens the officer scans in turn (each valid 5 minutes)
APPEND_THREADS = 4  # as in bench.audit
ISSUE_AGENCY = "BENCH-PROFILE"


@dataclass
class Run:
    out: Path
    seconds: float
    rate: int
    summaries: list[str] = field(default_factory=list)

    def svg(self, name: str) -> Path:
        return self.out / f"{name}.svg"

    def report(self, name: str) -> None:
        text = flames.summary(name, self.svg(name))
        self.out.joinpath(f"{name}.txt").write_text(text + "\n")
        self.summaries.append(text)
        print(text, flush=True)


class Counter:
    """One wallet server and the people the HTTP paths need, each made the first time a path asks for it."""

    def __init__(self, stack: ExitStack) -> None:
        self.data_dir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-profile-")))
        # the issuing path issues thousands of papers: measure it, not the cap on a wallet's papers
        extra = {"WALLET_MAX_DOCUMENTS": "1000000"}
        self.wallet: Wallet = stack.enter_context(wallet_server(extra, data_dir=self.data_dir))
        self.client = stack.enter_context(httpx.Client(timeout=120.0, trust_env=False))

    @cached_property
    def citizen(self) -> Api:
        return Api(self.client, self.wallet.api, self.wallet.sign_up(self.client, Citizen(1)))

    @cached_property
    def officer(self) -> str:
        return officer_token(self.wallet, self.client, self.data_dir)

    @cached_property
    def papers(self) -> Api:
        """A citizen whose wallet holds `WALLET_PAPERS` diplomas (no files)."""
        api = Api(self.client, self.wallet.api, self.wallet.sign_up(self.client, Citizen(2)))
        for n in range(WALLET_PAPERS):
            form = Form.diploma(100 + n, filename=None)
            _create(api, form)
        return api

    def under_load(self, run: Run, name: str, target: str | RequestFactory, concurrency: int, **request: Any) -> None:
        """Warm-up, then `run.seconds` of load while py-spy samples the server."""
        asyncio.run(load(target, concurrency=concurrency, duration=WARMUP, max_requests=MAX_REQUESTS, **request))
        with flames.recording(self.wallet.server.pid, run.svg(name), run.seconds, rate=run.rate):
            result = asyncio.run(
                load(
                    target, concurrency=concurrency, duration=run.seconds + SLACK, max_requests=MAX_REQUESTS, **request
                )
            )
        print(f"{name}: {result}", flush=True)
        if result.errors:
            raise RuntimeError(f"{name}: {result.errors} of {result.requests} requests failed")

    @cached_property
    def agency(self) -> tuple[str, list[str]]:
        """An issuing agency's token and the national IDs of `ISSUE_CITIZENS` citizens at identity level 2."""
        citizens = [Citizen(500 + n) for n in range(ISSUE_CITIZENS)]
        for citizen in citizens:
            proof_at_counter(self.wallet, self.client, self.officer, self.wallet.sign_up(self.client, citizen))
        token = issuer_token(self.wallet, self.client, self.data_dir, code=ISSUE_AGENCY)
        return token, [citizen.national_id for citizen in citizens]


def _create(api: Api, form: Form) -> None:
    response = api.client.post(
        f"{api.base}/documents", content=form.head + form.tail, headers=form.headers(api.token, 0)
    )
    if response.status_code != 201:
        raise RuntimeError(f"creating a paper answered {response.status_code}: {response.text}")


# -- the HTTP paths --------------------------------------------------------------------------------------------------


def profile_me(counter: Counter, run: Run) -> None:
    counter.under_load(run, "me", f"{counter.wallet.api}/me", CONCURRENCY, headers=counter.citizen.auth)


def profile_documents(counter: Counter, run: Run) -> None:
    api = counter.papers
    url = f"{api.base}/documents?limit={WALLET_PAPERS}"
    counter.under_load(run, "documents", url, CONCURRENCY, headers=api.auth)


def profile_verify_qr(counter: Counter, run: Run) -> None:
    url, auth = f"{counter.wallet.api}/verify/qr", {"Authorization": f"Bearer {counter.officer}"}
    tokens = [fresh_qr(counter.wallet, counter.client, counter.citizen.token) for _ in range(QR_POOL)]
    scans = [httpx.Request("POST", url, json={"token": token}, headers=auth) for token in tokens]
    counter.under_load(run, "verify_qr", lambda n: scans[n % len(scans)], CONCURRENCY)


def profile_me_qr(counter: Counter, run: Run) -> None:
    counter.under_load(run, "me_qr", f"{counter.wallet.api}/me/qr", CONCURRENCY, headers=counter.citizen.auth)


def profile_issue(counter: Counter, run: Run) -> None:
    """`POST /issuer/documents` as `bench.peers` loads it: signed papers to several citizens in turn."""
    agency, national_ids = counter.agency
    issues = [issue_request(counter.wallet, agency, national_id) for national_id in national_ids]
    counter.under_load(run, "issue", lambda n: issues[n % len(issues)], CONCURRENCY)


def profile_download(counter: Counter, run: Run) -> None:
    api = counter.citizen
    data = pdf_bytes(FILE_BYTES, random.Random("profile"))
    form = Form.diploma(1, filename="scan.pdf")
    document_id, file_id = api.upload(form, form.head + data + form.tail, len(data))
    url = f"{api.base}/documents/{document_id}/files/{file_id}"
    counter.under_load(run, "download", url, DOWNLOAD_CONCURRENCY, headers=api.auth)


def profile_upload(counter: Counter, run: Run) -> None:
    """`DOWNLOAD_CONCURRENCY` clients each uploading a 10 MiB scan and deleting its paper, in turn (the deletes keep
    the citizen under the storage quota; they are a small share of the samples)."""
    api = counter.citizen
    data = pdf_bytes(FILE_BYTES, random.Random("profile-upload"))
    form = Form.diploma(1, filename="scan.pdf")
    body = form.head + data + form.tail

    def uploading(seconds: float) -> None:
        deadline = time.monotonic() + seconds
        with httpx.Client(timeout=120.0, trust_env=False) as client:
            mine = Api(client, api.base, api.token)
            while time.monotonic() < deadline:
                document_id, _ = mine.upload(form, body, len(data))
                mine.delete(document_id)

    def under_load(seconds: float) -> None:
        threads = [threading.Thread(target=uploading, args=(seconds,)) for _ in range(DOWNLOAD_CONCURRENCY)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    under_load(WARMUP)
    started = time.perf_counter()
    with flames.recording(counter.wallet.server.pid, run.svg("upload"), run.seconds, rate=run.rate):
        under_load(run.seconds + SLACK)
    print(f"upload: {DOWNLOAD_CONCURRENCY} clients for {time.perf_counter() - started:.1f} s", flush=True)


HTTP_PATHS: dict[str, Callable[[Counter, Run], None]] = {
    "me": profile_me,
    "documents": profile_documents,
    "verify_qr": profile_verify_qr,
    "me_qr": profile_me_qr,
    "issue": profile_issue,
    "download": profile_download,
    "upload": profile_upload,
}


# -- the audit log ---------------------------------------------------------------------------------------------------


def append_for(database_url: str, seconds: float) -> None:
    """`APPEND_THREADS` threads appending to the access log for `seconds`, one transaction per entry as a request
    does (the child process `profile_audit_appends` samples). Prints `ready` once imports and the first append are
    done, so the profile leaves them out."""
    engine = create_db_engine(database_url)
    clock = SystemClock()

    def append() -> None:
        with transaction(engine) as session:
            AuditService(session, clock).record(new_id(), ACTOR, "consent_pull", document_id=new_id(), purpose=PURPOSE)

    append()
    print("ready", flush=True)
    deadline = time.monotonic() + seconds

    def worker() -> None:
        while time.monotonic() < deadline:
            append()

    threads = [threading.Thread(target=worker) for _ in range(APPEND_THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    engine.dispose()


def profile_audit_appends(run: Run) -> None:
    from tests.postgres import PostgresServer  # the benchmarks' throwaway server; needs Debian's postgresql

    with PostgresServer() as server, tempfile.TemporaryDirectory(prefix="bench-profile-pg-") as data_dir:
        url = server.create_database("bench_profile")
        migrate(Settings(data_dir=Path(data_dir), database_url=url, env="dev", log_level="warning"))
        lasting = WARMUP + run.seconds + SLACK
        child = subprocess.Popen(
            [sys.executable, "-m", "bench.profile", "--append-for", url, str(lasting)],
            cwd=REPO_ROOT,
            stdout=subprocess.PIPE,
            text=True,
        )
        try:
            assert child.stdout is not None
            if child.stdout.readline().strip() != "ready":
                raise RuntimeError("the appending process stopped before its first append")
            time.sleep(WARMUP)
            with flames.recording(child.pid, run.svg("audit_appends"), run.seconds, rate=run.rate):
                pass  # the child appends meanwhile
        finally:
            if child.wait(timeout=lasting + 60) != 0:
                raise RuntimeError(f"the appending process exited {child.returncode}")


def profile_audit_verify(run: Run) -> None:
    with tempfile.TemporaryDirectory(prefix="bench-profile-audit-") as data_dir:
        settings = Settings(data_dir=Path(data_dir), env="dev", log_level="warning")
        migrate(settings)
        built = build_chain(settings, AUDIT_ENTRIES)
        print(f"audit_verify: a chain of {AUDIT_ENTRIES} entries built in {built:.1f} s", flush=True)
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "WALLET_DATA_DIR": data_dir,
            "WALLET_LOG_LEVEL": "warning",
        }
        started = time.perf_counter()
        output = flames.record_command(
            [sys.executable, "-m", "api.cli", "audit", "verify"],
            run.svg("audit_verify"),
            env=env,
            cwd=REPO_ROOT,
            rate=run.rate,
        )
        answer = next((line for line in reversed(output.splitlines()) if line.startswith("{")), "")
        print(f"audit_verify: {answer} in {time.perf_counter() - started:.1f} s", flush=True)
        if '"ok": true' not in answer:
            raise RuntimeError(f"audit verify did not find the chain intact: {output[-2000:]}")


OTHER_PATHS: dict[str, Callable[[Run], None]] = {
    "audit_appends": profile_audit_appends,
    "audit_verify": profile_audit_verify,
}
PATHS = [*HTTP_PATHS, *OTHER_PATHS]


def profile(paths: list[str], run: Run) -> None:
    run.out.mkdir(parents=True, exist_ok=True)
    with ExitStack() as stack:
        counter: Counter | None = None
        for name in (p for p in paths if p in HTTP_PATHS):
            print(f"== {name}: {run.seconds:g} s of load after {WARMUP:g} s of warm-up", flush=True)
            counter = counter or Counter(stack)
            HTTP_PATHS[name](counter, run)
            run.report(name)
    for name in (p for p in paths if p in OTHER_PATHS):
        print(f"== {name}", flush=True)
        OTHER_PATHS[name](run)
        run.report(name)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.profile", description=__doc__.splitlines()[0])
    parser.add_argument("paths", nargs="*", metavar="PATH", help=f"any of {', '.join(PATHS)} (default: all)")
    parser.add_argument("--seconds", type=float, default=SECONDS, help="profiled load per path (PROFILE_SECONDS)")
    parser.add_argument("--rate", type=int, default=flames.RATE, help="py-spy samples a second")
    parser.add_argument("--out", type=Path, default=PROFILE_DIR, help="folder of the SVGs (default profiles/)")
    parser.add_argument("--list", action="store_true", help="name the paths and stop")
    parser.add_argument("--append-for", nargs=2, metavar=("URL", "SECONDS"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.append_for:
        append_for(args.append_for[0], float(args.append_for[1]))
        return
    if args.list:
        print("\n".join(PATHS))
        return
    unknown = sorted(set(args.paths) - set(PATHS))
    if unknown:
        parser.error(f"unknown path {', '.join(unknown)}; any of {', '.join(PATHS)}")
    check_environment()
    run = Run(args.out.resolve(), args.seconds, args.rate)
    started = time.perf_counter()
    profile(args.paths or PATHS, run)
    print(f"profiles written to {run.out} in {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
