"""The manifest's checks, on real files: every file the manifest names, at its size and SHA-256, and nothing else."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from backup import BackupError, BackupOptions, Sources, take_backup
from backup.manifest import Manifest, read_manifest, verify_files
from crypto.keyring import load_or_create_keyring
from crypto.keys import LocalKeyProvider
from storage.blobs.factory import blob_store_from_url
from storage.blobs.local import LocalBlobStore
from storage.db import create_db_engine
from storage.migrate import upgrade
from tests.postgres import free_port


def written(root: Path) -> Manifest:
    (root / "blobs").mkdir(parents=True)
    (root / "database.sqlite3").write_bytes(b"a database")
    (root / "blobs" / "c1").write_bytes(b"sealed bytes")
    manifest = Manifest(datetime.now(UTC).isoformat(), {}, {}, {}, {})
    manifest.hash_files(root, ["database.sqlite3", "blobs/c1"])
    manifest.write(root)
    return manifest


class TestVerifyFiles:
    def test_an_intact_backup_passes(self, tmp_path: Path) -> None:
        written(tmp_path)
        verify_files(tmp_path, read_manifest(tmp_path))

    def test_one_flipped_bit_is_named(self, tmp_path: Path) -> None:
        written(tmp_path)
        (tmp_path / "blobs" / "c1").write_bytes(b"sealed bytez")
        with pytest.raises(BackupError, match="blobs/c1 does not match its SHA-256"):
            verify_files(tmp_path, read_manifest(tmp_path))

    def test_a_missing_or_an_added_file_is_refused(self, tmp_path: Path) -> None:
        written(tmp_path)
        (tmp_path / "extra").write_bytes(b"")
        with pytest.raises(BackupError, match="does not name: extra"):
            verify_files(tmp_path, read_manifest(tmp_path))
        (tmp_path / "extra").unlink()
        (tmp_path / "database.sqlite3").unlink()
        with pytest.raises(BackupError, match=r"lacks database\.sqlite3"):
            verify_files(tmp_path, read_manifest(tmp_path))

    def test_no_manifest_or_another_format_is_refused(self, tmp_path: Path) -> None:
        with pytest.raises(BackupError, match="not a backup, or an interrupted one"):
            read_manifest(tmp_path)
        written(tmp_path)
        data = json.loads((tmp_path / "manifest.json").read_text()) | {"format": 99}
        (tmp_path / "manifest.json").write_text(json.dumps(data))
        with pytest.raises(BackupError, match="unknown backup format 99"):
            read_manifest(tmp_path)


class TestTakeBackup:
    def sources(self, tmp_path: Path) -> Sources:
        ring, _ = load_or_create_keyring(tmp_path / "keyring.json")
        return Sources(
            database_url=f"sqlite:///{tmp_path / 'missing' / 'wallet.db'}",
            keystore_url=f"sqlite:///{tmp_path / 'keys.db'}",
            blob_store=LocalBlobStore(tmp_path / "blobs"),
            keys=lambda: LocalKeyProvider(ring),
        )

    def test_a_folder_that_holds_something_is_refused(self, tmp_path: Path) -> None:
        (tmp_path / "dest").mkdir()
        (tmp_path / "dest" / "notes.txt").write_text("mine")
        with pytest.raises(BackupError, match="not an empty folder"):
            take_backup(self.sources(tmp_path), tmp_path / "dest", BackupOptions())
        assert (tmp_path / "dest" / "notes.txt").read_text() == "mine"

    def test_an_interrupted_backup_leaves_nothing(self, tmp_path: Path) -> None:
        """The database and the keys are written, then the blob store fails: no file of it stays behind."""
        sqlite3.connect(tmp_path / "wallet.db").execute("CREATE TABLE citizen (id TEXT)").connection.close()
        engine = create_db_engine(f"sqlite:///{tmp_path / 'keys.db'}")
        upgrade(engine, chain="keystore")
        engine.dispose()
        unreachable = blob_store_from_url(
            f"s3://wallet?endpoint=127.0.0.1:{free_port()}&secure=false", access_key="a", secret_key="b"
        )
        sources = replace(
            self.sources(tmp_path), database_url=f"sqlite:///{tmp_path / 'wallet.db'}", blob_store=unreachable
        )
        with pytest.raises(BackupError, match="cannot read the blob store"):
            take_backup(sources, tmp_path / "dest", BackupOptions())
        assert not (tmp_path / "dest").exists()
        (tmp_path / "given").mkdir()
        with pytest.raises(BackupError, match="cannot read the blob store"):
            take_backup(sources, tmp_path / "given", BackupOptions())
        assert list((tmp_path / "given").iterdir()) == []
