"""The tamper-evident access log: appends per second through `AuditService.record`, and `congdanso audit verify` over
a chain of 1 million entries.

`python -m bench.audit` (also run by `python -m bench`, about 1 minute). Appends run in this process on a migrated
temporary database, one append per committed transaction as a request makes it: SQLite (the default deployment),
then a throwaway PostgreSQL server (`tests.postgres.PostgresServer`, durability off) when its binaries are installed;
the same row inserted without the chain (no lock, no head read, no hash) on SQLite is the reference. The 1M-entry
chain is bulk-inserted with hashes from the production encoder (`audit.chain.entry_hash`) and a signed checkpoint
(`audit.checkpoints.sign_checkpoint`) every `CHECKPOINT_EVERY` entries; then the real CLI verifies it, timed from
the outside, its peak memory read from the kernel (`wait4`), after a 100k-entry run for comparison.
"""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, insert
from sqlmodel import Session

from api.cli import migrate
from api.settings import Settings
from audit.chain import GENESIS_HASH, entry_hash
from audit.checkpoints import CheckpointVerifier, sign_checkpoint
from audit.models import AccessLogEntry, AuditCheckpoint
from audit.service import Actor, AuditService
from audit.verification import verify_log
from bench.harness import CLI, REPO_ROOT, record
from crypto.clock import SystemClock
from crypto.keyring import load_or_create_keyring
from storage.db import create_db_engine, transaction
from storage.types import new_id

chain_committed: Callable[[Engine], int] | None
try:  # chaining in batches after the commit (PostgreSQL); absent where each append chains itself
    from audit.appends import CHAIN_INTERVAL_SECONDS
    from audit.appends import chain_committed as _chain_committed

    chain_committed = _chain_committed
except ImportError:
    CHAIN_INTERVAL_SECONDS, chain_committed = 0.0, None

APPEND_SECONDS = 3.0  # measured appends per configuration, after APPEND_WARMUP seconds
APPEND_WARMUP = 0.5
THREADS = 4
VERIFY_ENTRIES = 1_000_000
CHECKPOINT_EVERY = 1_000  # a checkpoint every 5 minutes is one per 1000 entries at 3.3 appends/s
INSERT_BATCH = 20_000
ACTOR = Actor("officer", "CA-DN", "Công an thành phố Đà Nẵng")
PURPOSE = "Đăng ký thường trú"
_UNCHAINED = itertools.count(1)
START = datetime(2026, 1, 1, tzinfo=UTC)


def _settings(data_dir: Path, database_url: str | None = None) -> Settings:
    return Settings(data_dir=data_dir, database_url=database_url, env="dev", log_level="warning")


# -- appends ---------------------------------------------------------------------------------------------------------


def _append(session: Session, clock: SystemClock) -> None:
    AuditService(session, clock).record(new_id(), ACTOR, "consent_pull", document_id=new_id(), purpose=PURPOSE)


def _unchained_insert(session: Session, clock: SystemClock) -> None:
    """The same row without the chain (no lock, no head read, no hash), one INSERT as `record` makes it: the
    reference for the chain's cost."""
    seq = -next(_UNCHAINED)  # negative: never meets a chained entry
    row = {
        "id": new_id(),
        "seq": seq,
        "prev_hash": GENESIS_HASH,
        "entry_hash": GENESIS_HASH,
        "citizen_id": new_id(),
        "at": clock.now(),
        "actor_type": ACTOR.type,
        "actor_code": ACTOR.code,
        "actor_name": ACTOR.name,
        "action": "consent_pull",
        "document_id": new_id(),
        "purpose": PURPOSE,
    }
    session.connection().execute(insert(AccessLogEntry.__table__), row)  # type: ignore[attr-defined]


def _appends_per_second(
    engine: Engine, threads: int, append: Callable[[Session, SystemClock], None] = _append
) -> float:
    """`threads` threads appending for APPEND_SECONDS, each append its own transaction; total appends/s."""
    clock = SystemClock()
    stop = threading.Event()
    counts = [0] * threads

    def worker(index: int) -> None:
        while not stop.is_set():
            with transaction(engine) as session:
                append(session, clock)
            counts[index] += 1

    pool = [threading.Thread(target=worker, args=(i,)) for i in range(threads)]
    if append is _append and chain_committed is not None:  # the service's chaining pass runs alongside, as deployed
        pool.append(threading.Thread(target=_chain_every_interval, args=(engine, stop)))
    for thread in pool:
        thread.start()
    time.sleep(APPEND_WARMUP)
    before, started = sum(counts), time.perf_counter()
    time.sleep(APPEND_SECONDS)
    done, seconds = sum(counts) - before, time.perf_counter() - started
    stop.set()
    for thread in pool:
        thread.join()
    return done / seconds


