"""The S3 store's input reader gives the SDK's part reads whole parts, in the input's order, and the input's end."""

from __future__ import annotations

from collections.abc import AsyncIterator

import anyio
import anyio.to_thread

from storage.blobs.s3 import _ChunkReader

PART = 5 << 20
CHUNK = 64 * 1024


async def _chunks(total: int) -> AsyncIterator[bytes]:
    for n in range(total // CHUNK):
        yield n.to_bytes(4, "big") * (CHUNK // 4)


async def _reads(total: int, sizes: list[int]) -> list[bytes]:
    reader = _ChunkReader(ahead=PART)
    reads: list[bytes] = []
    async with anyio.create_task_group() as tasks:
        tasks.start_soon(reader.fill, _chunks(total))
        reads += [await anyio.to_thread.run_sync(reader.read, size) for size in sizes]
    return reads


class TestPartReads:
    def test_a_part_comes_in_one_read_and_the_rest_after_it(self) -> None:
        total = 2 * PART + 3 * CHUNK
        got = anyio.run(_reads, total, [PART + 1, 1, PART, PART, PART])
        assert [len(piece) for piece in got] == [PART, 1, PART, 3 * CHUNK - 1, 0]

    def test_the_bytes_keep_their_order_across_split_chunks(self) -> None:
        total = PART + 4 * CHUNK
        got = anyio.run(_reads, total, [CHUNK + 7, PART, PART])
        expected = b"".join(n.to_bytes(4, "big") * (CHUNK // 4) for n in range(total // CHUNK))
        assert b"".join(got) == expected
