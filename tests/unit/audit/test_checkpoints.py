"""Checkpoints (signing, verification, making) and the verifier's walk, on in-memory SQLite.

The same tampering, through the real CLI on SQLite and PostgreSQL, is in tests/integration/test_audit_chain.py."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import create_engine, text
from sqlalchemy.pool import StaticPool
from sqlmodel import Session, SQLModel, col, select

from audit.chain import GENESIS_HASH, entry_hash
from audit.checkpoints import (
    CHECKPOINT_TYP,
    CheckpointError,
    CheckpointService,
    CheckpointVerifier,
    sign_checkpoint,
)
from audit.models import AccessLogEntry, AuditCheckpoint
from audit.service import Actor, AuditService
from audit.verification import verify_chain
from crypto.clock import FrozenClock
from crypto.jwks import public_key_set
from crypto.keyring import Keyring, SigningKey

START = datetime(2026, 11, 24, 8, 0, tzinfo=UTC)
OFFICER = Actor("officer", "CA-DN", "Công an thành phố Đà Nẵng")
HASH = "ab" * 32


@pytest.fixture
def ring() -> Keyring:
    return Keyring.generate(now=START - timedelta(days=1), development=True)


@pytest.fixture
def session() -> Iterator[Session]:
    engine = create_engine("sqlite://", poolclass=StaticPool, connect_args={"check_same_thread": False})
    tables = [SQLModel.metadata.tables[t] for t in ("access_log", "audit_checkpoint")]
    SQLModel.metadata.create_all(engine, tables=tables)
    with Session(engine) as session:
        yield session
    engine.dispose()


def _stored(key: SigningKey, seq: int = 7, entry_hash: str = HASH, at: datetime = START) -> SimpleNamespace:
    token = sign_checkpoint(key, seq=seq, entry_hash=entry_hash, at=at)
    return SimpleNamespace(seq=seq, entry_hash=entry_hash, at=at, kid=key.kid, signature=token)


class TestSignAndVerify:
    def test_a_checkpoint_is_a_compact_eddsa_jws_of_its_columns(self, ring: Keyring) -> None:
        key = ring.signing_keys[0]
        stored = _stored(key)
        header = jwt.get_unverified_header(stored.signature)
        assert header == {"alg": "EdDSA", "kid": key.kid, "typ": CHECKPOINT_TYP}
        claims = jwt.api_jws.decode(stored.signature, key.public_key, algorithms=["EdDSA"])
        assert claims == b'{"at":"2026-11-24T08:00:00.000000Z","entry_hash":"' + HASH.encode() + b'","seq":7,"v":1}'
        CheckpointVerifier.of_keyring(ring).verify(stored)

    @pytest.mark.parametrize(
        ("change", "reason"),
        [
            ({"seq": 8}, "differs"),
            ({"entry_hash": "cd" * 32}, "differs"),
            ({"at": START + timedelta(microseconds=1)}, "differs"),
            ({"kid": "sk-other"}, "unknown key"),
        ],
    )
    def test_a_column_changed_after_signing_is_refused(
        self, ring: Keyring, change: dict[str, object], reason: str
    ) -> None:
        stored = _stored(ring.signing_keys[0])
        for name, value in change.items():
            setattr(stored, name, value)
        with pytest.raises(CheckpointError, match=reason):
            CheckpointVerifier.of_keyring(ring).verify(stored)

    def test_a_flipped_signature_and_a_foreign_key_are_refused(self, ring: Keyring) -> None:
        key = ring.signing_keys[0]
        stored = _stored(key)
        head, payload, signature = stored.signature.split(".")
        stored.signature = f"{head}.{payload}.{'A' if signature[0] != 'A' else 'B'}{signature[1:]}"
        with pytest.raises(CheckpointError, match="bad signature"):
            CheckpointVerifier.of_keyring(ring).verify(stored)
        impostor = replace(key, private_key=Ed25519PrivateKey.generate())  # our kid, another key
        with pytest.raises(CheckpointError, match="bad signature"):
            CheckpointVerifier.of_keyring(ring).verify(_stored(impostor))

    def test_other_tokens_of_the_platform_are_not_checkpoints(self, ring: Keyring) -> None:
        key = ring.signing_keys[0]
        stored = _stored(key)
        stored.signature = jwt.encode({"seq": 7}, key.private_key, algorithm="EdDSA", headers={"kid": key.kid})
        with pytest.raises(CheckpointError, match="not a checkpoint"):
            CheckpointVerifier.of_keyring(ring).verify(stored)
        stored.signature = "not-a-jws"
        with pytest.raises(CheckpointError, match="malformed"):
            CheckpointVerifier.of_keyring(ring).verify(stored)

    def test_a_retired_key_still_verifies_what_it_signed(self, ring: Keyring) -> None:
        old = ring.signing_keys[0]
        stored = _stored(old)
        rotated = ring.with_new_signing_key(now=START, active_from=START).with_signing_key_retired(old.kid, at=START)
        assert old.kid not in {k.kid for k in rotated.verification_keys(START + timedelta(days=1))}
        CheckpointVerifier.of_keyring(rotated).verify(stored)

    def test_the_public_jwks_is_enough(self, ring: Keyring) -> None:
        stored = _stored(ring.signing_keys[0])
        CheckpointVerifier.of_jwks(dict(public_key_set(ring, now=START))).verify(stored)
        with pytest.raises(CheckpointError, match="unknown key"):
            CheckpointVerifier.of_jwks({"keys": []}).verify(stored)


class TestMake:
    def test_nothing_to_sign_in_an_empty_log(self, session: Session, ring: Keyring) -> None:
        assert CheckpointService(session, FrozenClock(START), lambda: ring).make() is None

    def test_signs_the_head_once(self, session: Session, ring: Keyring) -> None:
        clock = FrozenClock(START)
        audit = AuditService(session, clock)
        entries = [audit.record("alice", OFFICER, "qr_scan") for _ in range(3)]
        made = CheckpointService(session, clock, lambda: ring).make()
        assert made is not None and made.created
        assert (made.checkpoint.seq, made.checkpoint.entry_hash) == (3, entries[-1].entry_hash)
        assert made.checkpoint.kid == ring.current_signing_key(START).kid
        again = CheckpointService(session, clock, lambda: ring).make()
        assert again is not None and not again.created and again.checkpoint.seq == 3
        audit.record("bob", OFFICER, "qr_scan")
        later = CheckpointService(session, clock, lambda: ring).make()
        assert later is not None and later.created and later.checkpoint.seq == 4


class TestRecordChains:
    def test_entries_are_numbered_and_linked(self, session: Session) -> None:
        audit = AuditService(session, FrozenClock(START))
        entries = [audit.record(f"c{i}", OFFICER, "qr_scan", purpose=str(i)) for i in range(4)]
        assert [e.seq for e in entries] == [1, 2, 3, 4]
        assert entries[0].prev_hash == GENESIS_HASH
        assert [e.prev_hash for e in entries[1:]] == [e.entry_hash for e in entries[:-1]]
        assert len({e.entry_hash for e in entries}) == 4


COLUMNS = ("id", "citizen_id", "actor_type", "actor_code", "actor_name", "action", "document_id", "purpose")


class TestWalk:
    """The verifier on a small log: each kind of tampering is named at the right seq."""

    @staticmethod
    def build(session: Session, ring: Keyring, size: int, checkpoint_at: tuple[int, ...] = ()) -> None:
        clock = FrozenClock(START)
        audit = AuditService(session, clock)
        for n in range(1, size + 1):
            audit.record(f"citizen-{n % 3}", OFFICER, "qr_scan", document_id=f"doc-{n}" if n % 2 else None)
            clock.advance(timedelta(seconds=1))
            if n in checkpoint_at:
                CheckpointService(session, clock, lambda: ring).make()
        session.commit()

    def test_a_valid_log_passes(self, session: Session, ring: Keyring) -> None:
        self.build(session, ring, 12, (4, 8))
        report = verify_chain(session, CheckpointVerifier.of_keyring(ring), batch=5)
        assert report.to_json() == {
            "ok": True,
            "entries": 12,
            "checkpoints": 2,
            "last_seq": 12,
            "last_checkpoint_seq": 8,
        }

    @settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(st.integers(1, 9), st.sampled_from(COLUMNS))
    def test_any_edit_is_named_at_its_seq(self, session: Session, ring: Keyring, seq: int, column: str) -> None:
        session.execute(text("DELETE FROM access_log"))
        session.execute(text("DELETE FROM audit_checkpoint"))
        self.build(session, ring, 9, (9,))
        session.execute(
            text(f"UPDATE access_log SET {column} = COALESCE({column}, '') || 'x' WHERE seq = :seq"),  # noqa: S608
            {"seq": seq},
        )
        report = verify_chain(session, CheckpointVerifier.of_keyring(ring), batch=4)
        assert (report.ok, report.first_bad_seq, report.entries) == (False, seq, seq - 1)

    def test_a_rewritten_tail_is_caught_by_the_checkpoint(self, session: Session, ring: Keyring) -> None:
        self.build(session, ring, 10, (3, 6, 9))
        entries = session.exec(select(AccessLogEntry).order_by(col(AccessLogEntry.seq))).all()
        # Entries 5.. rewritten with consistent hashes, as someone who knows the encoding (but not the key) can.
        prev = entries[3].entry_hash
        for entry in entries[4:]:
            entry.purpose, entry.prev_hash = "rewritten", prev
            entry.entry_hash = prev = entry_hash(entry, prev)
        session.flush()
        report = verify_chain(session, CheckpointVerifier.of_keyring(ring))
        assert (report.ok, report.first_bad_seq, report.checkpoint_seq) == (False, 4, 6)
        assert report.checkpoints == 1
        assert report.reason is not None and "entries 4 to 6 were rewritten" in report.reason

    def test_a_tail_cut_under_a_checkpoint_is_caught(self, session: Session, ring: Keyring) -> None:
        self.build(session, ring, 6, (6,))
        session.execute(text("DELETE FROM access_log WHERE seq >= 5"))
        report = verify_chain(session, CheckpointVerifier.of_keyring(ring))
        assert (report.ok, report.first_bad_seq, report.checkpoint_seq) == (False, 5, 6)

    def test_a_checkpoint_below_the_first_entry_is_named(self, session: Session, ring: Keyring) -> None:
        self.build(session, ring, 3)
        stored = _stored(ring.signing_keys[0], seq=0)
        session.add(AuditCheckpoint(**vars(stored)))
        session.flush()
        report = verify_chain(session, CheckpointVerifier.of_keyring(ring))
        assert (report.ok, report.first_bad_seq) == (False, 0)
