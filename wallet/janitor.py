"""The janitor: whatever a crash or a failed delete left behind, collected after a grace period.

- A pending blob record older than the grace period means its upload never committed: the blob
  (if any) and the record go.
- A blob no committed file references and no pending record announces (a crash before the pending
  record was even written cannot happen: it is committed before the write) goes too, once old enough.
  The bucket is walked a slice at a time: each run examines at most `WalletConfig.gc_slice_blobs` keys, in key
  order, from where the previous run stopped (`JanitorCursor`), and starts over once it reaches the end; a bucket of
  a million citizens is covered over successive runs at a bounded cost each. The slices are bounded by count, not by
  fixed key prefixes: blob keys are `c/<citizen id>/<file id>` with UUIDv7 ids, whose first characters are the
  time of creation, so the citizens of a year share their first hex characters and prefix slices would be as
  uneven as registrations over time.
- A citizen-key replacement left half-way by a crash (`CitizenKeys.begin_replacement`) is finished when the
  citizen's profile is already sealed under the new key (the closing transaction committed), else abandoned.
- PostgreSQL: the coming months' partitions of the access log and the outbox are made ahead of time
  (`storage.partitions`; rows never wait for one, an unpartitioned month fills the default partition).
- A key whose citizen was erased (or whose registration never committed) is destroyed. Keys are
  created before their citizen row commits, so this runs only from the CLI or the periodic job,
  after registrations in flight have had time to finish.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime

import anyio
from sqlmodel import col, select

from crypto.envelope import CitizenKey
from crypto.errors import DecryptionError
from identity.models import Citizen
from identity.profile import profile_context
from storage.blobs import BlobInfo, BlobNotFound
from storage.db import read_only, transaction
from storage.partitions import ensure_partitions
from wallet.models import JanitorCursor
from wallet.repository import WalletRepository
from wallet.service import WalletDeps

BLOB_PREFIX = "c/"
KEY_PAGE = 1_000  # citizen keys checked against the citizens per read
ORPHAN_BATCH = 500  # listed blobs checked against the database per read
ORPHAN_WALK = "orphan_blobs"  # the name of the walk's cursor


@dataclass
class GcReport:
    pending_removed: int = 0
    orphans_removed: int = 0
    blobs_examined: int = 0
    walk_completed: bool = False  # this run's slice reached the end of the bucket (the next starts over)
    keys_destroyed: int = 0
    replacements_settled: int = 0
    partitions_created: int = 0


class Janitor:
    def __init__(self, deps: WalletDeps) -> None:
        self._deps = deps

    async def collect(self, *, now: datetime | None = None) -> GcReport:
        now = now or self._deps.clock.now()
        cutoff = now - self._deps.config.gc_grace
        report = GcReport()
        report.pending_removed = await self._stale_pending(cutoff)
        await self._orphans(cutoff, now, report)
        report.replacements_settled = await anyio.to_thread.run_sync(self._replacements, cutoff)
        report.keys_destroyed = await anyio.to_thread.run_sync(self._unused_keys, cutoff)
        created = await anyio.to_thread.run_sync(ensure_partitions, self._deps.engine, now)
        report.partitions_created = len(created)
        return report

    def _replacements(self, cutoff: datetime) -> int:
        settled = 0
        for citizen_id in self._deps.keys.replacements(updated_before=cutoff):
            with transaction(self._deps.engine) as session:
                citizen = session.get(Citizen, citizen_id)
            if citizen is None or citizen.status == "erased":
                continue  # its keys go with the unused ones below

            def sealed_under(key: CitizenKey, sealed: bytes = citizen.profile_sealed, cid: str = citizen_id) -> bool:
                try:
                    key.open(sealed, context=profile_context(cid))
                except DecryptionError:
                    return False
                return True

            self._deps.keys.settle_replacement(citizen_id, needs_new_key=sealed_under)
            settled += 1
        return settled

    async def _stale_pending(self, cutoff: datetime) -> int:
        def stale() -> list[str]:
            with transaction(self._deps.engine) as session:
                return [p.blob_key for p in WalletRepository(session).stale_pending(cutoff)]

        keys = await anyio.to_thread.run_sync(stale)
        for key in keys:
            await self._deps.blobs.delete(key)

        def forget() -> None:
            with transaction(self._deps.engine) as session:
                WalletRepository(session).abandon_pending(keys)

        await anyio.to_thread.run_sync(forget)
        return len(keys)

    async def _orphans(self, cutoff: datetime, now: datetime, report: GcReport) -> None:
        """One slice of the walk over the blobs: at most `gc_slice_blobs` keys after the cursor, then the cursor
        moved to the last key examined (or back to the start when the walk reached the end)."""
        start_after = await anyio.to_thread.run_sync(self._cursor)
        limit, last, batch = self._deps.config.gc_slice_blobs, start_after, []
        listing = self._deps.blobs.list(BLOB_PREFIX, start_after=start_after)
        async with contextlib.aclosing(listing):  # type: ignore[type-var]  # every backend's `list` is a generator
            async for info in listing:
                report.blobs_examined += 1
                last = info.key
                if info.modified_at < cutoff:
                    batch.append(info)
                if len(batch) >= ORPHAN_BATCH:
                    report.orphans_removed += await self._remove_unreferenced(batch)
                    batch = []
                if report.blobs_examined >= limit:
                    break
            else:
                last, report.walk_completed = "", True
        report.orphans_removed += await self._remove_unreferenced(batch)
        await anyio.to_thread.run_sync(self._move_cursor, last, now)

    def _cursor(self) -> str:
        with transaction(read_only(self._deps.engine)) as session:
            cursor = session.get(JanitorCursor, ORPHAN_WALK)
            return "" if cursor is None else cursor.position

    def _move_cursor(self, position: str, now: datetime) -> None:
        with transaction(self._deps.engine) as session:
            session.merge(JanitorCursor(name=ORPHAN_WALK, position=position, updated_at=now))

    async def _remove_unreferenced(self, batch: list[BlobInfo]) -> int:
        keys = [info.key for info in batch]

        def known() -> set[str]:
            with transaction(self._deps.engine) as session:
                repo = WalletRepository(session)
                return repo.referenced(keys) | repo.pending_keys(keys)

        referenced = await anyio.to_thread.run_sync(known)
        removed = 0
        for key in keys:
            if key not in referenced:
                try:
                    await self._deps.blobs.delete(key)
                except BlobNotFound:
                    continue
                removed += 1
        return removed

    def _unused_keys(self, cutoff: datetime) -> int:
        """Keys of erased citizens, and keys whose registration never committed, are destroyed. The keys are walked
        a page at a time and each page checked against the citizens by primary key: a million citizens cost a
        thousand small reads, never a list of every citizen in memory."""
        destroyed = 0
        for page in batched(self._deps.keys.walk_ids(updated_before=cutoff), KEY_PAGE):
            with transaction(read_only(self._deps.engine)) as session:
                live_query = select(Citizen.id).where(col(Citizen.id).in_(page), col(Citizen.status) != "erased")
                live = set(session.exec(live_query).all())
            for citizen_id in page:
                if citizen_id not in live:
                    self._deps.keys.destroy(citizen_id)
                    destroyed += 1
        return destroyed


def batched(items: Iterable[str], size: int) -> Iterator[list[str]]:
    page: list[str] = []
    for item in items:
        page.append(item)
        if len(page) == size:
            yield page
            page = []
    if page:
        yield page
