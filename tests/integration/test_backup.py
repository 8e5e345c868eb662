"""`congdanso backup` and `congdanso restore` as an operator runs them (real subprocesses), on SQLite with the blob
folder and on PostgreSQL with SeaweedFS: back up, wipe, restore into a fresh target, and every paper reads back
byte-exact through the API with the tokens of before; the access log's chain verifies. A restore refuses (exit 2)
without the backup's master key, on an altered backup and into a target that is not empty, and then leaves the target
as empty as it found it."""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import subprocess
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from unittest import mock

import anyio
import pytest
from litestar.testing import TestClient

from api.app import create_app
from api.cli import main, migrate
from api.cli_backup import sources
from backup import blobs
from crypto.clock import FrozenClock
from crypto.keyring import load_keyring, load_or_create_keyring
from tests.integration.conftest import START, Wallet, settings_for
from tests.integration.wallet_helpers import cccd_fields, diploma_fields, pdf_bytes, png_bytes, upload

ROOT = Path(__file__).resolve().parents[2]
CONGDANSO = ROOT / ".venv" / "bin" / "congdanso"
pytestmark = pytest.mark.timeout(240)


@dataclass
class Target:
    """One service's data: its folder (keys, SQLite files, blob folder) and its database, key store and bucket."""

    data_dir: Path
    values: dict[str, str] = field(default_factory=dict)

    def env(self) -> dict[str, str]:
        inherited = {k: v for k, v in os.environ.items() if not k.startswith("WALLET_")}
        return inherited | {"WALLET_DATA_DIR": str(self.data_dir), "WALLET_LOG_LEVEL": "error"} | self.values

    def congdanso(self, *args: str) -> subprocess.CompletedProcess[str]:
        """The command as an operator runs it: a process of its own."""
        return subprocess.run(
            [str(CONGDANSO), *args], env=self.env(), capture_output=True, text=True, timeout=120, check=False
        )

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        """The same entry point in this process (a new process costs seconds on a busy machine): for the refusals."""
        out, err = io.StringIO(), io.StringIO()
        umask = os.umask(0o077)
        try:
            with mock.patch.dict(os.environ, self.env(), clear=True), redirect_stdout(out), redirect_stderr(err):
                code = main(list(args))
        finally:
            os.umask(umask)
        return subprocess.CompletedProcess(list(args), code, out.getvalue(), err.getvalue())

    def overrides(self) -> dict[str, Any]:
        names = {"WALLET_DATABASE_URL": "database_url", "WALLET_KEYSTORE_URL": "keystore_url"}
        names |= {"WALLET_STORAGE_URL": "storage_url", "WALLET_S3_ACCESS_KEY": "s3_access_key"}
        names |= {"WALLET_S3_SECRET_KEY": "s3_secret_key"}
        return {names[k]: v for k, v in self.values.items()}

    @property
    def keyring(self) -> Path:
        return self.data_dir / "keys" / "keyring.json"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=[pytest.mark.postgres, pytest.mark.s3])])
