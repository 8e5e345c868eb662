"""The BlobStore contract, run against every backend through the parametrized `blob_store` fixture."""

from __future__ import annotations

import hashlib
import random
import stat
import threading
import time
import tracemalloc
import uuid
from collections.abc import AsyncGenerator, AsyncIterator, Callable
from contextlib import aclosing
from datetime import UTC, datetime, timedelta
from pathlib import Path

import anyio
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import storage.blobs.s3 as s3_module
from storage.blobs import (
    BlobInfo,
    BlobNotFound,
    BlobStore,
    BlobStoreError,
    BlobStoreUnavailable,
    LocalBlobStore,
    S3BlobStore,
    blob_store_from_url,
    validate_key,
    validate_prefix,
)
from storage.blobs.base import read_through
from tests.seaweed import SeaweedServer

pytestmark = pytest.mark.anyio

MiB = 1 << 20


class Boom(Exception):
    """Raised by a chunk iterator to make a put fail mid-way."""


async def chunked(data: bytes, size: int) -> AsyncIterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


async def failing_after(data: bytes, size: int) -> AsyncIterator[bytes]:
    async for chunk in chunked(data, size):
        yield chunk
    raise Boom


async def generated(total: int, chunk_size: int, digest: hashlib._Hash) -> AsyncIterator[bytes]:
    """`total` bytes as distinct chunks made on the fly, so that only the store can hold them in memory."""
    base = random.Random(total).randbytes(chunk_size)
    for index in range(total // chunk_size):
        chunk = index.to_bytes(8, "big") + base[8:]
        digest.update(chunk)
        yield chunk


async def read(store: BlobStore, key: str, chunk_size: int = MiB) -> bytes:
    return b"".join([chunk async for chunk in store.get(key, chunk_size=chunk_size)])


async def listing(store: BlobStore, prefix: str = "") -> dict[str, int]:
    return {info.key: info.size async for info in store.list(prefix)}


class TestRoundTrip:
    @pytest.mark.parametrize("size", [0, 1, 1000, 5 * MiB + 3])
    async def test_get_returns_what_put_wrote(self, blob_store: BlobStore, size: int) -> None:
        data = random.Random(size).randbytes(size)
        written = await blob_store.put("docs/a.bin", chunked(data, 64 * 1024))
        assert written == size
        assert await read(blob_store, "docs/a.bin") == data

    async def test_many_small_chunks_spanning_several_parts(self, blob_store: BlobStore) -> None:
        data = random.Random(20).randbytes(20 * MiB + 12345)
        assert await blob_store.put("big/object", chunked(data, 4099), content_type="application/pdf") == len(data)
        assert await read(blob_store, "big/object") == data

    async def test_get_streams_in_chunks_of_at_most_chunk_size(self, blob_store: BlobStore) -> None:
        await blob_store.put("k", chunked(b"x" * 10_000, 10_000))
        sizes = [len(chunk) async for chunk in blob_store.get("k", chunk_size=4096)]
        assert sum(sizes) == 10_000
        assert max(sizes) <= 4096
        assert len(sizes) >= 3

    async def test_put_overwrites(self, blob_store: BlobStore) -> None:
        await blob_store.put("k", chunked(b"first version, longer", 4))
        await blob_store.put("k", chunked(b"second", 4))
        assert await read(blob_store, "k") == b"second"
        assert await listing(blob_store) == {"k": 6}

    async def test_reader_may_stop_early(self, blob_store: BlobStore) -> None:
        await blob_store.put("k", chunked(b"y" * (3 * MiB), MiB))
        # The protocol declares AsyncIterator; both backends return async generators, which aclose().
        async with aclosing(blob_store.get("k", chunk_size=MiB)) as chunks:  # type: ignore[type-var]
            async for chunk in chunks:
                assert chunk == b"y" * MiB
                break
        assert await read(blob_store, "k") == b"y" * (3 * MiB)  # the store still works afterwards


class TestExistsAndDelete:
    async def test_exists_follows_put_and_delete(self, blob_store: BlobStore) -> None:
        assert not await blob_store.exists("a/b")
        await blob_store.put("a/b", chunked(b"1", 1))
        assert await blob_store.exists("a/b")
        assert not await blob_store.exists("a")  # a "folder" is not an object
        await blob_store.delete("a/b")
        assert not await blob_store.exists("a/b")
        assert await listing(blob_store) == {}

    async def test_delete_is_idempotent(self, blob_store: BlobStore) -> None:
        await blob_store.delete("never/stored")
        await blob_store.put("k", chunked(b"1", 1))
        await blob_store.delete("k")
        await blob_store.delete("k")
        await blob_store.delete("a")  # nor is deleting a "folder" an error

    async def test_delete_keeps_siblings(self, blob_store: BlobStore) -> None:
        for key in ("c/1/x", "c/1/y", "c/2/x"):
            await blob_store.put(key, chunked(b"data", 2))
        await blob_store.delete("c/1/x")
        assert await listing(blob_store, "c/") == {"c/1/y": 4, "c/2/x": 4}


class TestGetMissing:
    async def test_missing_key_raises_blob_not_found_before_any_chunk(self, blob_store: BlobStore) -> None:
        chunks = blob_store.get("no/such/key")
        with pytest.raises(BlobNotFound) as caught:
            await anext(chunks)
        assert isinstance(caught.value, BlobStoreError)

    async def test_folder_is_not_an_object(self, blob_store: BlobStore) -> None:
        await blob_store.put("a/b", chunked(b"1", 1))
        with pytest.raises(BlobNotFound):
            await read(blob_store, "a")


class TestList:
    async def test_lists_by_prefix_with_sizes_and_utc_times(self, blob_store: BlobStore) -> None:
        before = datetime.now(UTC) - timedelta(seconds=5)
        objects = {"u1/doc/a": 3, "u1/doc/b": 0, "u1/docs": 7, "u1/img/c": 1, "u2/doc/a": 2}
        for key, size in objects.items():
            await blob_store.put(key, chunked(b"z" * size, 2))
        infos = [info async for info in blob_store.list("u1/")]
        assert {info.key: info.size for info in infos} == {k: v for k, v in objects.items() if k.startswith("u1/")}
        for info in infos:
            assert isinstance(info, BlobInfo)
            assert info.modified_at.utcoffset() == timedelta(0)
            assert before <= info.modified_at <= datetime.now(UTC) + timedelta(seconds=5)
        assert await listing(blob_store, "u1/doc") == {"u1/doc/a": 3, "u1/doc/b": 0, "u1/docs": 7}
        assert await listing(blob_store, "u1/doc/") == {"u1/doc/a": 3, "u1/doc/b": 0}
        assert await listing(blob_store, "u") == {**objects}
        assert await listing(blob_store) == objects
        assert await listing(blob_store, "u3") == {}

    async def test_empty_store_lists_nothing(self, blob_store: BlobStore) -> None:
        assert await listing(blob_store) == {}

    async def test_a_walk_resumes_after_a_key(self, blob_store: BlobStore) -> None:
        """`start_after` resumes a walk right after the key it stopped at, even once that key is deleted (the
        janitor's cursor may name an orphan it removed). The order is the store's own, the same on every call: byte
        order on the local folder and AWS; SeaweedFS orders folder by folder ("a/b" before "a-c")."""
        keys = {"a-c", "a/b", "a/bb", "a0", "c/0/x", "c/01/y", "c/1/z", "c/f/w", "d"}
        for key in keys:
            await blob_store.put(key, chunked(b"1", 1))
        ordered = [info.key async for info in blob_store.list()]
        assert set(ordered) == keys and len(ordered) == len(keys)
        under_c = [key for key in ordered if key.startswith("c/")]
        assert under_c == sorted(under_c)  # folders of one length, as the papers' `c/<id>/<id>`: byte order
        for index, key in enumerate(ordered):
            assert [info.key async for info in blob_store.list(start_after=key)] == ordered[index + 1 :], key
            rest = [info.key async for info in blob_store.list("c/", start_after=key)]
            assert rest == [k for k in ordered[index + 1 :] if k.startswith("c/")], key
        gone: set[str] = set()
        for index in (0, 4, 6):  # a cursor whose object is gone
            await blob_store.delete(ordered[index])
            gone.add(ordered[index])
            after = [info.key async for info in blob_store.list(start_after=ordered[index])]
            assert after == [k for k in ordered[index + 1 :] if k not in gone], ordered[index]


valid_segments = st.from_regex(r"[A-Za-z0-9_-][A-Za-z0-9._-]{0,20}", fullmatch=True)
valid_keys = st.lists(valid_segments, min_size=1, max_size=5).map("/".join)
bad_characters = st.characters(exclude_characters="/", codec="utf-8").filter(lambda c: not allowed_in_keys(c))


def allowed_in_keys(char: str) -> bool:
    return char.isascii() and (char.isalnum() or char in "._-")


invalid_keys = st.one_of(
    st.tuples(valid_keys, valid_keys).map(lambda ks: f"{ks[0]}/../{ks[1]}"),
    st.tuples(valid_keys, st.sampled_from(["..", "."])).map("/".join),
    st.tuples(valid_keys, valid_keys).map("//".join),
    valid_keys.map(lambda k: "/" + k),
    valid_keys.map(lambda k: k + "/"),
    st.tuples(valid_keys, bad_characters).map("".join),
    valid_keys.map(lambda k: "." + k),
    st.just(""),
)


class TestKeyValidation:
    @given(valid_keys)
    def test_valid_keys_are_accepted(self, key: str) -> None:
        assert validate_key(key) == key
        assert validate_prefix(key) == key

    @given(invalid_keys)
    def test_invalid_keys_are_rejected(self, key: str) -> None:
        with pytest.raises(ValueError, match="blob key"):
            validate_key(key)

    @settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(key=valid_keys)
    async def test_any_valid_key_round_trips(self, blob_store: BlobStore, key: str) -> None:
        # The same store serves every example, so each one leaves it empty again.
        await blob_store.put(key, chunked(key.encode(), 7))
        assert await read(blob_store, key) == key.encode()
        assert await listing(blob_store) == {key: len(key)}
        await blob_store.delete(key)

    @pytest.mark.parametrize(
        "key",
        ["", "/abs", "a//b", "a/", "../x", "a/../b", "a/./b", ".tmp/x", "é", "a b", "a\n", "s" * 256, "k/" * 512 + "k"],
    )
    async def test_every_operation_rejects_invalid_keys(self, blob_store: BlobStore, key: str) -> None:
        with pytest.raises(ValueError, match="blob key"):
            await blob_store.put(key, chunked(b"1", 1))
        with pytest.raises(ValueError, match="blob key"):
            blob_store.get(key)
        with pytest.raises(ValueError, match="blob key"):
            await blob_store.exists(key)
        with pytest.raises(ValueError, match="blob key"):
            await blob_store.delete(key)
        assert await listing(blob_store) == {}

    @pytest.mark.parametrize("prefix", ["/", "/a", "a//", "../", "a/../", "a b"])
    async def test_list_rejects_invalid_prefixes(self, blob_store: BlobStore, prefix: str) -> None:
        with pytest.raises(ValueError, match="blob"):
            blob_store.list(prefix)


class TestFailedPut:
    @pytest.mark.parametrize("size", [1000, 20 * MiB])
    async def test_failing_iterator_leaves_nothing(
        self, blob_store: BlobStore, leftovers: Callable[[], list[str]], size: int
    ) -> None:
        with pytest.raises(Boom):
            await blob_store.put("k", failing_after(b"q" * size, 256 * 1024))
        assert not await blob_store.exists("k")
        assert await listing(blob_store) == {}
        assert leftovers() == []

    async def test_failed_overwrite_keeps_the_previous_object(
        self, blob_store: BlobStore, leftovers: Callable[[], list[str]]
    ) -> None:
        await blob_store.put("k", chunked(b"old", 3))
        with pytest.raises(Boom):
            await blob_store.put("k", failing_after(b"n" * (12 * MiB), MiB))
        assert await read(blob_store, "k") == b"old"
        assert leftovers() == []

    async def test_cancelled_put_leaves_nothing(
        self, blob_store: BlobStore, leftovers: Callable[[], list[str]]
    ) -> None:
        with anyio.CancelScope() as scope:

            async def cancelled_mid_way() -> AsyncIterator[bytes]:
                for _ in range(10):  # more than one part: the multipart upload has started
                    yield b"s" * MiB
                scope.cancel()
                await anyio.sleep_forever()
                yield b""  # never reached

            await blob_store.put("k", cancelled_mid_way())
        assert scope.cancelled_caught
        assert not await blob_store.exists("k")
        assert leftovers() == []


class TestMemory:
    async def test_64_mib_streams_through_in_flat_memory(self, blob_store: BlobStore) -> None:
        size = 64 * MiB
        sent, received = hashlib.sha256(), hashlib.sha256()
        tracemalloc.start()
        try:
            tracemalloc.reset_peak()
            assert await blob_store.put("big", generated(size, MiB, sent)) == size
            _, put_peak = tracemalloc.get_traced_memory()
            tracemalloc.reset_peak()
            async for chunk in blob_store.get("big"):
                received.update(chunk)
            _, get_peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        assert received.digest() == sent.digest()
        # S3: the SDK holds about three 5 MiB parts (one sent, the next gathered, its copy); local ~1 MiB batches.
        assert put_peak < 24 * MiB, f"put peaked at {put_peak / MiB:.1f} MiB"
        assert get_peak < 8 * MiB, f"get peaked at {get_peak / MiB:.1f} MiB"


class TestCheck:
    async def test_check_passes_on_a_working_store(self, blob_store: BlobStore) -> None:
        await blob_store.check()

    async def test_stores_satisfy_the_protocol(self, blob_store: BlobStore) -> None:
        assert isinstance(blob_store, BlobStore)


@pytest.mark.s3
class TestS3StorageDown:
    async def test_operations_fail_fast_while_down_and_recover(
        self, seaweed: SeaweedServer, s3_store: BlobStore
    ) -> None:
        await s3_store.put("kept", chunked(b"before the outage", 5))

        async def dies_mid_put() -> AsyncIterator[bytes]:
            yield b"p" * (8 * MiB)  # a full first part: the multipart upload has started
            seaweed.kill()
            yield b"p" * MiB

        try:
            with pytest.raises(BlobStoreUnavailable):
                await s3_store.put("mid", dies_mid_put())
            for operation in (
                lambda: s3_store.put("new", chunked(b"x", 1)),
                lambda: read(s3_store, "kept"),
                lambda: s3_store.exists("kept"),
                lambda: s3_store.delete("kept"),
                lambda: listing(s3_store),
                s3_store.check,
            ):
                started = time.monotonic()
                with pytest.raises(BlobStoreUnavailable):
                    await operation()
                assert time.monotonic() - started < 5
        finally:
            seaweed.start()
        await s3_store.check()
        assert await read(s3_store, "kept") == b"before the outage"
        assert not await s3_store.exists("mid")
        await s3_store.put("new", chunked(b"after", 5))
        assert await listing(s3_store) == {"kept": 17, "new": 5}


async def drain(results: AsyncGenerator[object, None]) -> None:
    async with aclosing(results):
        async for _ in results:
            pass


class TestReadThrough:
    async def test_each_chunk_in_order_in_a_worker_thread(self, blob_store: BlobStore) -> None:
        data = random.Random("through").randbytes(2 * MiB + 5)
        await blob_store.put("through", chunked(data, MiB))
        loop_thread = threading.get_ident()
        threads: set[int] = set()

        def each(view: memoryview) -> bytes:
            threads.add(threading.get_ident())
            return bytes(view)  # the view may be reused for the next chunk: keep a copy

        copies = [copy async for copy in read_through(blob_store, "through", each, chunk_size=MiB)]
        assert b"".join(copies) == data
        assert [len(c) for c in copies] == [MiB, MiB, 5]
        assert loop_thread not in threads

    async def test_a_missing_key(self, blob_store: BlobStore) -> None:
        with pytest.raises(BlobNotFound):
            await drain(read_through(blob_store, "missing", bytes))

    async def test_an_error_of_each_reaches_the_caller(self, blob_store: BlobStore) -> None:
        await blob_store.put("damaged", chunked(b"x" * (2 * MiB), MiB))

        def each(view: memoryview) -> bytes:
            raise ValueError("damaged")

        with pytest.raises(ValueError, match="damaged"):
            await drain(read_through(blob_store, "damaged", each))


@pytest.mark.s3
class TestS3ReadAhead:
    async def test_chunks_read_ahead_are_taken_without_waiting_in_a_worker_thread(
        self, s3_store: BlobStore, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        data = random.Random("ahead").randbytes(2 * MiB)
        await s3_store.put("ahead", chunked(data, MiB))
        waits = 0
        blocking_next = s3_module._ReadAhead.next

        def counted(ahead: s3_module._ReadAhead[bytes]) -> tuple[bytes] | tuple[()]:
            nonlocal waits
            waits += 1
            return blocking_next(ahead)

        monkeypatch.setattr(s3_module._ReadAhead, "next", counted)
        received = []
        async for chunk in s3_store.get("ahead", chunk_size=64 * 1024):
            received.append(chunk)
            await anyio.sleep(0.005)  # a caller slower than the read-ahead: its next chunks are waiting for it
        assert b"".join(received) == data
        assert waits < len(received) // 2


@pytest.mark.s3
class TestS3Bucket:
    async def test_ensure_bucket_creates_it_once(self, seaweed: SeaweedServer) -> None:
        name = f"ensure-{uuid.uuid4().hex[:12]}"
        store = S3BlobStore(seaweed.client(), name)
        with pytest.raises(BlobStoreUnavailable, match="does not exist"):
            await store.check()
        try:
            await store.ensure_bucket()
            await store.ensure_bucket()
            await store.check()
        finally:
            seaweed.client().remove_bucket(name)


class TestLocalFiles:
    """What only the local backend promises: private file modes and a hidden temporary folder."""

    async def test_files_are_0600_and_folders_0700(self, tmp_path: Path) -> None:
        root = tmp_path / "blobs"
        await LocalBlobStore(root).put("a/b/c", chunked(b"secret", 6))
        for path in (root, root / "a", root / "a" / "b", root / ".tmp"):
            assert stat.S_IMODE(path.stat().st_mode) == 0o700, path
        assert stat.S_IMODE((root / "a" / "b" / "c").stat().st_mode) == 0o600

    async def test_temporary_leftovers_are_never_listed(self, tmp_path: Path) -> None:
        store = LocalBlobStore(tmp_path)
        await store.put("k", chunked(b"1", 1))
        (tmp_path / ".tmp" / "put-crashed").write_bytes(b"half")
        assert await listing(store) == {"k": 1}

    async def test_delete_prunes_empty_folders(self, tmp_path: Path) -> None:
        store = LocalBlobStore(tmp_path)
        await store.put("citizen-1/doc/v1", chunked(b"1", 1))
        await store.put("citizen-2/doc/v1", chunked(b"1", 1))
        await store.delete("citizen-1/doc/v1")
        assert sorted(p.name for p in tmp_path.iterdir()) == [".tmp", "citizen-2"]

    async def test_key_that_is_also_a_folder_is_refused(self, tmp_path: Path) -> None:
        store = LocalBlobStore(tmp_path)
        await store.put("a/b", chunked(b"1", 1))
        with pytest.raises(BlobStoreError):
            await store.put("a", chunked(b"2", 1))
        with pytest.raises(BlobStoreError):
            await store.put("a/b/c", chunked(b"3", 1))
        assert await listing(store) == {"a/b": 1}

    async def test_unwritable_root_is_unavailable(self, tmp_path: Path) -> None:
        (tmp_path / "file").write_bytes(b"")
        with pytest.raises(BlobStoreUnavailable):
            await LocalBlobStore(tmp_path / "file" / "blobs").check()


class TestFactory:
    def test_file_url_builds_a_local_store(self, tmp_path: Path) -> None:
        assert isinstance(blob_store_from_url(tmp_path.as_uri()), LocalBlobStore)

    @pytest.mark.parametrize(
        "url",
        [
            "",
            "blobs",
            "ftp://host/x",
            "file://relative/path",
            "file:///",
            "file:///x?y=1",
            "s3://Bad_Bucket?endpoint=h:1",
            "s3://bucket",
            "s3://bucket?endpoint=",
            "s3://bucket/path?endpoint=h:1",
            "s3://bucket?endpoint=h:1&secure=maybe",
            "s3://bucket?endpoint=h:1&typo=1",
            "s3://user:pw@bucket?endpoint=h:1",
        ],
    )
    def test_bad_urls_are_rejected_clearly(self, url: str) -> None:
        with pytest.raises(ValueError, match="URL") as caught:
            blob_store_from_url(url, access_key="ak", secret_key="sk")
        assert "pw" not in str(caught.value)

    def test_s3_needs_keys(self) -> None:
        with pytest.raises(ValueError, match="access_key"):
            blob_store_from_url("s3://bucket?endpoint=127.0.0.1:9000&secure=false")