def _chain_every_interval(engine: Engine, stop: threading.Event) -> None:
    """The service's periodic pass (`api.app.run_audit_chain`) where appends are chained after their commit."""
    if chain_committed is None or engine.dialect.name != "postgresql":
        return
    while not stop.wait(CHAIN_INTERVAL_SECONDS):
        chain_committed(engine)
    chain_committed(engine)


def _append_figures(name: str, database_url: str | None, data_dir: Path) -> dict[str, float]:
    settings = _settings(data_dir, database_url)
    migrate(settings)
    engine = create_db_engine(settings.resolved_database_url)
    try:
        one = _appends_per_second(engine, 1)
        many = _appends_per_second(engine, THREADS)
        report = verify_log(engine, CheckpointVerifier({}))  # every append made one chain
    finally:
        engine.dispose()
    if not report.ok or report.to_json().get("pending"):  # absent where appends chain themselves
        raise RuntimeError(f"the appended log does not verify: {report.to_json()}")
    print(f"  {name}: {one:.0f} appends/s from 1 thread, {many:.0f} from {THREADS}")
    return {f"audit_appends_per_s_{name}": one, f"audit_appends_per_s_{name}_{THREADS}threads": many}


def _unchained_figure(data_dir: Path) -> dict[str, float]:
    settings = _settings(data_dir)
    migrate(settings)
    engine = create_db_engine(settings.resolved_database_url)
    try:
        rate = _appends_per_second(engine, 1, _unchained_insert)
    finally:
        engine.dispose()
    print(f"  sqlite, the same row unchained: {rate:.0f} inserts/s from 1 thread")
    return {"audit_unchained_inserts_per_s_sqlite": rate}


def _postgres_figures() -> dict[str, float]:
    try:
        from tests.postgres import PostgresServer, find_bindir

        find_bindir()
    except (ImportError, RuntimeError) as exc:
        print(f"  postgresql skipped: {exc}")
        return {}
    with PostgresServer() as server, tempfile.TemporaryDirectory(prefix="bench-audit-pg-") as data_dir:
        return _append_figures("postgres", server.create_database("bench_audit"), Path(data_dir))


# -- 1M-entry chain --------------------------------------------------------------------------------------------------


@dataclass(slots=True)
class _Entry:
    id: str
    seq: int
    at: datetime
    citizen_id: str
    actor_type: str
    actor_code: str
    actor_name: str
    action: str
    document_id: str | None
    consent_id: str | None
    purpose: str | None
    actor_person: str | None


def _chain(count: int) -> Iterator[tuple[dict[str, Any], str]]:
    """`count` entries as rows, hashed and linked by the production encoder; with each, its entry_hash."""
    prev = GENESIS_HASH
    citizens = [new_id() for _ in range(1000)]
    for seq in range(1, count + 1):
        entry = _Entry(
            new_id(),
            seq,
            START + timedelta(milliseconds=seq * 300),
            citizens[seq % len(citizens)],
            ACTOR.type,
            ACTOR.code,
            ACTOR.name,
            "consent_pull" if seq % 3 else "qr_scan",
            new_id() if seq % 3 else None,
            new_id() if seq % 3 else None,
            "Đăng ký thường trú cho con" if seq % 3 else None,
            None if seq % 3 else "Trần Thị Bình",  # a counter scan names its officer (encoding v2)
        )
        digest = entry_hash(entry, prev)
        row = {name: getattr(entry, name) for name in _Entry.__slots__}
        yield row | {"prev_hash": prev, "entry_hash": digest}, digest
        prev = digest


def build_chain(settings: Settings, count: int) -> float:
    """Insert a valid chain of `count` entries with a checkpoint every CHECKPOINT_EVERY; returns seconds taken."""
    started = time.perf_counter()
    ring, _ = load_or_create_keyring(settings.resolved_keyring_file, now=START)
    key = ring.current_signing_key(START)
    engine = create_db_engine(settings.resolved_database_url, pool_size=1)
    entries_table = AccessLogEntry.__table__  # type: ignore[attr-defined]
    checkpoints_table = AuditCheckpoint.__table__  # type: ignore[attr-defined]
    try:
        with engine.begin() as connection:
            rows: list[dict[str, Any]] = []
            checkpoints: list[dict[str, Any]] = []
            for row, digest in _chain(count):
                rows.append(row)
                if row["seq"] % CHECKPOINT_EVERY == 0:
                    at = row["at"] + timedelta(seconds=1)
                    token = sign_checkpoint(key, seq=row["seq"], entry_hash=digest, at=at)
                    checkpoints.append(
                        {"seq": row["seq"], "entry_hash": digest, "at": at, "kid": key.kid, "signature": token}
                    )
                if len(rows) >= INSERT_BATCH:
                    connection.execute(insert(entries_table), rows)
                    rows = []
            if rows:
                connection.execute(insert(entries_table), rows)
            if checkpoints:
                connection.execute(insert(checkpoints_table), checkpoints)
    finally:
        engine.dispose()
    return time.perf_counter() - started


