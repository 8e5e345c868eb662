"""`read_through`: every chunk of an object handed to a function in a worker thread, in order, whether the store reads
the chunks itself (the local store, one reused buffer) or only offers `get`."""

from __future__ import annotations

import os
from collections.abc import AsyncGenerator, AsyncIterator
from pathlib import Path

import pytest

from storage.blobs import BlobNotFound, LocalBlobStore
from storage.blobs.base import DEFAULT_CHUNK_SIZE, read_through

pytestmark = pytest.mark.anyio


async def one(data: bytes) -> AsyncIterator[bytes]:
    yield data


class GetOnly:
    """A store that offers `get` and nothing more of the reading side."""

    def __init__(self, store: LocalBlobStore) -> None:
        self.store = store

    def get(self, key: str, *, chunk_size: int = DEFAULT_CHUNK_SIZE) -> AsyncGenerator[bytes, None]:
        return self.store.get(key, chunk_size=chunk_size)


@pytest.fixture(params=["local", "get-only"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> LocalBlobStore:
    local = LocalBlobStore(tmp_path)
    return local if request.param == "local" else GetOnly(local)  # type: ignore[return-value]


async def test_each_chunk_in_order(store: LocalBlobStore, tmp_path: Path) -> None:
    data = os.urandom(10_000)
    await LocalBlobStore(tmp_path).put("a/b", one(data))
    copies = [bytes(chunk) async for chunk in read_through(store, "a/b", bytes, chunk_size=3000)]
    assert [len(c) for c in copies] == [3000, 3000, 3000, 1000]
    assert b"".join(copies) == data


async def test_an_error_of_each_stops_the_read(store: LocalBlobStore, tmp_path: Path) -> None:
    await LocalBlobStore(tmp_path).put("k", one(os.urandom(5000)))
    seen: list[int] = []

    def each(view: memoryview) -> int:
        seen.append(len(view))
        raise ValueError("damaged")

    with pytest.raises(ValueError, match="damaged"):
        async for _ in read_through(store, "k", each, chunk_size=2500):
            pass
    assert seen == [2500]


async def test_a_missing_key(store: LocalBlobStore) -> None:
    with pytest.raises(BlobNotFound):
        async for _ in read_through(store, "missing", bytes):
            pass
