"""`audit verify` over an access log of millions of entries on the seeded stack (`make bench-scale`'s `audit` part).

The log is extended in bulk, continuing the chain the service left: each slice of `SLICE` entries is one transaction
that takes the service's chain lock, chains what the service appended meanwhile (`audit.appends.link_pending`),
reads the head, and writes the entries after it with their links computed by the service's own hasher
(`audit.chain.ChainHasher`, as `link_pending` computes them) and a checkpoint signed with the stack's current key
(`audit.checkpoints.sign_checkpoint`) every `CHECKPOINT_EVERY`; rows go in by COPY on PostgreSQL
(`seed.write.insert_rows`). Memory stays that of one slice. Then `congdanso audit verify` runs as an operator runs
it, on the stack's data folder, timed with its peak RSS (`bench.audit.run_verify`): once after a tenth of the
entries and once after all, so a memory that grows with the log shows.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Engine
from sqlmodel import col

from api.settings import Settings
from audit.appends import link_pending
from audit.chain import ROW_COLUMNS, ChainHasher, ChainHead, micros_since_epoch
from audit.checkpoints import sign_checkpoint
from audit.models import AccessLogEntry, AuditCheckpoint
from audit.repository import AuditRepository
from bench.audit import run_verify
from crypto.keyring import SigningKey, load_keyring
from identity.models import Citizen
from seed.write import insert_rows
from storage.db import create_db_engine, transaction
from storage.types import new_id

AUDIT_ENTRIES = int(os.environ.get("BENCH_SCALE_AUDIT_ENTRIES", "10000000"))
SLICE = 100_000  # entries a transaction
COPY_ROWS = 10_000  # rows handed to one COPY
CHECKPOINT_EVERY = 1_000
SPAN = timedelta(days=30)  # the entries' times spread over the month before the run
ACTORS = (
    ("agency", "BENCH-SCALE-CA", "Công an thành phố Đà Nẵng", "consent_pull", "Cấp hộ chiếu phổ thông", None),
    ("officer", "BENCH-SCALE-QUAY", "Bộ phận một cửa", "qr_scan", None, "Trần Thị Bình"),
)
_ENTRIES: sa.Table = AccessLogEntry.__table__  # type: ignore[attr-defined]
_CHECKPOINTS: sa.Table = AuditCheckpoint.__table__  # type: ignore[attr-defined]


def _citizens(engine: Engine, count: int = 1_000) -> list[str]:
    with engine.connect() as connection:
        ids = list(connection.execute(sa.select(col(Citizen.id)).limit(count)).scalars())
    return ids or [new_id()]


def _rows(head: ChainHead, count: int, *, citizens: list[str], start: datetime) -> Iterator[dict[str, Any]]:
    """`count` entries after `head`, linked as the service links them (`ROW_COLUMNS` plus their links)."""
    hasher, seq, prev = ChainHasher(), head.seq, head.entry_hash
    step = SPAN / max(count, 1)
    for k in range(count):
        seq += 1
        actor_type, code, name, action, purpose, person = ACTORS[seq % 3 == 0]
        pulled = action == "consent_pull"
        at = start + step * k
        row = (seq, at, new_id(), citizens[seq % len(citizens)], actor_type, code, name, action,
               new_id() if pulled else None, new_id() if pulled else None, purpose, person)  # fmt: skip
        digest = hasher.row_hash(row, micros_since_epoch(at), prev)
        yield dict(zip(ROW_COLUMNS, row, strict=True)) | {"prev_hash": prev, "entry_hash": digest}
        prev = digest


def extend_chain(engine: Engine, key: SigningKey, count: int, *, start: datetime) -> ChainHead:
    """Append `count` chained entries (and their checkpoints) after whatever the log holds; returns the new head."""
    citizens, head = _citizens(engine), ChainHead(0, "")
    for first in range(0, count, SLICE):
        with transaction(engine) as session:
            repo = AuditRepository(session)
            repo.lock_chain()
            link_pending(repo)
            head = repo.head()
            size = min(SLICE, count - first)
            entries, checkpoints, last = [], [], head.entry_hash
            for row in _rows(head, size, citizens=citizens, start=start + SPAN * (first / count)):
                entries.append(row)
                last = row["entry_hash"]
                if row["seq"] % CHECKPOINT_EVERY == 0:
                    checkpoints.append(_checkpoint(key, row["seq"], row["entry_hash"]))
                if len(entries) == COPY_ROWS:
                    insert_rows(session.connection(), _ENTRIES, entries)
                    entries = []
            insert_rows(session.connection(), _ENTRIES, entries)
            insert_rows(session.connection(), _CHECKPOINTS, checkpoints)
            head = ChainHead(head.seq + size, last)
    return head


def _checkpoint(key: SigningKey, seq: int, digest: str) -> dict[str, Any]:
    at = datetime.now(UTC)
    token = sign_checkpoint(key, seq=seq, entry_hash=digest, at=at)
    return {"seq": seq, "entry_hash": digest, "at": at, "kid": key.kid, "signature": token}


def audit_at_scale(data_dir: Path, entries: int) -> dict[str, float]:
    """Extend the stack's log by `entries` in two steps (a tenth, then the rest), `audit verify` after each."""
    settings = Settings(data_dir=data_dir)
    key = load_keyring(settings.resolved_keyring_file).current_signing_key(datetime.now(UTC))
    engine = create_db_engine(settings.resolved_database_url, pool_size=1)
    figures: dict[str, float] = {}
    start = datetime.now(UTC) - SPAN
    try:
        for label, count in (("tenth", entries // 10), ("all", entries - entries // 10)):
            began = time.perf_counter()
            head = extend_chain(engine, key, count, start=start)
            written = time.perf_counter() - began
            run = run_verify(data_dir)
            if not run.report.get("ok") or int(run.report.get("entries", 0)) < head.seq:
                raise RuntimeError(f"audit verify of {head.seq:,} entries answered {run.report}")
            print(f"scale: access log of {head.seq:,} entries (+{count:,} in {written:.0f} s): verified in "
                  f"{run.seconds:.1f} s, peak RSS {run.peak_rss_mb:.0f} MiB", flush=True)  # fmt: skip
            figures |= {
                f"scale.audit_verify_{label}_entries": float(head.seq),
                f"scale.audit_verify_{label}_seconds": run.seconds,
                f"scale.audit_verify_{label}_entries_per_s": head.seq / run.seconds,
                f"scale.audit_verify_{label}_peak_rss_mb": run.peak_rss_mb,
                f"scale.audit_seed_{label}_entries_per_s": count / written,
            }
    finally:
        engine.dispose()
    # The two runs' difference: the rate of verification itself, without the command's start (the import of the
    # service and a connection), which dominates a small log.
    extra = figures["scale.audit_verify_all_entries"] - figures["scale.audit_verify_tenth_entries"]
    spent = figures["scale.audit_verify_all_seconds"] - figures["scale.audit_verify_tenth_seconds"]
    if spent > 0:  # on a small log the two runs' noise can outweigh the difference: no figure then
        figures["scale.audit_verify_marginal_entries_per_s"] = extra / spent
    return figures
