"""How an entry joins the hash chain.

SQLite: in the transaction that records it. Every writing transaction already holds the database's write lock from
its start (`storage.db`), so reading the head and linking to it costs nothing more.

PostgreSQL: the entry is inserted unchained (no `seq`, `prev_hash` or `entry_hash`) with the request's transaction,
which takes no chain lock and so never waits for another request's commit: holding one lock from the append to the
commit capped appends at a few hundred a second. `chain_committed` then chains every committed entry still unchained,
in (time, id) order, in a short transaction of its own under the chain lock: the service runs it every
CHAIN_INTERVAL_SECONDS, and a checkpoint and `audit verify` do the same before they read, so one lock acquisition
chains a whole batch. The lock is only ever held for such a pass, never across a request. An entry is in the
citizen's log as soon as its transaction commits (the log is read by citizen and time, not by `seq`), and a
rolled-back transaction leaves nothing to chain; the unchained tail is at most one interval old while the service
runs, the same kind of window as the entries after the last signed checkpoint.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from sqlalchemy import Engine
from sqlmodel import Session

from audit.chain import ChainHasher, ChainHead, entry_hash, micros_since_epoch
from audit.repository import AuditRepository

CHAIN_BATCH = 1_000
CHAIN_INTERVAL_SECONDS = 0.5
"""How often the service chains the committed tail (`api.app`)."""


def chains_inline(session: Session) -> bool:
    """Whether an entry is chained in the transaction that records it (SQLite) or after its commit (PostgreSQL)."""
    return session.get_bind().dialect.name != "postgresql"


def link_inline(repo: AuditRepository, values: dict[str, Any]) -> None:
    """Chain the entry of `values` (its columns) now, after any unchained entry left before it: sets its `seq`,
    `prev_hash` and `entry_hash` (SQLite: the transaction holds the write lock)."""
    head = repo.head_if_all_chained()  # the usual case, in one statement
    if head is None:
        link_pending(repo)
        head = repo.head()
    seq = head.seq + 1
    digest = entry_hash(SimpleNamespace(**(values | {"seq": seq})), head.entry_hash)
    values.update(seq=seq, prev_hash=head.entry_hash, entry_hash=digest)


def chain_committed(engine: Engine) -> int:
    """Chain every committed entry not chained yet, in a short transaction of its own; returns how many. It waits
    for the chain lock, which no one holds for longer than such a pass or a checkpoint."""
    with Session(engine) as session:
        repo = AuditRepository(session)
        repo.lock_chain()
        chained = link_pending(repo)
        session.commit()
    return chained


def link_pending(repo: AuditRepository) -> int:
    """Chain the committed unchained entries after the head; the caller holds the chain lock. One `ChainHasher` per
    pass: the agencies, actions and purposes of a batch recur, and encoding each entry afresh was most of the pass."""
    head, total, hasher = None, 0, ChainHasher()
    while rows := repo.unchained(limit=CHAIN_BATCH):
        head = head or repo.head()  # read only when there is something to chain (a pass often finds nothing)
        links: list[dict[str, Any]] = []
        for row in rows:  # the columns ROW_COLUMNS: row[1] is `at`, row[2] the id
            seq = head.seq + 1
            digest = hasher.row_hash((seq, *row[1:]), micros_since_epoch(row[1]), head.entry_hash)
            links.append(
                {"row_id": row[2], "at": row[1], "seq": seq, "prev_hash": head.entry_hash, "entry_hash": digest}
            )
            head = ChainHead(seq, digest)
        repo.link(links)
        total += len(rows)
        if len(rows) < CHAIN_BATCH:
            break
    return total
