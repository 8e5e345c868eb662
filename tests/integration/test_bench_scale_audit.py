"""`make bench-scale`'s bulk access log (`bench.scale_audit`): the entries it writes after what the service appended
form a chain, pinned by checkpoints, that the service's own verifier accepts, slice after slice."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from api.cli import migrate
from audit.checkpoints import CheckpointVerifier
from audit.service import Actor, AuditService
from audit.verification import verify_log
from bench import scale_audit
from crypto.clock import SystemClock
from crypto.keyring import load_or_create_keyring
from storage.db import create_db_engine, transaction
from storage.types import new_id
from tests.integration.conftest import settings_for


def test_a_bulk_extended_log_verifies(tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(scale_audit, "SLICE", 1_000)  # several transactions, each of several COPY batches
    monkeypatch.setattr(scale_audit, "COPY_ROWS", 300)
    settings = settings_for(tmp_path, database_url)
    migrate(settings)
    now = datetime.now(UTC)
    ring, _ = load_or_create_keyring(settings.resolved_keyring_file, now=now)
    engine = create_db_engine(settings.resolved_database_url, pool_size=1)
    try:
        with transaction(engine) as session:  # one entry the service appended first (on PostgreSQL, not chained yet)
            actor = Actor("agency", "CA-DN", "Công an thành phố Đà Nẵng")
            AuditService(session, SystemClock()).record(new_id(), actor, "consent_pull", purpose="Cấp hộ chiếu")
        key = ring.current_signing_key(now)
        head = scale_audit.extend_chain(engine, key, 2_345, start=now - timedelta(days=1))
        report = verify_log(engine, CheckpointVerifier.of_keyring(ring)).to_json()
    finally:
        engine.dispose()
    assert head.seq == 2_346
    assert report == {"ok": True, "entries": 2_346, "checkpoints": 2, "last_seq": 2_346, "last_checkpoint_seq": 2_000}
