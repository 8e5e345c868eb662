"""Verification of the whole access log (`congdanso audit verify`): the chain recomputed in `seq` order from the
database, every checkpoint's signature checked and its hash compared with the recomputed one at its `seq`.

Rows are streamed in batches (a server-side cursor on PostgreSQL), checkpoints merged in as the entries reach their
`seq`, so memory stays flat whatever the size of the log. Entries committed but not chained yet (`audit.appends`:
PostgreSQL chains them in batches) are chained first by `verify_log`; any left are counted as `pending`, not
checked. One snapshot covers all three: a read transaction on SQLite, REPEATABLE READ on PostgreSQL, so entries and
checkpoints appended meanwhile do not disturb the check.

The first failure stops the check and is named by `first_bad_seq`:
- an entry whose `entry_hash` is not the hash of its content (edited, or moved to another `seq`), or whose
  `prev_hash` is not the previous entry's hash (one inserted or removed before it);
- a missing `seq` (a deleted entry, or the end of a log cut short under a checkpoint);
- a checkpoint whose signature fails, or whose hash differs from the chain's at its `seq` (the chain was rewritten
  consistently since the previous good checkpoint: `first_bad_seq` is the first entry after that one).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import suppress
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, Row
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session

from audit.appends import chain_committed
from audit.chain import GENESIS_HASH, ChainHasher, micros_since_epoch
from audit.checkpoints import CheckpointError, CheckpointVerifier
from audit.repository import AuditRepository
from storage.db import read_only

BATCH = 2_000
"""Rows fetched at a time: a batch of 10,000 held about 15 MB more at once, for no speed gained."""
_NAIVE_EPOCH = datetime(1970, 1, 1)  # noqa: DTZ001 - the epoch of a UTC time SQLite returns without zone
_MICROSECOND = timedelta(microseconds=1)


@dataclass(frozen=True)
class ChainReport:
    ok: bool
    entries: int
    """Entries found good (all of them when ok)."""
    checkpoints: int
    """Checkpoints found good (all of them when ok)."""
    last_seq: int
    """The last good entry's seq; entries after `last_checkpoint_seq` are protected by the chain alone."""
    last_checkpoint_seq: int
    first_bad_seq: int | None = None
    reason: str | None = None
    checkpoint_seq: int | None = None
    """The checkpoint that revealed the failure, when one did."""
    pending: int = 0
    """Committed entries not chained yet (`audit.appends`): in no chain to check, shown when there are any."""

    def to_json(self) -> dict[str, Any]:
        keys: tuple[str, ...]
        if self.ok:
            keys = ("ok", "entries", "checkpoints", "last_seq", "last_checkpoint_seq", "pending")
        else:
            keys = ("ok", "first_bad_seq", "reason", "checkpoint_seq", "entries", "checkpoints", "pending")
        data = asdict(self)
        return {key: data[key] for key in keys if data[key] is not None and (key != "pending" or data[key])}


class _Failed(Exception):
    def __init__(self, seq: int, reason: str, checkpoint_seq: int | None = None) -> None:
        super().__init__(reason)
        self.seq, self.reason, self.checkpoint_seq = seq, reason, checkpoint_seq


