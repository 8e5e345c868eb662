"""The restore drill (docs/operations/backup.md): a stack backed up while citizens register and upload papers through
the load balancer, destroyed, a fresh stack brought up with the same master key, the backup restored into it. Every
paper acknowledged before the backup began reads back byte-exact, the access log's chain verifies, and no message the
backup recorded as sent is sent again: the only messages presented twice are those sent after the snapshot, under the
same id (the SMS gateway's Idempotency-Key), so a receiver that dedupes by it delivers each once.

Bounded in `make test` (a few citizens); `STACK_TESTS=full` (`make test-stack`) runs a longer load."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from stack.supervisor import destroy
from tests.factories import outbox_lines
from tests.integration.wallet_helpers import cccd_fields, png_bytes
from tests.stack.conftest import RunningStack

FULL = os.environ.get("STACK_TESTS") == "full"
THREADS = 4 if FULL else 2
PAPERS_BEFORE_BACKUP = 40 if FULL else 4  # acknowledged before the backup starts
LOAD_AFTER_BACKUP = 15.0 if FULL else 2.0  # seconds the load goes on once the backup is taken
# A message written to the outbox file just before the backup began may be marked sent just after the snapshot.
SEND_TO_COMMIT = timedelta(seconds=2)
pytestmark = [pytest.mark.stack, pytest.mark.timeout(900 if FULL else 420)]


@dataclass
class Paper:
    token: str
    document: dict[str, Any]
    scan: bytes
    acknowledged_at: float


@dataclass
class Load:
    """Citizens signing up and storing a CCCD with its scan, on a few threads, until stopped."""

    stack: RunningStack
    papers: list[Paper] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def run(self, worker: int) -> None:
        with self.stack.api() as api:
            n = 0
            while not self.stop.is_set():
                n += 1
                try:
                    self.one(api, f"{worker}-{n}")
                except (AssertionError, httpx.HTTPError) as exc:
                    with self.lock:
                        self.errors.append(f"{type(exc).__name__}: {str(exc)[:200]}")

    def one(self, api: httpx.Client, marker: str) -> None:
        data, token = self.stack.sign_up(api)
        scan = png_bytes(f"drill-{marker}")
        stored = api.post(
            "/documents",
            data={"type": "cccd", "fields": json.dumps(cccd_fields(data), ensure_ascii=False)},
            files={"file": ("cccd.png", scan, "image/png")},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert stored.status_code == 201, stored.text
        with self.lock:
            self.papers.append(Paper(token, stored.json(), scan, time.time()))

    def acknowledged(self) -> int:
        with self.lock:
            return len(self.papers)


def up(data_dir: Path, port: int) -> RunningStack:
    running = RunningStack(data_dir, port)
    answer = running.run("up", "--workers", "1", "--port", str(running.port))
    assert answer.returncode == 0, answer.stdout + answer.stderr
    return running


class TestRestoreDrill:
    def test_a_destroyed_stack_comes_back_from_its_backup(self, running_stack: RunningStack, tmp_path: Path) -> None:
        load = Load(running_stack)
        threads = [threading.Thread(target=load.run, args=(n,), daemon=True) for n in range(THREADS)]
        for thread in threads:
            thread.start()
        try:
            deadline = time.monotonic() + 120
            while load.acknowledged() < PAPERS_BEFORE_BACKUP and time.monotonic() < deadline:
                time.sleep(0.2)
            backup_began = time.time()
            backup = tmp_path / "backup"
            taken = running_stack.congdanso("backup", str(backup))
            assert taken.returncode == 0, taken.stderr
            backup_seconds = time.time() - backup_began
            time.sleep(LOAD_AFTER_BACKUP)
        finally:
            load.stop.set()
            for thread in threads:
                thread.join(timeout=60)
        before = [p for p in load.papers if p.acknowledged_at < backup_began]
        assert len(before) >= PAPERS_BEFORE_BACKUP, load.errors
        time.sleep(3)  # the dispatchers send what the load left in the outbox
        sent_by_old = outbox_lines(running_stack.data_dir / "outbox.jsonl")
        keyring = tmp_path / "keyring.json"  # the operator's copy of the master key: never in a backup
        shutil.copy(running_stack.data_dir / "keys" / "keyring.json", keyring)
        destroyed = running_stack.run("destroy")
        assert destroyed.returncode == 0, destroyed.stderr
        assert not running_stack.data_dir.exists()

        fresh_dir = Path(tempfile.mkdtemp(prefix="cds-drill-")) / "data"
        (fresh_dir / "keys").mkdir(parents=True, mode=0o700)
        shutil.copy(keyring, fresh_dir / "keys" / "keyring.json")
        # At the same address (WALLET_PUBLIC_URL): the tokens of before name it as their issuer.
        fresh = up(fresh_dir, running_stack.port)
        try:
            restore_began = time.monotonic()
            restored = fresh.congdanso("restore", str(backup))
            assert restored.returncode == 0, restored.stderr
            # The runbook's next step: the background worker again, since its queue's tables were replaced.
            for step in ("stop", "start"):
                done = fresh.run(step, "jobs")
                assert done.returncode == 0, done.stdout + done.stderr
            print(
                f"restore drill: backup {backup_seconds:.1f} s under load ({json.loads(taken.stdout)['blobs']}), "
                f"restore {time.monotonic() - restore_began:.1f} s, {len(load.errors)} load errors"
            )
            assert_papers_read_back(fresh, load.papers, backup_began)
            verified = fresh.congdanso("audit", "verify")
            assert verified.returncode == 0 and json.loads(verified.stdout)["ok"], verified.stdout + verified.stderr
            time.sleep(5)  # the fresh stack's dispatchers send what the backup held as pending
            health = {name: row["health"] for name, row in fresh.status().items()}
            assert [name for name, state in health.items() if state != "up"] == [], health
            assert_no_message_sent_twice(sent_by_old, outbox_lines(fresh_dir / "outbox.jsonl"), backup_began)
        finally:
            destroy(fresh.layout)
            shutil.rmtree(fresh_dir.parent, ignore_errors=True)


def assert_papers_read_back(fresh: RunningStack, papers: list[Paper], backup_began: float) -> None:
    """Every paper acknowledged before the backup began, byte-exact (fields and scan) with its owner's token of
    before; a later one is either absent (after the snapshot) or byte-exact too."""
    lost_after_snapshot = 0
    with fresh.api() as api:
        for paper in papers:
            auth = {"Authorization": f"Bearer {paper.token}"}
            document = api.get(f"/documents/{paper.document['id']}", headers=auth)
            if paper.acknowledged_at >= backup_began and document.status_code in {401, 404}:
                lost_after_snapshot += 1
                continue
            assert document.status_code == 200, document.text
            assert document.json()["fields"] == paper.document["fields"]
            file_id = paper.document["files"][0]["id"]
            scan = api.get(f"/documents/{paper.document['id']}/files/{file_id}", headers=auth)
            assert scan.status_code == 200 and scan.content == paper.scan
    print(f"restore drill: {len(papers)} papers acknowledged, {lost_after_snapshot} after the snapshot not restored")


def assert_no_message_sent_twice(old: list[dict[str, Any]], new: list[dict[str, Any]], backup_began: float) -> None:
    """Each stack sent each message once; one both sent is a message the old stack sent after the snapshot (the backup
    held it as pending), presented again under the same id; none the backup recorded as sent."""
    assert [i for i, n in Counter(line["id"] for line in old).items() if n > 1] == []
    assert [i for i, n in Counter(line["id"] for line in new).items() if n > 1] == []
    sent_at = {line["id"]: datetime.fromisoformat(line["sent_at"].replace("Z", "+00:00")) for line in old}
    began = datetime.fromtimestamp(backup_began, UTC) - SEND_TO_COMMIT
    again = [i for i in sent_at if i in {line["id"] for line in new}]
    assert [i for i in again if sent_at[i] < began] == []
    print(f"restore drill: {len(old)} messages sent before, {len(new)} after; {len(again)} presented again by id")
