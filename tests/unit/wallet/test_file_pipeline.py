"""An upload's pipeline (`wallet.files.seal_upload`): one task seals and claims the next batch while another writes
the one before (or, into a store that writes at once, one task reads the next batch while the one before is sealed,
claimed and written). Every batch is claimed before the store gets a byte of it, claims made ahead are settled to the
exact stored size at the end, and a failure on either side, or in the store, leaves no object behind and is the
error the caller sees."""

from __future__ import annotations

import hashlib
import os
import tracemalloc
from collections.abc import AsyncIterable, AsyncIterator, Callable
from functools import partial
from pathlib import Path
from typing import Protocol, runtime_checkable

import pytest

from crypto.aead import Context
from crypto.stream import sealed_size
from storage.blobs import BlobStoreUnavailable, LocalBlobStore
from storage.blobs.base import Write
from wallet import files
from wallet.errors import FileTooLarge, QuotaExceeded, StorageUnavailable
from wallet.files import open_download, seal_upload
from wallet.filetypes import PDF, FileType

pytestmark = pytest.mark.anyio

MIB = 1024 * 1024
KEY = b"k" * 32
CONTEXT = Context("file", citizen="c-1", document="d-1", version=1, file="f-1")
BLOB = "c/c-1/f-1"


def scan(size: int) -> bytes:
    return b"%PDF-1.7\n" + os.urandom(size - 9)


async def arriving(data: bytes, *, fail_after: int | None = None) -> AsyncIterator[bytes]:
    """The file in the ~64 KiB pieces a request body arrives in; a client that goes away after `fail_after` bytes."""
    for start in range(0, len(data), 65_000):
        if fail_after is not None and start >= fail_after:
            raise ConnectionResetError("the client went away")
        yield data[start : start + 65_000]


class WatchedStore(LocalBlobStore):
    """A local store that records, at every chunk it is handed, how many bytes it had then been given in all."""

    def __init__(self, root: Path, *, fail_after: int | None = None) -> None:
        super().__init__(root)
        self.received = 0
        self.fail_after = fail_after

    async def put(self, key: str, chunks: AsyncIterable[bytes], *, content_type: str = "") -> int:
        async def watched() -> AsyncIterator[bytes]:
            async for chunk in chunks:
                self.received += len(chunk)
                if self.fail_after is not None and self.received > self.fail_after:
                    raise BlobStoreUnavailable("the disk went away")
                yield chunk

        return await super().put(key, watched())

    async def put_through(self, key: str, steps: AsyncIterable[Callable[[Write], None]]) -> int:
        async def watched() -> AsyncIterator[Callable[[Write], None]]:
            async for step in steps:
                yield partial(self._watched_step, step)

        return await super().put_through(key, watched())

    def _watched_step(self, step: Callable[[Write], None], write: Write) -> None:
        def watched(data: memoryview) -> None:
            self.received += len(data)
            if self.fail_after is not None and self.received > self.fail_after:
                raise BlobStoreUnavailable("the disk went away")
            write(data)

        step(watched)


@runtime_checkable
class _NoStore(Protocol):
    def never(self) -> None: ...


