"""`manifest.json`: what a backup holds, the settings it came from (no secrets) and the SHA-256 of every file in it.

The manifest is written last, once every other file is complete: a folder without one is an interrupted backup."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from backup.errors import BackupError

FORMAT = 1
MANIFEST = "manifest.json"
CHUNK = 1 << 20


def sha256_file(path: Path) -> tuple[str, int]:
    """(hex SHA-256, size) of a file, read in 1 MiB chunks."""
    digest, size = hashlib.sha256(), 0
    with path.open("rb") as stream:
        while chunk := stream.read(CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


@dataclass(frozen=True)
class FileEntry:
    sha256: str
    size: int


@dataclass
class Manifest:
    created_at: str
    source: dict[str, Any]
    database: dict[str, Any]
    keystore: dict[str, Any]
    blobs: dict[str, Any]
    files: dict[str, FileEntry] = field(default_factory=dict)
    format: int = FORMAT

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["files"] = {name: asdict(entry) for name, entry in sorted(self.files.items())}
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Manifest:
        if data.get("format") != FORMAT:
            raise BackupError(f"unknown backup format {data.get('format')!r} (this release reads {FORMAT})")
        files = {str(name): FileEntry(str(e["sha256"]), int(e["size"])) for name, e in data["files"].items()}
        return cls(
            created_at=str(data["created_at"]),
            source=dict(data["source"]),
            database=dict(data["database"]),
            keystore=dict(data["keystore"]),
            blobs=dict(data["blobs"]),
            files=files,
        )

    def hash_files(self, root: Path, names: Iterable[str]) -> None:
        for name in names:
            self.files[name] = FileEntry(*sha256_file(root / name))

    def write(self, root: Path) -> None:
        """Written through a temporary file and renamed, then the folder synced: the manifest appears whole or not."""
        path, tmp = root / MANIFEST, root / f".{MANIFEST}.tmp"
        tmp.write_text(json.dumps(self.to_json(), indent=2, ensure_ascii=False) + "\n")
        with tmp.open("rb") as stream:
            os.fsync(stream.fileno())
        tmp.replace(path)
        fd = os.open(root, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def read_manifest(root: Path) -> Manifest:
    path = root / MANIFEST
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        raise BackupError(f"{root} holds no {MANIFEST}: not a backup, or an interrupted one") from None
    except (OSError, ValueError) as exc:
        raise BackupError(f"cannot read {path}: {exc}") from None
    try:
        return Manifest.from_json(data)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise BackupError(f"{path} is malformed: {exc!r}") from None


def verify_files(root: Path, manifest: Manifest) -> None:
    """Every file the manifest names is there with its size and SHA-256, and no other file is: checked whole before a
    restore writes anything."""
    present = {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()} - {MANIFEST}
    if extra := sorted(present - manifest.files.keys()):
        raise BackupError(f"the backup holds files its manifest does not name: {', '.join(extra[:5])}")
    for name, entry in sorted(manifest.files.items()):
        path = root / name
        if not path.is_file():
            raise BackupError(f"the backup lacks {name}")
        if sha256_file(path) != (entry.sha256, entry.size):
            raise BackupError(f"{name} does not match its SHA-256 in the manifest: the backup was altered or damaged")