class _Walk:
    """One pass over the entries with the checkpoints merged in."""

    def __init__(self, verifier: CheckpointVerifier, checkpoints: Iterator[Row[Any]]) -> None:
        self.verifier = verifier
        self.checkpoints = checkpoints
        self.pending: Row[Any] | None = next(checkpoints, None)  # opens the checkpoints' cursor first
        self.entries = 0
        self.good_checkpoints = 0
        self.last_seq = 0
        self.last_checkpoint_seq = 0

    def run(self, entries: Iterator[Sequence[Any]]) -> None:
        """`entries` as `AuditRepository.entries_in_order` gives them; a tight loop, run once per entry of the log."""
        expected, prev = 1, GENESIS_HASH
        hasher = ChainHasher()
        for row in entries:
            seq = row[0]
            if seq != expected:
                if seq > expected:
                    raise _Failed(expected, f"entry {expected} is missing (the next entry is {seq})")
                raise _Failed(seq, f"seq {seq} is out of range (the log starts at 1)")
            if row[12] != prev:
                raise _Failed(seq, "prev_hash is not the entry_hash of the previous entry")
            try:
                at = row[1]  # without its zone from SQLite: the column holds UTC
                micros = (at - _NAIVE_EPOCH) // _MICROSECOND if at.tzinfo is None else micros_since_epoch(at)
                digest = hasher.row_hash(row, micros, prev)
            except (ValueError, TypeError, AttributeError) as exc:
                raise _Failed(seq, f"malformed entry: {exc}") from exc
            if digest != row[13]:
                raise _Failed(seq, "entry_hash does not match the entry's content")
            if self.pending is not None and self.pending.seq <= seq:
                self._checkpoints_up_to(seq, digest)
            self.entries, self.last_seq = seq, seq
            prev, expected = digest, expected + 1
        if self.pending is not None:
            checkpoint = self.pending
            self._check_signature(checkpoint)
            raise _Failed(
                expected,
                f"entries from seq {expected} are missing: the checkpoint at seq {checkpoint.seq} signs a longer log",
                checkpoint.seq,
            )

    def _checkpoints_up_to(self, seq: int, digest: str) -> None:
        while self.pending is not None and self.pending.seq <= seq:
            checkpoint = self.pending
            self._check_signature(checkpoint)
            if checkpoint.seq < seq:  # only a seq below 1 can be passed over
                raise _Failed(checkpoint.seq, f"checkpoint at seq {checkpoint.seq} names no entry", checkpoint.seq)
            if checkpoint.entry_hash != digest:
                first = self.last_checkpoint_seq + 1
                raise _Failed(
                    first,
                    f"entries {first} to {seq} were rewritten: the chain's hash at seq {seq} differs from the signed "
                    "checkpoint",
                    checkpoint.seq,
                )
            self.good_checkpoints += 1
            self.last_checkpoint_seq = checkpoint.seq
            self.pending = next(self.checkpoints, None)

    def _check_signature(self, checkpoint: Row[Any]) -> None:
        try:
            self.verifier.verify(checkpoint)
        except CheckpointError as exc:
            raise _Failed(checkpoint.seq, f"checkpoint at seq {checkpoint.seq}: {exc.reason}", checkpoint.seq) from exc


def verify_chain(session: Session, verifier: CheckpointVerifier, *, batch: int = BATCH) -> ChainReport:
    """Check the whole log as the session sees it (see `verify_log` for the snapshot)."""
    repo = AuditRepository(session)
    pending = repo.count_unchained()
    walk = _Walk(verifier, repo.checkpoints_in_order(batch=batch))
    try:
        walk.run(repo.entries_in_order(batch=batch))
    except _Failed as failure:
        return ChainReport(
            ok=False,
            entries=walk.entries,
            checkpoints=walk.good_checkpoints,
            last_seq=walk.last_seq,
            last_checkpoint_seq=walk.last_checkpoint_seq,
            first_bad_seq=failure.seq,
            reason=failure.reason,
            checkpoint_seq=failure.checkpoint_seq,
            pending=pending,
        )
    return ChainReport(
        True, walk.entries, walk.good_checkpoints, walk.last_seq, walk.last_checkpoint_seq, pending=pending
    )


def verify_log(engine: Engine, verifier: CheckpointVerifier, *, batch: int = BATCH) -> ChainReport:
    """Chain the committed tail (as the service does every moment), then check the whole log in one read-only
    snapshot; holds the chain lock only for that first short pass, so the service keeps appending. With a database
    role that may only read, the tail stays unchained and is reported as `pending`."""
    with suppress(SQLAlchemyError):
        chain_committed(engine)
    with Session(read_only(engine)) as session:
        if engine.dialect.name == "postgresql":
            session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
        try:
            return verify_chain(session, verifier, batch=batch)
        finally:
            session.rollback()
