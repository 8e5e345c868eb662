"""Take a backup and restore one: the order of the steps is what makes them consistent.

Backup: the database snapshot first, then the key store, then the blobs. Every key and blob a row of the snapshot
points at existed when the snapshot was taken and is still there a moment later (the service never deletes a key or
blob a live row points at); keys and blobs newer than the snapshot are copied too and, after a restore, are orphans the
janitor removes.

Restore: everything is checked before anything is written (every file's SHA-256, every wrapped key opening under the
master keys at hand, the target empty), then the blobs, the keys and last the database in one transaction, so no
restored row ever points at a key or blob not yet there; a failure undoes the blobs and keys it wrote.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import anyio

from backup import blobs, database, keys
from backup.errors import BackupError
from backup.manifest import Manifest, read_manifest, verify_files
from crypto.keys import KeyProvider
from storage.blobs.base import BlobStore, BlobStoreError


@dataclass(frozen=True)
class Sources:
    """Where the service's data lives (the backup's source, or the restore's target)."""

    database_url: str  # a direct connection to PostgreSQL, not through a transaction-mode pooler
    keystore_url: str
    blob_store: BlobStore
    keys: Callable[[], KeyProvider]  # the master keys at hand: the keyring file or the HSM
    description: dict[str, Any] = field(default_factory=dict)  # settings for the manifest, without secrets


@dataclass(frozen=True)
class BackupOptions:
    copy_blobs: bool = True
    force: bool = False


def take_backup(sources: Sources, dest: Path, options: BackupOptions, *, now: datetime | None = None) -> Manifest:
    """Write a backup into `dest` (a new or empty folder); on failure nothing is left in it."""
    if dest.exists() and (not dest.is_dir() or any(dest.iterdir())):
        raise BackupError(f"{dest} exists and is not an empty folder")
    made = not dest.exists()
    dest.mkdir(parents=True, exist_ok=True, mode=0o700)
    try:
        started = now or datetime.now(UTC)
        db_section = database.dump(sources.database_url, dest)
        keystore_section = keys.export(sources.keystore_url, dest, sources.keys())
        blob_section, blob_files = anyio.run(_export_blobs, sources.blob_store, dest, options.copy_blobs)
        manifest = Manifest(
            created_at=started.isoformat(),
            source=sources.description,
            database=db_section,
            keystore=keystore_section,
            blobs=blob_section,
        )
        manifest.hash_files(dest, [str(db_section["file"]), keys.FILE, blobs.FILE])
        manifest.files.update(blob_files)
        manifest.write(dest)
    except BaseException:
        _remove_partial(dest, folder_too=made)
        raise
    return manifest


def _remove_partial(dest: Path, *, folder_too: bool) -> None:
    """An interrupted backup leaves nothing that could pass for one (the folder itself only if it made it)."""
    if folder_too:
        shutil.rmtree(dest, ignore_errors=True)
        return
    for child in dest.iterdir():
        if child.is_dir():
            shutil.rmtree(child, ignore_errors=True)
        else:
            child.unlink(missing_ok=True)


async def _export_blobs(store: BlobStore, dest: Path, copy: bool) -> Any:
    try:
        return await blobs.export(store, dest, copy=copy)
    except BlobStoreError as exc:
        raise BackupError(f"cannot read the blob store: {exc}") from None


def restore(sources: Sources, source: Path, options: BackupOptions) -> dict[str, Any]:
    """Restore the backup in `source` into the target `sources`; returns what was restored."""
    manifest = read_manifest(source)
    verify_files(source, manifest)
    entries = blobs.read(source)
    if manifest.blobs.get("copied"):
        _check_copies(manifest, entries)
    rows = keys.read(source)
    if len(rows) != manifest.keystore.get("rows"):
        raise BackupError(f"{keys.FILE} holds {len(rows)} keys, the manifest says {manifest.keystore.get('rows')}")
    database.check_target(sources.database_url, manifest.database)
    keys.check_unwrap(rows, sources.keys(), manifest.keystore)
    was_empty = _check_empty(sources, force=options.force)
    if not manifest.blobs.get("copied"):
        anyio.run(blobs.check_in_store, sources.blob_store, entries)
    written: list[str] = []
    try:
        if manifest.blobs.get("copied"):
            anyio.run(blobs.upload, sources.blob_store, source, entries, written)
        keys.load(sources.keystore_url, rows)
        database.restore(sources.database_url, source, manifest.database)
    except BaseException as exc:
        if was_empty:
            _undo(sources, written)
        if isinstance(exc, BlobStoreError):
            raise BackupError(f"cannot write the blob store: {exc}") from None
        raise
    return {
        "restored_from": str(source),
        "created_at": manifest.created_at,
        "database": manifest.database["backend"],
        "citizen_keys": len(rows),
        "blobs": len(entries),
        "blobs_copied": bool(manifest.blobs.get("copied")),
    }


def _check_copies(manifest: Manifest, entries: list[blobs.BlobEntry]) -> None:
    """`blobs.jsonl` and the copied files agree, object by object."""
    copied = {name for name in manifest.files if name.startswith(f"{blobs.FOLDER}/")}
    for entry in entries:
        found = manifest.files.get(f"{blobs.FOLDER}/{entry.key}")
        if found is None or (found.sha256, found.size) != (entry.sha256, entry.size):
            raise BackupError(f"blob {entry.key} of {blobs.FILE} has no matching copy in the backup")
    if len(copied) != len(entries):
        raise BackupError(f"the backup holds {len(copied)} blob copies for {len(entries)} objects in {blobs.FILE}")


def _check_empty(sources: Sources, *, force: bool) -> bool:
    """True when the target holds nothing; otherwise refuse, unless `force` (then its content is replaced)."""
    found = [f"table {name}" for name in database.tables_with_rows(sources.database_url)]
    if (stored := keys.count(sources.keystore_url)) > 0:
        found.append(f"{stored} citizen keys")
    if not anyio.run(blobs.is_empty, sources.blob_store):
        found.append("blobs in the store")
    if found and not force:
        raise BackupError(f"the target is not empty ({', '.join(found[:6])}): restore into a fresh stack, or --force")
    return not found


def _undo(sources: Sources, written: list[str]) -> None:
    """Take back what a failed restore wrote into a target that was empty: no half-restored target."""
    anyio.run(blobs.remove, sources.blob_store, written)
    keys.clear(sources.keystore_url)
