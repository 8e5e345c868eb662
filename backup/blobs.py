"""The blobs in a backup: `blobs.jsonl` names every stored object with its size and SHA-256, and by default a copy of
each (still sealed: the blobs are ciphertext under the citizens' keys) sits under `blobs/`. A bucket with its own
replication or versioning may be backed up as the manifest alone; its restore then checks the bucket against it."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio

from backup.errors import BackupError
from backup.manifest import CHUNK, FileEntry
from storage.blobs.base import BlobStore, BlobStoreError, validate_key

FILE = "blobs.jsonl"
FOLDER = "blobs"


@dataclass(frozen=True)
class BlobEntry:
    key: str
    size: int
    sha256: str


async def export(store: BlobStore, dest: Path, *, copy: bool) -> tuple[dict[str, Any], dict[str, FileEntry]]:
    """Hash (and copy) every object; returns the manifest's `blobs` section and the copied files' entries."""
    files: dict[str, FileEntry] = {}
    count = total = 0
    with (dest / FILE).open("w") as out:
        async for info in store.list(""):
            entry = await _read(store, info.key, dest / FOLDER / info.key if copy else None)
            out.write(json.dumps({"key": entry.key, "size": entry.size, "sha256": entry.sha256}) + "\n")
            if copy:
                files[f"{FOLDER}/{entry.key}"] = FileEntry(entry.sha256, entry.size)
            count, total = count + 1, total + entry.size
    return {"file": FILE, "objects": count, "bytes": total, "copied": copy}, files


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
    for entry in entries:
        await store.put(entry.key, _chunks(source / FOLDER / entry.key))
        written.append(entry.key)


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
