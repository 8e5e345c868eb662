"""How long the attestations (issued papers) signed with a key stay valid: what a signing-key rotation must
wait for before retiring the key.

The `attestation` table (columns `kid` and `valid_until`) is read by reflection, so this works whether or
not the database has it yet: no table, no attestations.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import Engine, MetaData, Table, func, inspect, select

from crypto.signing_rotation import NO_ATTESTATIONS, AttestationSpan

ATTESTATION_TABLE = "attestation"


class AttestationKeyUsage:
    """`usage(kid)` → the latest `valid_until` of the attestations signed with `kid`, and whether one has none."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._table: Table | None = None
        self._checked = False

    def __call__(self, kid: str) -> AttestationSpan:
        table = self._attestations()
        if table is None:
            return NO_ATTESTATIONS
        kid_col, until = table.c.kid, table.c.valid_until
        with self._engine.connect() as connection:
            latest = connection.execute(select(func.max(until)).where(kid_col == kid)).scalar_one_or_none()
            open_ended = connection.execute(select(kid_col).where(kid_col == kid, until.is_(None)).limit(1)).first()
        return AttestationSpan(latest_valid_until=_as_instant(latest), open_ended=open_ended is not None)

    def _attestations(self) -> Table | None:
        if not self._checked:
            self._checked = True
            if inspect(self._engine).has_table(ATTESTATION_TABLE):
                self._table = Table(ATTESTATION_TABLE, MetaData(), autoload_with=self._engine)
        return self._table


def _as_instant(value: object) -> datetime | None:
    """A `valid_until` as an aware instant: a date means the whole of that day (until midnight UTC after it,
    later than the end of the day in Vietnam); a naive timestamp is UTC, as everything stored here."""
    if value is None:
        return None
    if isinstance(value, str):  # a column SQLite reflected without a date type
        value = datetime.fromisoformat(value) if "T" in value or " " in value else date.fromisoformat(value)
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, date):
        return datetime.combine(value + timedelta(days=1), time.min, tzinfo=UTC)
    raise TypeError(f"unexpected valid_until {value!r}")
