"""The blobs in a backup: `blobs.jsonl` names every stored object with its size and SHA-256, and by default a copy of
each (still sealed: the blobs are ciphertext under the citizens' keys) sits under `blobs/`. A bucket with its own
replication or versioning may be backed up as the manifest alone; its restore then checks the bucket against it."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio

from backup.errors import BackupError
from backup.manifest import CHUNK, FileEntry
from storage.blobs.base import BlobStore, BlobStoreError, validate_key

FILE = "blobs.jsonl"
FOLDER = "blobs"
CONCURRENCY = 8


@dataclass(frozen=True)
class BlobEntry:
    key: str
    size: int
    sha256: str


async def export(store: BlobStore, dest: Path, *, copy: bool) -> tuple[dict[str, Any], dict[str, FileEntry]]:
    """Hash (and copy) every object, `CONCURRENCY` at a time; returns the manifest's `blobs` section and the copied
    files' entries."""
    files: dict[str, FileEntry] = {}
    totals = [0, 0]
    with (dest / FILE).open("w") as out:

        async def one(key: str) -> None:
            entry = await _read(store, key, dest / FOLDER / key if copy else None)
            out.write(json.dumps({"key": entry.key, "size": entry.size, "sha256": entry.sha256}) + "\n")
            if copy:
                files[f"{FOLDER}/{entry.key}"] = FileEntry(entry.sha256, entry.size)
            totals[0], totals[1] = totals[0] + 1, totals[1] + entry.size

        await _each(_keys(store), one)
    return {"file": FILE, "objects": totals[0], "bytes": totals[1], "copied": copy}, files


async def _keys(store: BlobStore) -> AsyncIterator[str]:
    async for info in store.list(""):
        yield info.key


async def _listed(entries: list[BlobEntry]) -> AsyncIterator[str]:
    for entry in entries:
        yield entry.key


async def _each(keys: AsyncIterator[str], work: Callable[[str], Awaitable[None]]) -> None:
    """`work` on every key, `CONCURRENCY` at once (each blob is a round trip to the store); the first failure stops
    the rest and is raised as itself."""
    slots = anyio.Semaphore(CONCURRENCY)
    failures: list[BaseException] = []
    async with anyio.create_task_group() as group:

        async def run(key: str) -> None:
            try:
                await work(key)
            except Exception as exc:  # raised again below, as itself, not inside an exception group
                failures.append(exc)
                group.cancel_scope.cancel()
            finally:
                slots.release()

        try:
            async for key in keys:
                await slots.acquire()
                group.start_soon(run, key)
        except Exception as exc:  # the listing failed: the same, for the tasks under way
            failures.append(exc)
            group.cancel_scope.cancel()
    if failures:
        raise failures[0]


def read(source: Path) -> list[BlobEntry]:
    entries = []
    with (source / FILE).open() as lines:
        for number, line in enumerate(lines, start=1):
            try:
                data = json.loads(line)
                entries.append(BlobEntry(validate_key(str(data["key"])), int(data["size"]), str(data["sha256"])))
            except (ValueError, KeyError, TypeError):
                raise BackupError(f"{FILE} line {number} is malformed") from None
    return entries


async def is_empty(store: BlobStore) -> bool:
    async for _info in store.list(""):
        return False
    return True


async def check_in_store(store: BlobStore, entries: list[BlobEntry]) -> None:
    """A manifest-only backup: every object is in the target bucket with its size and SHA-256."""
    for entry in entries:
        try:
            found = await _read(store, entry.key, None)
        except BlobStoreError as exc:
            raise BackupError(f"blob {entry.key} of the manifest is not in the target store ({exc})") from None
        if (found.size, found.sha256) != (entry.size, entry.sha256):
            raise BackupError(f"blob {entry.key} in the target store differs from the manifest")


async def upload(store: BlobStore, source: Path, entries: list[BlobEntry], written: list[str]) -> None:
    """Put every copied blob into the target store; `written` collects the keys put (for an undo)."""

    async def one(key: str) -> None:
        written.append(key)  # before the put: a put cut short may still have left the object
        await store.put(key, _chunks(source / FOLDER / key))

    await _each(_listed(entries), one)


async def remove(store: BlobStore, keys: list[str]) -> None:
    for key in keys:
        try:
            await store.delete(key)
        except BlobStoreError:
            continue  # an object left behind is an orphan the janitor removes


async def _read(store: BlobStore, key: str, copy_to: Path | None) -> BlobEntry:
    digest, size = hashlib.sha256(), 0
    out = None
    if copy_to is not None:
        copy_to.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        out = copy_to.open("wb")
    try:
        async for chunk in store.get(key, chunk_size=CHUNK):
            digest.update(chunk)
            size += len(chunk)
            if out is not None:
                await anyio.to_thread.run_sync(out.write, chunk)
        if out is not None:
            out.flush()
            os.fsync(out.fileno())
    finally:
        if out is not None:
            out.close()
    return BlobEntry(key, size, digest.hexdigest())


async def _chunks(path: Path) -> AsyncIterator[bytes]:
    async with await anyio.open_file(path, "rb") as stream:
        while chunk := await stream.read(CHUNK):
            yield chunk
