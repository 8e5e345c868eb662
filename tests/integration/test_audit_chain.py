"""The tamper-evident access log on SQLite and PostgreSQL: the hash chain, signed checkpoints and
`congdanso audit verify` run as operators run it (a real subprocess on a real data dir).

Tampering is done the way an intruder with database access would: SQL straight on the tables. Every case must make
`audit verify` exit non-zero naming the first bad seq; a log left alone must pass.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import suppress
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from sqlalchemy import Engine, bindparam, text
from sqlmodel import Session

from api.cli import migrate
from api.deps import container_of
from api.settings import Settings
from audit.chain import GENESIS_HASH, entry_hash
from audit.checkpoints import CheckpointService, CheckpointVerifier, sign_checkpoint
from audit.models import AccessLogEntry, AuditCheckpoint
from audit.service import Actor, AuditService
from audit.verification import verify_chain
from crypto.clock import FrozenClock
from crypto.jwks import public_key_set
from crypto.keyring import Keyring, KeyringFile, load_keyring, save_keyring
from storage.db import create_db_engine, transaction
from storage.migrate import upgrade
from storage.types import UTCDateTime
from tests.integration.conftest import START, Wallet, settings_for
from tests.integration.test_qr import _access_log, _citizen, _officer, _qr, _verify

CONGDANSO = str(Path(sys.executable).with_name("congdanso"))
KEYS_FROM = datetime(2020, 1, 1, tzinfo=UTC)  # before START and the wall clock: both can sign
SIZE = 12
ACTORS = (
    Actor("officer", "CA-DN", "Công an thành phố Đà Nẵng"),
    Actor("agency", "SOTP-DN", "Sở Tư pháp Đà Nẵng"),
    Actor("system", "issuer", "Hệ thống"),
)
ENTRY_COLUMNS = (
    "id",
    "seq",
    "at",
    "citizen_id",
    "actor_type",
    "actor_code",
    "actor_name",
    "action",
    "document_id",
    "consent_id",
    "purpose",
    "prev_hash",
    "entry_hash",
)


@dataclass
class AuditLog:
    """A migrated database and keyring in a data dir, written to in-process and checked through the CLI."""

    settings: Settings
    engine: Engine
    clock: FrozenClock
    keyring: KeyringFile

    def record(self, count: int) -> list[AccessLogEntry]:
        entries = []
        for _ in range(count):
            with transaction(self.engine) as session:
                n = self.count() + 1
                entries.append(
                    AuditService(session, self.clock).record(
                        f"citizen-{n % 4}",
                        ACTORS[n % 3],
                        ("qr_scan", "consent_pull", "issuer_push")[n % 3],
                        document_id=f"doc-{n}" if n % 2 else None,
                        consent_id=f"consent-{n}" if n % 3 == 1 else None,
                        purpose=f"Thủ tục số {n}: đăng ký thường trú" if n % 3 == 1 else None,
                    )
                )
            self.clock.advance(timedelta(seconds=1, microseconds=n))
        return entries

    def checkpoint(self) -> AuditCheckpoint:
        with transaction(self.engine) as session:
            made = CheckpointService(session, self.clock, self.keyring).make()
        assert made is not None
        return made.checkpoint

    def count(self) -> int:
        """Entries recorded, chained or not yet (PostgreSQL chains them in batches after their commit)."""
        with self.engine.connect() as connection:
            return int(connection.execute(text("SELECT COUNT(*) FROM access_log")).scalar_one())

    def last_seq(self) -> int:
        with self.engine.connect() as connection:
            return int(connection.execute(text("SELECT COALESCE(MAX(seq), 0) FROM access_log")).scalar_one())

    def sql(self, statement: str, **params: Any) -> None:
        """Raw SQL, as an intruder would write it (times bound as the application stores them)."""
        times = [bindparam(k, type_=UTCDateTime()) for k, v in params.items() if isinstance(v, datetime)]
        with self.engine.begin() as connection:
            connection.execute(text(statement).bindparams(*times), params)

    def row(self, seq: int) -> dict[str, Any]:
        with self.engine.connect() as connection:
            query = AccessLogEntry.__table__.select().where(text("seq = :seq"))  # type: ignore[attr-defined]
            return dict(connection.execute(query, {"seq": seq}).one()._mapping)

    def cli(self, *args: str) -> tuple[int, dict[str, Any]]:
        env = {
            "WALLET_DATA_DIR": str(self.settings.data_dir),
            "WALLET_DATABASE_URL": self.settings.resolved_database_url,
            "WALLET_LOG_LEVEL": "warning",
            "PATH": "/usr/bin:/bin",
        }
        done = subprocess.run([CONGDANSO, *args], env=env, capture_output=True, text=True, timeout=120, check=False)
        lines = done.stdout.strip().splitlines()
        assert lines, done.stderr
        return done.returncode, dict(json.loads(lines[-1]))

    def verify(self, *args: str) -> dict[str, Any]:
        """`congdanso audit verify`: its JSON report, checked against its exit status."""
        code, report = self.cli("audit", "verify", *args)
        assert code == (0 if report["ok"] else 1), report
        return report


def new_keyring(settings: Settings) -> KeyringFile:
    save_keyring(Keyring.generate(now=KEYS_FROM, development=True), settings.resolved_keyring_file)
    return KeyringFile(settings.resolved_keyring_file)


@pytest.fixture
def audit_log(tmp_path: Path, database_url: str) -> Iterator[AuditLog]:
    settings = settings_for(tmp_path, database_url)
    migrate(settings)
    engine = create_db_engine(database_url)
    yield AuditLog(settings, engine, FrozenClock(START), new_keyring(settings))
    engine.dispose()


@pytest.fixture
def signed_log(audit_log: AuditLog) -> AuditLog:
    """SIZE entries with checkpoints at 4, 8 and SIZE, as the periodic task leaves them."""
    for _ in range(3):
        audit_log.record(SIZE // 3)
        audit_log.checkpoint()
    return audit_log


def _other(value: Any) -> Any:
    """A different value of the same type and length (so even PostgreSQL's column limits accept it)."""
    if value is None:
        return "x"
    if isinstance(value, datetime):
        return value + timedelta(microseconds=1)
    return value[:-1] + ("0" if value[-1] != "0" else "1")


def _forged(seq: int, prev_hash: str, at: datetime) -> dict[str, Any]:
    fields = {
        "id": f"forged-{seq}",
        "seq": seq,
        "at": at,
        "citizen_id": "citizen-1",
        "actor_type": "agency",
        "actor_code": "SOTP-DN",
        "actor_name": "Sở Tư pháp Đà Nẵng",
        "action": "consent_pull",
        "document_id": None,
        "consent_id": None,
        "purpose": None,
        "actor_person": None,
        "prev_hash": prev_hash,
    }
    return fields | {"entry_hash": entry_hash(SimpleNamespace(**fields), prev_hash)}


def _insert(log: AuditLog, row: dict[str, Any]) -> None:
    with log.engine.begin() as connection:
        connection.execute(AccessLogEntry.__table__.insert(), [row])  # type: ignore[attr-defined]


def _rechain_from(log: AuditLog, seq: int) -> None:
    """Recompute prev_hash and entry_hash from `seq` on, with the public encoder: a consistent rewrite."""
    prev = log.row(seq - 1)["entry_hash"] if seq > 1 else GENESIS_HASH
    for n in range(seq, log.last_seq() + 1):
        row = log.row(n) | {"prev_hash": prev}
        prev = entry_hash(SimpleNamespace(**row), prev)
        log.sql(
            "UPDATE access_log SET prev_hash = :p, entry_hash = :h WHERE seq = :seq", p=row["prev_hash"], h=prev, seq=n
        )


# -- a log left alone ------------------------------------------------------------------------------------------------
class TestValidLog:
    def test_an_empty_log_passes(self, audit_log: AuditLog) -> None:
        assert audit_log.verify() == {
            "ok": True,
            "entries": 0,
            "checkpoints": 0,
            "last_seq": 0,
            "last_checkpoint_seq": 0,
        }

    def test_a_signed_log_passes(self, signed_log: AuditLog) -> None:
        signed_log.record(2)  # after the last checkpoint: protected by the chain alone
        assert signed_log.verify() == {
            "ok": True,
            "entries": SIZE + 2,
            "checkpoints": 3,
            "last_seq": SIZE + 2,
            "last_checkpoint_seq": SIZE,
        }

    def test_entries_are_numbered_from_one_and_linked(self, signed_log: AuditLog) -> None:
        rows = [signed_log.row(n) for n in range(1, SIZE + 1)]
        assert rows[0]["prev_hash"] == GENESIS_HASH
        assert all(b["prev_hash"] == a["entry_hash"] for a, b in pairwise(rows))

    def test_a_tiny_batch_gives_the_same_answer(self, signed_log: AuditLog) -> None:
        assert signed_log.verify("--batch", "1")["ok"] is True

    def test_an_auditor_needs_only_the_public_keys(self, signed_log: AuditLog, tmp_path: Path) -> None:
        jwks = tmp_path / "jwks.json"
        jwks.write_text(json.dumps(public_key_set(signed_log.keyring(), now=START)))
        assert signed_log.verify("--jwks", str(jwks))["ok"] is True
        jwks.write_text(json.dumps({"keys": []}))
        report = signed_log.verify("--jwks", str(jwks))
        assert report["first_bad_seq"] == 4 and "unknown key" in report["reason"]

    def test_checkpoints_of_a_retired_key_still_verify(self, audit_log: AuditLog) -> None:
        audit_log.record(3)
        old = audit_log.checkpoint()
        path = audit_log.settings.resolved_keyring_file
        ring = load_keyring(path).with_new_signing_key(now=START, active_from=START)
        save_keyring(ring.with_signing_key_retired(old.kid, at=START + timedelta(seconds=1)), path)
        audit_log.keyring.reload_if_changed()
        audit_log.clock.advance(timedelta(days=1))
        audit_log.record(3)
        new = audit_log.checkpoint()
        assert new.kid != old.kid
        assert audit_log.verify()["checkpoints"] == 2

    def test_no_keyring_is_an_error_not_a_verdict(self, audit_log: AuditLog) -> None:
        audit_log.settings.resolved_keyring_file.unlink()
        env = {
            "WALLET_DATA_DIR": str(audit_log.settings.data_dir),
            "WALLET_DATABASE_URL": audit_log.settings.resolved_database_url,
        }
        done = subprocess.run(
            [CONGDANSO, "audit", "verify"],
            env=env | {"PATH": "/usr/bin:/bin"},
            capture_output=True,
            text=True,
            check=False,
        )
        assert done.returncode == 2 and "keyring" in done.stderr


class TestCheckpointCommand:
    def test_signs_the_head_once(self, audit_log: AuditLog) -> None:
        assert audit_log.cli("audit", "checkpoint") == (
            0,
            {"created": False, "seq": 0, "reason": "the access log is empty"},
        )
        audit_log.record(5)
        code, made = audit_log.cli("audit", "checkpoint")
        assert code == 0 and made["created"] is True
        assert (made["seq"], made["entry_hash"], made["kid"]) == (
            5,
            audit_log.row(5)["entry_hash"],
            audit_log.keyring().current_signing_key(START).kid,
        )
        assert made["signature"].count(".") == 2
        assert audit_log.cli("audit", "checkpoint")[1]["created"] is False
        assert audit_log.verify()["checkpoints"] == 1


# -- through the service ---------------------------------------------------------------------------------------------
class TestThroughTheService:
    def test_officer_scans_make_a_verifiable_chain_and_the_citizen_view_is_unchanged(self, wallet: Wallet) -> None:
        _, token = _citizen(wallet)
        officer = _officer(wallet)
        for _ in range(3):
            _verify(wallet, officer, _qr(wallet, token)["token"])
            wallet.clock.advance(timedelta(seconds=5))
        items = _access_log(wallet, token)["items"]
        assert len(items) == 3
        assert all(set(item) == {"at", "actor", "action"} for item in items)  # no seq or hashes shown
        log = _wallet_log(wallet)
        assert log.verify()["entries"] == 3

    def test_the_service_signs_checkpoints_periodically(self, make_wallet: Callable[..., Wallet]) -> None:
        wallet = make_wallet(audit_checkpoint_seconds=0.05)
        _, token = _citizen(wallet)
        _verify(wallet, _officer(wallet), _qr(wallet, token)["token"])
        engine = container_of(wallet.app.state).engine
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            with engine.connect() as connection:
                if connection.execute(text("SELECT COUNT(*) FROM audit_checkpoint")).scalar_one():
                    break
            time.sleep(0.05)
        report = _wallet_log(wallet).verify()
        assert report["checkpoints"] == 1 and report["last_checkpoint_seq"] == 1


def _wallet_log(wallet: Wallet) -> AuditLog:
    container = container_of(wallet.app.state)
    return AuditLog(wallet.settings, container.engine, wallet.clock, container.keyring)


# -- tampering -------------------------------------------------------------------------------------------------------
class TestEditedEntry:
    @pytest.mark.parametrize("column", ENTRY_COLUMNS)
    def test_editing_any_column_is_named_at_its_seq(self, signed_log: AuditLog, column: str) -> None:
        seq = 1 + (ENTRY_COLUMNS.index(column) * 5) % SIZE  # first, last and entries in between
        if column == "seq":
            signed_log.sql("UPDATE access_log SET seq = seq + 1000 WHERE seq = :seq", seq=seq)
        else:
            value = _other(signed_log.row(seq)[column])
            signed_log.sql(f"UPDATE access_log SET {column} = :value WHERE seq = :seq", value=value, seq=seq)  # noqa: S608
        report = signed_log.verify()
        assert (report["ok"], report["first_bad_seq"]) == (False, seq), report

    @pytest.mark.parametrize("seq", [1, 7, SIZE - 1])
    def test_clearing_an_optional_column_is_detected(self, signed_log: AuditLog, seq: int) -> None:
        row = signed_log.row(seq)
        column = next(c for c in ("document_id", "consent_id", "purpose") if row[c] is not None)
        signed_log.sql(f"UPDATE access_log SET {column} = NULL WHERE seq = :seq", seq=seq)  # noqa: S608
        assert signed_log.verify()["first_bad_seq"] == seq


class TestDeletedEntry:
    @pytest.mark.parametrize("seq", [1, 5, SIZE - 1])
    def test_a_deleted_entry_is_named(self, signed_log: AuditLog, seq: int) -> None:
        signed_log.sql("DELETE FROM access_log WHERE seq = :seq", seq=seq)
        report = signed_log.verify()
        assert (report["ok"], report["first_bad_seq"]) == (False, seq)
        assert f"entry {seq} is missing" in report["reason"]

    def test_a_tail_cut_under_a_checkpoint_is_named(self, signed_log: AuditLog) -> None:
        signed_log.sql("DELETE FROM access_log WHERE seq > :seq", seq=SIZE - 3)
        report = signed_log.verify()
        assert (report["first_bad_seq"], report["checkpoint_seq"]) == (SIZE - 2, SIZE)


class TestReorderedEntries:
    def test_swapping_two_entries_contents_is_named_at_the_first(self, signed_log: AuditLog) -> None:
        first, second = signed_log.row(3), signed_log.row(9)
        columns = [c for c in ENTRY_COLUMNS if c not in {"id", "seq"}]
        assignments = ", ".join(f"{c} = :{c}" for c in columns)
        for target, source in ((first, second), (second, first)):
            values = {c: source[c] for c in columns}
            signed_log.sql(f"UPDATE access_log SET {assignments} WHERE id = :row_id", row_id=target["id"], **values)  # noqa: S608
        report = signed_log.verify()
        assert (report["ok"], report["first_bad_seq"]) == (False, 3)

    def test_exchanging_two_entries_places_is_named_at_the_first(self, signed_log: AuditLog) -> None:
        signed_log.sql("UPDATE access_log SET seq = -1 WHERE seq = 6")
        signed_log.sql("UPDATE access_log SET seq = 6 WHERE seq = 5")
        signed_log.sql("UPDATE access_log SET seq = 5 WHERE seq = -1")
        assert signed_log.verify()["first_bad_seq"] == 5


class TestForgedEntry:
    def test_one_appended_without_the_previous_hash_is_named(self, signed_log: AuditLog) -> None:
        _insert(signed_log, _forged(SIZE + 1, "ab" * 32, START + timedelta(hours=1)))
        report = signed_log.verify()
        assert (report["first_bad_seq"], report["reason"]) == (
            SIZE + 1,
            "prev_hash is not the entry_hash of the previous entry",
        )

    def test_one_slipped_in_with_a_correct_hash_breaks_the_link_after_it(self, signed_log: AuditLog) -> None:
        # Room is made at seq 6 by pushing the later entries up (in two steps: seq is unique).
        signed_log.sql("UPDATE access_log SET seq = -seq WHERE seq >= 6")
        signed_log.sql("UPDATE access_log SET seq = 1 - seq WHERE seq < 0")
        before = signed_log.row(5)
        _insert(signed_log, _forged(6, before["entry_hash"], before["at"] + timedelta(microseconds=1)))
        report = signed_log.verify()
        assert report["first_bad_seq"] == 7  # the forgery is well formed; the entry after it no longer fits

    def test_one_slipped_in_with_the_rest_rehashed_is_caught_by_the_next_checkpoint(self, signed_log: AuditLog) -> None:
        signed_log.sql("UPDATE access_log SET seq = -seq WHERE seq >= 6")
        signed_log.sql("UPDATE access_log SET seq = 1 - seq WHERE seq < 0")
        before = signed_log.row(5)
        _insert(signed_log, _forged(6, before["entry_hash"], before["at"] + timedelta(microseconds=1)))
        _rechain_from(signed_log, 7)  # the whole chain is consistent again, but the signatures cannot follow
        report = signed_log.verify()
        assert (report["first_bad_seq"], report["checkpoint_seq"]) == (5, 8)
        assert "entries 5 to 8 were rewritten" in report["reason"]


class TestTamperedCheckpoint:
    @pytest.mark.parametrize(
        ("change", "reason"),
        [
            ("UPDATE audit_checkpoint SET signature = :other WHERE seq = 8", "bad signature"),
            ("UPDATE audit_checkpoint SET entry_hash = :hash4 WHERE seq = 8", "differs from the stored checkpoint"),
            ("UPDATE audit_checkpoint SET at = :at WHERE seq = 8", "differs from the stored checkpoint"),
            ("UPDATE audit_checkpoint SET kid = 'sk-000000000000' WHERE seq = 8", "unknown key"),
            ("UPDATE audit_checkpoint SET signature = :foreign WHERE seq = 8", "bad signature"),
        ],
        ids=["signature", "entry_hash", "at", "kid", "foreign-key"],
    )
    def test_a_tampered_checkpoint_is_named(self, signed_log: AuditLog, change: str, reason: str) -> None:
        with signed_log.engine.connect() as connection:
            table = AuditCheckpoint.__table__  # type: ignore[attr-defined]
            stored = connection.execute(table.select().where(table.c.seq == 8)).one()
        head, payload, signature = stored.signature.split(".")
        flipped = f"{head}.{payload}.{'A' if signature[:1] != 'A' else 'B'}{signature[1:]}"
        impostor = Keyring.generate(now=KEYS_FROM, development=True).signing_keys[0]
        kid = signed_log.keyring().signing_keys[0].kid
        foreign = sign_checkpoint(
            replace(impostor, kid=kid), seq=8, entry_hash=signed_log.row(8)["entry_hash"], at=stored.at
        )
        params = {
            "other": flipped,
            "hash4": signed_log.row(4)["entry_hash"],
            "at": stored.at + timedelta(seconds=1),
            "foreign": foreign,
        }
        signed_log.sql(change, **{k: v for k, v in params.items() if f":{k}" in change})
        report = signed_log.verify()
        assert (report["ok"], report["first_bad_seq"], report["checkpoint_seq"]) == (False, 8, 8)
        assert reason in report["reason"]

    def test_a_checkpoint_moved_to_another_seq_is_named_there(self, signed_log: AuditLog) -> None:
        signed_log.sql(
            "UPDATE audit_checkpoint SET seq = 7, entry_hash = :h WHERE seq = 8", h=signed_log.row(7)["entry_hash"]
        )
        report = signed_log.verify()
        assert (report["first_bad_seq"], report["checkpoint_seq"]) == (7, 7)


class _RequestFailed(Exception):
    """A failure after the entry was recorded: its transaction rolls back."""


# -- the unchained tail ----------------------------------------------------------------------------------------------
def _unchained(log: AuditLog, entry_id: str) -> None:
    """An entry committed but not chained, as an append whose own pass found the chain lock busy leaves it."""
    _insert(
        log,
        _forged(1, GENESIS_HASH, log.clock.now())
        | {"id": entry_id, "seq": None, "prev_hash": None}
        | {"entry_hash": None},
    )


class TestUnchainedTail:
    def test_it_is_counted_as_pending_until_verify_chains_it(self, signed_log: AuditLog) -> None:
        _unchained(signed_log, "left-behind")
        with Session(signed_log.engine) as session:
            report = verify_chain(session, CheckpointVerifier.of_keyring(signed_log.keyring()))
        assert report.to_json() == {
            "ok": True,
            "entries": SIZE,
            "checkpoints": 3,
            "last_seq": SIZE,
            "last_checkpoint_seq": SIZE,
            "pending": 1,
        }
        assert signed_log.verify() == {  # the command chains the committed tail before it reads
            "ok": True,
            "entries": SIZE + 1,
            "checkpoints": 3,
            "last_seq": SIZE + 1,
            "last_checkpoint_seq": SIZE,
        }
        assert signed_log.row(SIZE + 1)["id"] == "left-behind"

    def test_the_next_append_comes_after_it(self, signed_log: AuditLog) -> None:
        _unchained(signed_log, "left-behind")
        signed_log.clock.advance(timedelta(seconds=1))
        signed_log.record(1)
        assert signed_log.verify()["entries"] == SIZE + 2
        assert [signed_log.row(SIZE + n)["id"] == "left-behind" for n in (1, 2)] == [True, False]

    def test_a_checkpoint_chains_it_first(self, signed_log: AuditLog) -> None:
        _unchained(signed_log, "left-behind")
        made = signed_log.checkpoint()
        assert (made.seq, made.entry_hash) == (SIZE + 1, signed_log.row(SIZE + 1)["entry_hash"])
        assert signed_log.verify()["last_checkpoint_seq"] == SIZE + 1

    def test_the_service_chains_it_without_any_append(self, wallet: Wallet) -> None:
        log = _wallet_log(wallet)
        if log.engine.dialect.name != "postgresql":
            pytest.skip("SQLite chains each entry in the transaction that records it")
        _unchained(log, "left-behind")
        deadline = time.monotonic() + 20
        while log.last_seq() == 0 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert log.row(1)["id"] == "left-behind"
        assert "pending" not in log.verify()


# -- concurrency -----------------------------------------------------------------------------------------------------
class TestConcurrentAppends:
    def test_threads_appending_at_once_keep_one_chain(self, audit_log: AuditLog) -> None:
        threads, each = 6, 15
        errors: list[BaseException] = []
        barrier = threading.Barrier(threads + 1)

        def append(worker: int) -> None:
            try:
                barrier.wait()
                for n in range(each):
                    with transaction(audit_log.engine) as session:
                        AuditService(session, audit_log.clock).record(
                            f"c-{worker}", ACTORS[0], "qr_scan", purpose=str(n)
                        )
            except BaseException as exc:
                errors.append(exc)

        def checkpoints() -> None:
            barrier.wait()
            for _ in range(5):
                with transaction(audit_log.engine) as session:
                    CheckpointService(session, audit_log.clock, audit_log.keyring).make()
                time.sleep(0.01)

        pool = [threading.Thread(target=append, args=(w,)) for w in range(threads)]
        pool.append(threading.Thread(target=checkpoints))
        for thread in pool:
            thread.start()
        for thread in pool:
            thread.join(timeout=120)
        assert errors == []
        report = audit_log.verify()
        assert report["ok"] is True and report["entries"] == threads * each

    def test_an_open_append_holds_up_no_other_and_a_rolled_back_one_leaves_nothing(self, audit_log: AuditLog) -> None:
        audit_log.record(1)
        recorded, release = threading.Event(), threading.Event()
        done: dict[str, float] = {}

        def first() -> None:
            with suppress(_RequestFailed), transaction(audit_log.engine) as session:
                AuditService(session, audit_log.clock).record("a", ACTORS[0], "qr_scan")
                recorded.set()
                release.wait(timeout=30)
                raise _RequestFailed

        def second() -> None:
            recorded.wait(timeout=30)
            with transaction(audit_log.engine) as session:
                AuditService(session, audit_log.clock).record("b", ACTORS[0], "qr_scan")
            done["second"] = time.monotonic()

        threads = [threading.Thread(target=first), threading.Thread(target=second)]
        for thread in threads:
            thread.start()
        recorded.wait(timeout=30)
        time.sleep(0.3)
        released = time.monotonic()
        release.set()
        for thread in threads:
            thread.join(timeout=30)
        if audit_log.engine.dialect.name == "postgresql":  # SQLite has one writer at a time, whatever the log does
            assert done["second"] < released  # committed while the first was still open
        assert audit_log.verify() == {
            "ok": True,
            "entries": 2,
            "checkpoints": 0,
            "last_seq": 2,
            "last_checkpoint_seq": 0,
        }
        with audit_log.engine.connect() as connection:
            rows = connection.execute(text("SELECT citizen_id, seq FROM access_log ORDER BY seq")).all()
        assert [tuple(row) for row in rows[1:]] == [("b", 2)]  # nothing of the rolled-back one, not even a gap


# -- the migration ---------------------------------------------------------------------------------------------------
class TestBackfill:
    def test_entries_logged_before_the_chain_are_chained_in_their_order(
        self, tmp_path: Path, empty_database_url: str
    ) -> None:
        settings = settings_for(tmp_path, empty_database_url)
        engine = create_db_engine(empty_database_url)
        try:
            upgrade(engine, revision="20261124_05")
            legacy = [(f"old-{n}", START + timedelta(minutes=10 - n)) for n in range(5)]
            log = AuditLog(settings, engine, FrozenClock(START + timedelta(hours=1)), new_keyring(settings))
            for entry_id, at in legacy:
                log.sql(
                    "INSERT INTO access_log (id, citizen_id, at, actor_type, actor_code, actor_name, action, purpose)"
                    " VALUES (:id, 'c', :at, 'officer', 'CA-DN', 'Công an', 'qr_scan', NULL)",
                    id=entry_id,
                    at=at,
                )
            migrate(settings)
            assert [log.row(n)["id"] for n in range(1, 6)] == [f"old-{n}" for n in (4, 3, 2, 1, 0)]
            log.record(2)
            log.checkpoint()
            assert log.verify()["entries"] == 7
        finally:
            engine.dispose()