@dataclass(frozen=True)
class VerifyRun:
    seconds: float
    peak_rss_mb: float
    report: dict[str, Any]


# Linux keeps the peak RSS of the process a child was spawned from as the child's own (`ru_maxrss` survives the
# exec), so a direct child of this process, grown by building the chain, would report this process's size. A small
# launcher spawns the CLI instead and reports the CLI's own wall time and peak RSS (`wait4`) in the file `argv[1]`.
_LAUNCHER = """
import os, subprocess, sys, time
started = time.perf_counter()
child = subprocess.Popen(sys.argv[2:])
_, status, usage = os.wait4(child.pid, 0)
with open(sys.argv[1], "w") as out:
    out.write(f"{time.perf_counter() - started} {usage.ru_maxrss}")
sys.exit(os.waitstatus_to_exitcode(status))
"""


def run_verify(data_dir: Path) -> VerifyRun:
    """`congdanso audit verify` as a child process: wall time, peak RSS (`wait4`) and its JSON report."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "WALLET_DATA_DIR": str(data_dir),
        "WALLET_LOG_LEVEL": "warning",
    }
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err, tempfile.NamedTemporaryFile() as usage:
        command = [sys.executable, "-c", _LAUNCHER, usage.name, *CLI, "audit", "verify"]
        process = subprocess.run(command, cwd=REPO_ROOT, env=env, stdout=out, stderr=err, check=False)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read().decode(), err.read().decode()
        seconds, max_rss_kib = (float(word) for word in Path(usage.name).read_text().split())
    if process.returncode != 0:
        raise RuntimeError(f"congdanso audit verify exited {process.returncode}: {stdout}{stderr}")
    report: dict[str, Any] = json.loads(stdout.strip().splitlines()[-1])
    return VerifyRun(seconds, max_rss_kib / 1024, report)


def _verify_figures(count: int, small: int) -> dict[str, float]:
    """Verify a chain of `small` entries, then of `count`: the time of the big one and both peak memories."""
    figures: dict[str, float] = {}
    for size, label in ((small, "small"), (count, "big")):
        with tempfile.TemporaryDirectory(prefix="bench-audit-") as tmp:
            settings = _settings(Path(tmp))
            migrate(settings)
            built = build_chain(settings, size)
            run = run_verify(Path(tmp))
        expected = {"ok": True, "entries": size, "checkpoints": size // CHECKPOINT_EVERY}
        if {k: run.report.get(k) for k in expected} != expected:
            raise RuntimeError(f"audit verify of {size} entries answered {run.report}")
        timing = f"built in {built:.1f} s, verified in {run.seconds:.1f} s"
        print(f"  {size} entries: {timing}, peak RSS {run.peak_rss_mb:.0f} MiB")
        if label == "big":
            figures |= {
                "audit_verify_1m_seconds": run.seconds,
                "audit_verify_1m_peak_rss_mb": run.peak_rss_mb,
                "audit_chain_build_1m_seconds": built,
            }
        else:
            figures["audit_verify_100k_peak_rss_mb"] = run.peak_rss_mb
    return figures


def main(entries: int = VERIFY_ENTRIES) -> None:
    print(f"audit: appends through AuditService.record, 1 and {THREADS} threads, {APPEND_SECONDS:g} s each")
    figures: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="bench-audit-") as data_dir:
        figures |= _append_figures("sqlite", None, Path(data_dir))
    with tempfile.TemporaryDirectory(prefix="bench-audit-") as data_dir:
        figures |= _unchained_figure(Path(data_dir))
    figures["audit_chained_vs_unchained_ratio"] = (
        figures["audit_appends_per_s_sqlite"] / figures["audit_unchained_inserts_per_s_sqlite"]
    )
    figures |= _postgres_figures()
    print(f"audit: congdanso audit verify over {entries} entries (SQLite), a checkpoint every {CHECKPOINT_EVERY}")
    figures |= _verify_figures(entries, entries // 10)
    record(figures)


if __name__ == "__main__":
    main()