def make_target(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    """A new, empty target each call: SQLite files and a blob folder, or two PostgreSQL databases and a bucket."""
    cleanups: list[Any] = []

    def make(name: str) -> Target:
        target = Target(tmp_path / name / "data")
        if request.param == "postgres":
            if request.config.getoption("--no-postgres"):
                pytest.skip("PostgreSQL disabled with --no-postgres")
            server = request.getfixturevalue("postgres_server")
            seaweed = request.getfixturevalue("seaweed")
            main, keys = (f"b_{uuid.uuid4().hex[:12]}" for _ in range(2))
            bucket = f"backup-{uuid.uuid4().hex[:12]}"
            target.values = {
                "WALLET_DATABASE_URL": server.create_database(main),
                "WALLET_KEYSTORE_URL": server.create_database(keys),
                "WALLET_STORAGE_URL": seaweed.blob_store_url(bucket),
                "WALLET_S3_ACCESS_KEY": seaweed.access_key,
                "WALLET_S3_SECRET_KEY": seaweed.secret_key,
            }
            seaweed.create_bucket(bucket)
            cleanups.extend([lambda: server.drop_database(main), lambda: server.drop_database(keys)])
            cleanups.append(lambda: _empty_bucket(seaweed, bucket))
        return target

    yield make
    for cleanup in cleanups:
        cleanup()


def _empty_bucket(seaweed: Any, bucket: str) -> None:
    if not seaweed.running:
        return
    client = seaweed.client()
    for item in client.list_objects(bucket, recursive=True):
        client.remove_object(bucket, item.object_name)
    client.remove_bucket(bucket)


def open_wallet(target: Target) -> Wallet:
    overrides = target.overrides()
    settings = settings_for(target.data_dir.parent, overrides.pop("database_url", None), **overrides)
    migrate(settings)
    clock = FrozenClock(START)
    app = create_app(settings, clock=clock)
    client = TestClient(app)
    client.__enter__()
    return Wallet(app, client, clock, settings)


def fill(wallet: Wallet) -> dict[str, tuple[str, dict[str, Any], dict[str, bytes]]]:
    """Two citizens with two papers each, each with a scan: {document id: (token, its JSON, {file id: bytes})}."""
    papers = {}
    for n in range(2):
        data, tokens = wallet.register(proofed=n == 0)  # an officer's scan: entries in the access log
        token = tokens["access_token"]
        for doc_type, fields, scan in [
            ("cccd", cccd_fields(data), ("mat-truoc.png", png_bytes(f"scan-{n}"))),
            ("diploma", diploma_fields(holder_name=data["full_name"]), ("bang.pdf", pdf_bytes(f"bang-{n}", 3000))),
        ]:
            answer = upload(wallet, token, doc_type, fields, [scan])
            assert answer.status_code == 201, answer.text
            papers[answer.json()["id"]] = (token, answer.json(), {answer.json()["files"][0]["id"]: scan[1]})
    return papers


def assert_every_paper_reads_back(wallet: Wallet, papers: dict[str, Any]) -> None:
    for document_id, (token, stored, scans) in papers.items():
        got = wallet.get(f"/documents/{document_id}", token)
        assert got.status_code == 200, got.text
        assert got.json()["fields"] == stored["fields"]
        for file_id, content in scans.items():
            read = wallet.get(f"/documents/{document_id}/files/{file_id}", token)
            assert read.status_code == 200 and read.content == content


def assert_still_empty(target: Target) -> None:
    from backup import database, keys

    settings = open_settings(target)
    assert database.tables_with_rows(settings.resolved_direct_database_url) == []
    assert keys.count(settings.resolved_keystore_url) == 0


def open_settings(target: Target) -> Any:
    from api.settings import Settings

    return Settings(data_dir=target.data_dir, **target.overrides())


class TestBackupRestore:
    def test_a_wiped_service_comes_back_byte_exact(self, make_target: Any, tmp_path: Path) -> None:
        source = make_target("source")
        wallet = open_wallet(source)
        papers = fill(wallet)
        wallet.client.__exit__(None, None, None)
        assert source.cli("audit", "checkpoint").returncode == 0
        backup = tmp_path / "backup"
        taken = source.congdanso("backup", str(backup))
        assert taken.returncode == 0, taken.stderr
        report = json.loads(taken.stdout)
        assert report["citizen_keys"] == 2 and report["blobs"]["objects"] == 4 and report["blobs"]["copied"]
        assert_no_master_key_inside(backup, source.keyring)
        saved_keyring = tmp_path / "operator-keyring.json"  # the master key lives apart from the backups
        shutil.copy(source.keyring, saved_keyring)
        shutil.rmtree(source.data_dir)  # the SQLite files, the key store and the blob folder are gone

        target = make_target("target")
        load_or_create_keyring(target.keyring)  # a service with master keys of its own
        refused = target.cli("restore", str(backup))
        assert refused.returncode == 2 and "do not open with the master keys at hand" in refused.stderr
        assert_still_empty(target)
        shutil.copy(saved_keyring, target.keyring)

        tampered = tmp_path / "tampered"
        shutil.copytree(backup, tampered)
        scan = next(p for p in (tampered / "blobs").rglob("*") if p.is_file())
        scan.write_bytes(scan.read_bytes()[:-1] + bytes([scan.read_bytes()[-1] ^ 1]))
        refused = target.cli("restore", str(tampered))
        assert refused.returncode == 2 and "does not match its SHA-256" in refused.stderr
        assert_still_empty(target)

        damaged = damaged_dump(backup, tmp_path / "damaged")  # hashed as written: broken when it was taken
        refused = target.cli("restore", str(damaged))
        assert refused.returncode == 2 and "failed" in refused.stderr
        assert_still_empty(target)  # the blobs and keys it had written before the database failed are gone again
        assert anyio.run(blobs.is_empty, sources(open_settings(target)).blob_store)

        restored = target.congdanso("restore", str(backup))
        assert restored.returncode == 0, restored.stderr
        assert json.loads(restored.stdout)["blobs"] == 4
        again = target.cli("restore", str(backup))
        assert again.returncode == 2 and "not empty" in again.stderr

        wallet = open_wallet(target)
        try:
            assert_every_paper_reads_back(wallet, papers)
        finally:
            wallet.client.__exit__(None, None, None)
        verified = target.cli("audit", "verify")
        assert verified.returncode == 0, verified.stdout + verified.stderr
        audit = json.loads(verified.stdout)
        assert audit["ok"] and audit["entries"] > 0 and audit["checkpoints"] == 1

    def test_a_manifest_only_backup_checks_the_bucket_it_trusts(self, make_target: Any, tmp_path: Path) -> None:
        source = make_target("source")
        wallet = open_wallet(source)
        papers = fill(wallet)
        wallet.client.__exit__(None, None, None)
        backup = tmp_path / "backup"
        taken = source.cli("backup", "--manifest-only", str(backup))
        assert taken.returncode == 0, taken.stderr
        assert not (backup / "blobs").exists()
        # The bucket survives (its own replication); only the databases and the key store are lost.
        target = make_target("target")
        target.values = {k: v for k, v in source.values.items() if "STORAGE" in k or "S3" in k} | {
            k: v for k, v in target.values.items() if "STORAGE" not in k and "S3" not in k
        }
        if "WALLET_STORAGE_URL" not in target.values:
            shutil.copytree(source.data_dir / "blobs", target.data_dir / "blobs")
        target.keyring.parent.mkdir(parents=True, mode=0o700)
        shutil.copy(source.keyring, target.keyring)
        restored = target.cli("restore", str(backup), "--force")  # the bucket holds the blobs already
        assert restored.returncode == 0, restored.stderr
        wallet = open_wallet(target)
        try:
            assert_every_paper_reads_back(wallet, papers)
        finally:
            wallet.client.__exit__(None, None, None)
        store = sources(open_settings(target)).blob_store
        key = json.loads((backup / "blobs.jsonl").read_text().splitlines()[0])["key"]
        anyio.run(store.put, key, _one(b"not the sealed scan"))
        refused = target.cli("restore", str(backup), "--force")
        assert refused.returncode == 2 and f"blob {key} in the target store differs" in refused.stderr


def damaged_dump(backup: Path, copy: Path) -> Path:
    """A copy of the backup whose database dump lost its second half, the manifest hashing it as it is."""
    shutil.copytree(backup, copy)
    manifest = json.loads((copy / "manifest.json").read_text())
    name = manifest["database"]["file"]
    content = (copy / name).read_bytes()
    (copy / name).write_bytes(content[: len(content) // 2])
    manifest["files"][name] = {
        "sha256": hashlib.sha256(content[: len(content) // 2]).hexdigest(),
        "size": len(content) // 2,
    }
    (copy / "manifest.json").write_text(json.dumps(manifest))
    return copy


async def _one(content: bytes) -> AsyncIterator[bytes]:
    yield content


def assert_no_master_key_inside(backup: Path, keyring_file: Path) -> None:
    """Neither the keyring file nor any master or signing key's bytes are in any file of the backup."""
    ring = load_keyring(keyring_file)
    secrets = [m.key for m in ring.master_keys if m.key is not None]
    assert secrets
    for path in backup.rglob("*"):
        if path.is_file():
            content = path.read_bytes()
            assert not any(secret in content for secret in secrets), path
            assert keyring_file.read_bytes() not in content
