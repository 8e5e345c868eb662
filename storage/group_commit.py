"""Group commit: small writes of many concurrent requests in one short transaction.

A request that only needs to append a few rows after its reads (the counter scan's presence record and access-log
entry) hands them to `GroupCommit.run` instead of holding a writing transaction for its whole length. Whoever
arrives while no batch is being written writes its own at once (no waiting for company when there is none); those
arriving meanwhile queue, and the next of them writes the whole queue as one batch, in one transaction. The batch is
written first without savepoints; should any write fail, it is rolled back and written again each write in a savepoint
of its own, so that one failing write fails alone. Every caller returns only after its batch committed.
Under load that is one `BEGIN IMMEDIATE`/`COMMIT` (SQLite) or one commit round trip (PostgreSQL) per batch instead
of per request.

`run` is for worker threads; `run_async` for the event loop, where a caller waits for its batch without a thread of
its own (a thread per waiting request made a hop there and back each, and a crowd of threads taking turns at the
GIL), and only the caller that writes a batch does so in a worker thread.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import anyio
from sqlalchemy import Engine
from sqlmodel import Session

from storage.db import queued_writer, transaction

T = TypeVar("T")


class _WriteFailed(Exception):
    """A write of a batch written all at once failed: the batch is rolled back and written one by one."""


@dataclass
class _Write(Generic[T]):
    work: Callable[[Session], T]
    wake: Callable[[], None]  # its caller goes on: its batch committed, or it is to write the next batch
    lead: bool = False  # set when this write's caller is to write the next batch
    result: Any = None
    error: BaseException | None = None


class GroupCommit:
    """Writes callables `work(session)` in shared transactions; call from worker threads, never the event loop."""

    def __init__(self, engine: Engine, *, max_batch: int = 256) -> None:
        self.engine = engine
        self._max_batch = max_batch
        self._lock = threading.Lock()
        self._queue: list[_Write[Any]] = []
        self._writing = False
        self.batches = 0  # how many transactions were written (for tests and figures)

    def run(self, work: Callable[[Session], T]) -> T:
        """`work` in a committed transaction, perhaps shared with other callers' writes; its result, or its error."""
        woken = threading.Event()
        write: _Write[T] = _Write(work, woken.set)
        if not self._enqueue(write):
            woken.wait()  # until its batch committed, or until it is to write the next batch
            if not write.lead:
                return self._outcome(write)
        self._lead(write)
        return self._outcome(write)

    async def run_async(self, work: Callable[[Session], T]) -> T:
        """`run` from the event loop. Shielded from cancellation: once queued, a write is written and, should its
        caller be the one to write the next batch, that batch too (a caller that left would stall the queue)."""
        loop = asyncio.get_running_loop()
        woken = asyncio.Event()

        def wake() -> None:
            loop.call_soon_threadsafe(woken.set)

        write: _Write[T] = _Write(work, wake)
        with anyio.CancelScope(shield=True):
            if not self._enqueue(write):
                await woken.wait()
                if not write.lead:
                    return self._outcome(write)
            await anyio.to_thread.run_sync(self._lead, write)
        return self._outcome(write)

    def _enqueue(self, write: _Write[Any]) -> bool:
        """Queue `write`; True when no batch is being written, so its caller writes one now."""
        with self._lock:
            self._queue.append(write)
            leads = not self._writing
            self._writing = True
        return leads

    def _lead(self, write: _Write[Any]) -> None:
        # The writer is always the head of the queue: the batch is it and up to `max_batch - 1` queued behind it.
        with self._lock:
            batch = self._queue[: self._max_batch]
            del self._queue[: self._max_batch]
        self._commit(batch, leader=write)
        with self._lock:
            if self._queue:
                successor = self._queue[0]
                successor.lead = True
                successor.wake()
            else:
                self._writing = False

    def _commit(self, batch: list[_Write[Any]], *, leader: _Write[Any]) -> None:
        try:
            with queued_writer(self.engine):
                if not self._all_at_once(batch):
                    self._one_by_one(batch)
            self.batches += 1
        except BaseException as exc:  # the commit failed: no write of the batch holds
            for write in batch:
                if write.error is None:
                    write.error, write.result = exc, None
        for write in batch:
            if write is not leader:  # the leader's caller goes on when `_lead` returns
                write.wake()

    def _all_at_once(self, batch: list[_Write[Any]]) -> bool:
        """The batch in one transaction without savepoints (two statements a write fewer); False, with nothing
        written, if any write failed: the batch is then written again one savepoint a write, so that the failing
        write fails alone. A batch's writes may so run twice, the first time rolled back: they must have no effect
        but on the session. A failed commit is not retried (the caller's error, as before)."""
        try:
            with transaction(self.engine) as session:
                try:
                    for write in batch:
                        write.result = write.work(session)
                    session.flush()
                except Exception as exc:
                    raise _WriteFailed() from exc  # `transaction` rolls the whole batch back
        except _WriteFailed:
            for write in batch:
                write.result = None
            return False
        return True

    def _one_by_one(self, batch: list[_Write[Any]]) -> None:
        with transaction(self.engine) as session:
            for write in batch:
                self._attempt(session, write)

    @staticmethod
    def _attempt(session: Session, write: _Write[Any]) -> None:
        savepoint = session.begin_nested()
        try:
            write.result = write.work(session)
            session.flush()
        except Exception as exc:
            savepoint.rollback()
            write.error = exc
            return
        savepoint.commit()

    @staticmethod
    def _outcome(write: _Write[T]) -> T:
        if write.error is not None:
            raise write.error
        result: T = write.result
        return result