@pytest.fixture(autouse=True, params=["writes through", "put"])
def store_path(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test runs on both of the pipeline's paths: the local store's `put_through` and any store's `put`."""
    if request.param == "put":
        monkeypatch.setattr(files, "WritesThrough", _NoStore)


class Quota:
    """Claims as the service makes them: refused past `room` bytes in all (or from the `refuse_at`-th granted claim
    on), negative ones always granted."""

    def __init__(self, *, refuse_at: int | None = None, room: int | None = None) -> None:
        self.claims: list[int] = []
        self.refused: list[int] = []
        self.refuse_at = refuse_at
        self.room = room
        self.store: WatchedStore | None = None
        self.unclaimed_writes = 0

    def claim(self, amount: int) -> None:
        # Whatever the store holds by now was claimed before: claims only ever run ahead of the writes.
        if self.store is not None and self.store.received > sum(self.claims):
            self.unclaimed_writes += 1
        over_room = self.room is not None and sum(self.claims) + amount > self.room
        if amount > 0 and (over_room or len(self.claims) == self.refuse_at):
            self.refused.append(amount)
            raise QuotaExceeded()
        self.claims.append(amount)


async def upload(
    store: WatchedStore, chunks: AsyncIterator[bytes], quota: Quota, max_bytes: int = 50 * MIB
) -> tuple[FileType, int, str, int]:
    quota.store = store
    return await seal_upload(
        store, chunks, blob_key=BLOB, data_key=KEY, context=CONTEXT, max_bytes=max_bytes, claim=quota.claim
    )


def nothing_stored(root: Path) -> bool:
    return [p for p in root.rglob("*") if p.is_file()] == []


async def test_a_file_comes_back_whole_and_every_byte_stored_was_claimed_first(tmp_path: Path) -> None:
    data = scan(10 * MIB + 12_345)
    store, quota = WatchedStore(tmp_path), Quota()
    file_type, size, _sha256, stored = await upload(store, arriving(data), quota)
    assert (file_type, size) == (PDF, len(data))
    assert sum(quota.claims) == stored == store.received
    assert len(quota.claims) == 2  # the first batch and 8 MiB ahead, then the rest with the last segment
    assert quota.unclaimed_writes == 0
    opened = await open_download(store, blob_key=BLOB, data_key=KEY, context=CONTEXT, size=len(data))
    assert b"".join([chunk async for chunk in opened]) == data


async def test_a_client_that_leaves_half_way_leaves_no_blob(tmp_path: Path) -> None:
    store = WatchedStore(tmp_path)
    with pytest.raises(ConnectionResetError):
        await upload(store, arriving(scan(10 * MIB), fail_after=6 * MIB), Quota())
    assert nothing_stored(tmp_path)


async def test_a_file_over_the_limit_is_refused_and_leaves_no_blob(tmp_path: Path) -> None:
    store = WatchedStore(tmp_path)
    with pytest.raises(FileTooLarge):
        await upload(store, arriving(scan(10 * MIB)), Quota(), max_bytes=5 * MIB)
    assert nothing_stored(tmp_path)


async def test_a_refused_claim_half_way_stops_the_upload_and_leaves_no_blob(tmp_path: Path) -> None:
    store, quota = WatchedStore(tmp_path), Quota(refuse_at=1)
    with pytest.raises(QuotaExceeded):
        await upload(store, arriving(scan(10 * MIB)), quota)
    assert 0 < store.received <= sum(quota.claims)  # nothing past the granted claims reached the store
    assert quota.unclaimed_writes == 0
    assert nothing_stored(tmp_path)


async def test_a_file_that_fits_exactly_is_never_refused_for_the_claims_made_ahead(tmp_path: Path) -> None:
    data = scan(5 * MIB + 12_345)  # less than the first batch and the claim ahead
    exact = sealed_size(len(data))
    store, quota = WatchedStore(tmp_path), Quota(room=exact)
    _, _, _, stored = await upload(store, arriving(data), quota)
    assert stored == sum(quota.claims) == exact
    assert quota.refused and quota.unclaimed_writes == 0  # the claim ahead was refused, the bytes in hand were not


async def test_a_file_one_byte_over_the_room_is_refused_and_leaves_no_blob(tmp_path: Path) -> None:
    data = scan(5 * MIB + 12_345)
    store, quota = WatchedStore(tmp_path), Quota(room=sealed_size(len(data)) - 1)
    with pytest.raises(QuotaExceeded):
        await upload(store, arriving(data), quota)
    assert store.received <= sum(quota.claims) < sealed_size(len(data))
    assert nothing_stored(tmp_path)


async def test_claims_made_ahead_are_given_back_when_the_file_ends_short(tmp_path: Path) -> None:
    data = scan(3 * MIB + 5)  # the second batch is the last: 1 MiB claimed with 8 MiB ahead, then settled down
    store, quota = WatchedStore(tmp_path), Quota()
    _, _, _, stored = await upload(store, arriving(data), quota)
    assert quota.claims[0] > stored and quota.claims[1] < 0
    assert sum(quota.claims) == stored == sealed_size(len(data))


async def test_a_store_that_fails_half_way_is_storage_unavailable_and_leaves_no_blob(tmp_path: Path) -> None:
    store = WatchedStore(tmp_path, fail_after=4 * MIB)
    with pytest.raises(StorageUnavailable) as caught:
        await upload(store, arriving(scan(10 * MIB)), Quota())
    assert isinstance(caught.value.__cause__, BlobStoreUnavailable)
    assert nothing_stored(tmp_path)


async def test_a_large_file_goes_up_and_down_in_flat_memory(tmp_path: Path) -> None:
    """48 MiB up and down: an upload holds about two 4 MiB batches (plaintext and sealed), a download the 4 MiB it
    checks before sending and a chunk; neither grows with the file."""
    size, block = 48 * MIB, os.urandom(65_000)
    sent, received = hashlib.sha256(), hashlib.sha256()

    async def made_as_sent() -> AsyncIterator[bytes]:
        for n in range(size // len(block)):
            chunk = (b"%PDF-1.7\n" if n == 0 else n.to_bytes(9, "big")) + block[9:]
            sent.update(chunk)
            yield chunk

    store = WatchedStore(tmp_path)
    tracemalloc.start()
    try:
        _, stored_size, _, _ = await upload(store, made_as_sent(), Quota(), max_bytes=64 * MIB)
        upload_peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.reset_peak()
        opened = await open_download(store, blob_key=BLOB, data_key=KEY, context=CONTEXT, size=stored_size)
        async for chunk in opened:
            received.update(chunk)
        download_peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert received.digest() == sent.digest()
    assert upload_peak < 20 * MIB, upload_peak
    assert download_peak < 10 * MIB, download_peak
