"""What a signing-key rotation waits for: attestations and consent artefacts together."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import create_engine

from consent.signing_usage import ConsentKeyUsage, combined
from crypto.signing_rotation import NO_ATTESTATIONS, AttestationSpan
from wallet.signing_usage import SigningUsageUnavailable

EARLY = datetime(2027, 1, 1, tzinfo=UTC)
LATE = datetime(2030, 1, 1, tzinfo=UTC)


def test_the_latest_end_of_any_and_open_ended_if_any_is() -> None:
    spans = {"a": AttestationSpan(EARLY), "b": AttestationSpan(LATE), "c": AttestationSpan(None, open_ended=True)}
    assert combined(lambda _: spans["a"], lambda _: spans["b"])("k") == AttestationSpan(LATE)
    assert combined(lambda _: spans["a"], lambda _: spans["c"])("k") == AttestationSpan(EARLY, open_ended=True)
    assert combined(lambda _: NO_ATTESTATIONS, lambda _: NO_ATTESTATIONS)("k") == NO_ATTESTATIONS


def test_a_database_without_the_consent_table_is_an_error_not_no_artefacts() -> None:
    engine = create_engine("sqlite://")
    with pytest.raises(SigningUsageUnavailable, match="`consent`"):
        ConsentKeyUsage(engine)("sk-1")
    engine.dispose()
