"""How an entry joins the hash chain.

SQLite: in the transaction that records it. Every writing transaction already holds the database's write lock from
its start (`storage.db`), so reading the head and linking to it costs nothing more.

PostgreSQL: the entry is inserted unchained (no `seq`, `prev_hash` or `entry_hash`) with the request's transaction,
which takes no chain lock and so never waits for another request's commit. Right after that transaction commits, a
short transaction of its own takes the chain lock if it is free and chains every committed entry still unchained, in
(time, id) order; if the lock is busy, its holder or the next one to take it chains the entry instead (every append,
checkpoint and the service's periodic `chain_committed` do). One lock acquisition therefore chains a whole batch under
load. Until it is chained an entry is already in the citizen's log (the log is read by citizen and time, not by
`seq`); a rolled-back transaction leaves nothing to chain. `audit verify` counts the unchained tail as `pending`.
"""

from __future__ import annotations

import logging
from types import SimpleNamespace
from typing import Any

from sqlalchemy import Connection, Engine, event
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session

from audit.chain import ChainHead, entry_hash
from audit.models import AccessLogEntry
from audit.repository import AuditRepository

CHAIN_BATCH = 1_000
CHAIN_INTERVAL_SECONDS = 1.0
"""How often the service chains a tail that no append was left to chain (`api.app`)."""

_CHAIN_AFTER_COMMIT = "audit.chain_after_commit"
logger = logging.getLogger(__name__)


def chains_inline(session: Session) -> bool:
    """Whether an entry is chained in the transaction that records it (SQLite) or after its commit (PostgreSQL)."""
    return session.get_bind().dialect.name != "postgresql"


def link_inline(repo: AuditRepository, entry: AccessLogEntry) -> None:
    """Chain `entry` now, after any unchained entry left before it (SQLite: the transaction holds the write lock)."""
    link_pending(repo)
    head = repo.head()
    entry.seq, entry.prev_hash = head.seq + 1, head.entry_hash
    entry.entry_hash = entry_hash(_chained(entry, head.seq + 1), head.entry_hash)


def chain_after_commit(session: Session) -> None:
    """Have the unchained entries chained as soon as `session`'s transaction commits."""
    if not session.info.get(_CHAIN_AFTER_COMMIT):
        session.info[_CHAIN_AFTER_COMMIT] = True
        event.listen(session, "after_commit", _after_commit)


def _after_commit(session: Session) -> None:
    bind = session.get_bind()
    engine = bind.engine if isinstance(bind, Connection) else bind
    try:
        chain_committed(engine)
    except SQLAlchemyError as exc:  # the request did commit: the next append or the periodic pass chains the entry
        logger.warning("audit chaining deferred", extra={"error": type(exc).__name__})


def chain_committed(engine: Engine) -> int:
    """Chain every committed entry not chained yet, in a short transaction of its own, unless another transaction
    holds the chain lock right now (it chains them). Returns how many this call chained."""
    with Session(engine) as session:
        repo = AuditRepository(session)
        if not repo.try_lock_chain():
            session.rollback()
            return 0
        chained = link_pending(repo)
        session.commit()
    return chained


def link_pending(repo: AuditRepository) -> int:
    """Chain the committed unchained entries after the head; the caller holds the chain lock."""
    head, total = repo.head(), 0
    while rows := repo.unchained(limit=CHAIN_BATCH):
        links: list[dict[str, Any]] = []
        for row in rows:
            seq = head.seq + 1
            digest = entry_hash(_chained(row, seq), head.entry_hash)
            links.append({"row_id": row.id, "seq": seq, "prev_hash": head.entry_hash, "entry_hash": digest})
            head = ChainHead(seq, digest)
        repo.link(links)
        total += len(rows)
        if len(rows) < CHAIN_BATCH:
            break
    return total


def _chained(entry: Any, seq: int) -> SimpleNamespace:
    """The entry's columns as the chain encodes them once it has `seq`."""
    fields = {name: getattr(entry, name) for name in _ENCODED}
    return SimpleNamespace(**fields, seq=seq)


_ENCODED = (
    "id",
    "at",
    "citizen_id",
    "actor_type",
    "actor_code",
    "actor_name",
    "actor_person",
    "action",
    "document_id",
    "consent_id",
    "purpose",
)
