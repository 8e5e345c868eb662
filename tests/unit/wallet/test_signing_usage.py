"""The attestations' hold on a signing key, read from a real database (SQLite and PostgreSQL), with the
`attestation` table built here: this module reads only its `kid` and `valid_until` columns, whatever their types."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import Column, Date, DateTime, Engine, Integer, MetaData, String, Table, insert
from sqlalchemy.types import TypeEngine

from crypto.signing_rotation import NO_ATTESTATIONS, AttestationSpan
from storage.db import create_db_engine
from wallet.signing_usage import AttestationKeyUsage, SigningUsageUnavailable


@pytest.fixture
def engine(empty_database_url: str) -> Iterator[Engine]:
    engine = create_db_engine(empty_database_url, pool_size=1)
    yield engine
    engine.dispose()


def _attestations(engine: Engine, column_type: TypeEngine[object], rows: list[tuple[str, object]]) -> None:
    table = Table(
        "attestation",
        MetaData(),
        Column("id", Integer, primary_key=True),
        Column("kid", String(40), nullable=False),
        Column("valid_until", column_type, nullable=True),
    )
    table.create(engine)
    if rows:
        with engine.begin() as connection:
            connection.execute(insert(table), [{"kid": kid, "valid_until": until} for kid, until in rows])


class TestAttestationKeyUsage:
    def test_no_table_is_an_error_not_no_attestations(self, engine: Engine) -> None:
        with pytest.raises(SigningUsageUnavailable, match="`attestation`"):
            AttestationKeyUsage(engine)("sk-a")

    def test_a_key_that_signed_nothing(self, engine: Engine) -> None:
        _attestations(engine, DateTime(timezone=True), [("sk-b", datetime(2030, 1, 1, tzinfo=UTC))])
        assert AttestationKeyUsage(engine)("sk-a") == NO_ATTESTATIONS

    def test_the_latest_valid_until_of_the_key(self, engine: Engine) -> None:
        rows: list[tuple[str, object]] = [
            ("sk-a", datetime(2029, 5, 1, 12, 0, tzinfo=UTC)),
            ("sk-a", datetime(2031, 2, 3, 4, 5, tzinfo=UTC)),
            ("sk-b", datetime(2040, 1, 1, tzinfo=UTC)),
        ]
        _attestations(engine, DateTime(timezone=True), rows)
        assert AttestationKeyUsage(engine)("sk-a") == AttestationSpan(datetime(2031, 2, 3, 4, 5, tzinfo=UTC))

    def test_naive_timestamps_are_utc(self, engine: Engine) -> None:
        _attestations(engine, DateTime(), [("sk-a", datetime(2031, 2, 3, 4, 5))])  # noqa: DTZ001
        assert AttestationKeyUsage(engine)("sk-a") == AttestationSpan(datetime(2031, 2, 3, 4, 5, tzinfo=UTC))

    def test_a_date_holds_until_the_end_of_that_day(self, engine: Engine) -> None:
        _attestations(engine, Date(), [("sk-a", date(2031, 2, 3))])
        assert AttestationKeyUsage(engine)("sk-a") == AttestationSpan(datetime(2031, 2, 4, tzinfo=UTC))

    def test_an_attestation_without_expiry(self, engine: Engine) -> None:
        _attestations(engine, DateTime(timezone=True), [("sk-a", datetime(2031, 1, 1, tzinfo=UTC)), ("sk-a", None)])
        span = AttestationKeyUsage(engine)("sk-a")
        assert span.open_ended
