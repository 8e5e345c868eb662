"""Delivering committed outbox rows, outside any request transaction.

Each pass claims due rows with a lease in a short transaction of its own (a conditional UPDATE
whose row count says whether this worker won the row), sends them with no transaction open, and
records each outcome in another short transaction. Several workers can run side by side.

Delivery is at-least-once: a worker that dies between sending and recording leaves the row
leased; once the lease runs out another pass sends it again. Receivers deduplicate on the outbox
id (see `notify.senders`). A channel with no configured sender is never claimed, so its messages
wait, pending, until one is configured.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import timedelta

import anyio
import anyio.to_thread
from sqlalchemy import Engine
from sqlmodel import Session

from crypto.clock import Clock
from notify.repository import Claim, OutboxRepository
from notify.senders import OutgoingMessage, Sender
from notify.service import check_key, open_payload, outbox_context
from storage.db import queued_writer, transaction

logger = logging.getLogger(__name__)

BATCH_SIZE = 20
MAX_BACKOFF = timedelta(hours=1)


class OutboxDispatcher:
    """Claims, sends and settles outbox rows; retries with exponential backoff, then gives up ("dead")."""

    def __init__(
        self,
        engine: Engine,
        senders: Mapping[str, Sender],
        *,
        key: bytes,
        clock: Clock,
        lease: timedelta = timedelta(seconds=60),
        max_attempts: int = 8,
        backoff: timedelta = timedelta(seconds=10),
    ) -> None:
        check_key(key)
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        self._engine = engine
        self._senders = dict(senders)
        self._key = key
        self._clock = clock
        self._lease = lease
        self._max_attempts = max_attempts
        self._backoff = backoff

    def __repr__(self) -> str:
        return f"OutboxDispatcher(channels={sorted(self._senders)!r})"

    async def dispatch(self, ids: Sequence[str] | None = None, *, limit: int = 100) -> int:
        """Send up to `limit` due messages (only those of `ids`, if given, that are due); returns how many were sent.

        Rows are claimed in batches, so a lease covers one batch's sending time rather than the whole pass.
        """
        sent = 0
        remaining = limit
        while remaining > 0:
            claims = await anyio.to_thread.run_sync(self._claim, ids, min(remaining, BATCH_SIZE))
            if not claims:
                break
            remaining -= len(claims)
            sent += await self._deliver_all(claims)
        return sent

    async def run(self, *, interval: float = 2.0) -> None:
        """Dispatch forever, pausing `interval` seconds when idle; errors are logged (class only), never raised."""
        while True:
            busy = False
            try:
                busy = await self.dispatch() > 0
            except Exception as exc:
                logger.error("outbox dispatch failed", extra={"error": _error_name(exc)})
            await anyio.sleep(0 if busy else interval)

    @contextmanager
    def _writing(self) -> Iterator[Session]:
        # Queued with the process's other SQLite writers (`storage.db.SQLITE_WRITERS`): while requests write (an
        # agency issuing papers, each with its notice), a claim or a delivery's record that waited in SQLite's busy
        # handler instead would sleep through its back-off, and the queued requests behind the lock with it.
        with queued_writer(self._engine), transaction(self._engine) as session:
            yield session

    def _claim(self, ids: Sequence[str] | None, limit: int) -> list[Claim]:
        now = self._clock.now()
        lease_until = now + self._lease
        with self._writing() as session:
            outbox = OutboxRepository(session)
            candidates = outbox.due_ids(now=now, channels=self._senders, ids=ids, limit=limit)
            return outbox.claim(candidates, now=now, lease_until=lease_until)

    async def _deliver_all(self, claims: list[Claim]) -> int:
        results: list[bool] = []

        async def deliver(claim: Claim) -> None:
            results.append(await self._deliver(claim))

        async with anyio.create_task_group() as group:
            for claim in claims:
                group.start_soon(deliver, claim)
        return sum(results)

    async def _deliver(self, claim: Claim) -> bool:
        try:
            message = self._open(claim)
            with anyio.fail_after(self._lease.total_seconds()):  # past the lease another worker may resend it
                await self._senders[claim.channel].send(message)
        except Exception as exc:
            error = _error_name(exc)
            logger.warning(
                "notification delivery failed",
                extra={"outbox_id": claim.id, "channel": claim.channel, "attempt": claim.attempts + 1, "error": error},
            )
            await anyio.to_thread.run_sync(self._record_failure, claim, error)
            return False
        return await anyio.to_thread.run_sync(self._record_sent, claim.id)

    def _open(self, claim: Claim) -> OutgoingMessage:
        payload = open_payload(self._key, claim.payload_sealed, context=outbox_context(claim.id))
        return OutgoingMessage(
            claim.id, claim.channel, payload["to"], payload.get("subject"), payload["body"], claim.created_at
        )

    def _record_sent(self, message_id: str) -> bool:
        with self._writing() as session:
            return OutboxRepository(session).mark_sent(message_id, now=self._clock.now())

    def _record_failure(self, claim: Claim, error: str) -> None:
        now = self._clock.now()
        attempts = claim.attempts + 1
        dead = attempts >= self._max_attempts
        with self._writing() as session:
            applied = OutboxRepository(session).record_failure(
                claim, error=error, next_attempt_at=now + self.backoff(attempts), dead=dead
            )
        if dead and applied:
            logger.error(
                "notification given up",
                extra={"outbox_id": claim.id, "channel": claim.channel, "attempts": attempts, "error": error},
            )

    def backoff(self, attempts: int) -> timedelta:
        """The wait after the `attempts`-th failure: backoff, 2×, 4×, … capped at one hour."""
        return min(self._backoff * (1 << min(attempts - 1, 20)), MAX_BACKOFF)


def _error_name(exc: BaseException) -> str:
    if isinstance(exc, BaseExceptionGroup):
        return ",".join(sorted({_error_name(inner) for inner in exc.exceptions}))
    return type(exc).__name__
