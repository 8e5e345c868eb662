"""How long the attestations (issued papers) signed with a key stay valid: what a signing-key rotation must
wait for before retiring the key.

The `attestation` table (columns `kid` and `valid_until`) is read directly, with no knowledge of its other columns.
It fails closed: a missing or unreadable table raises `SigningUsageUnavailable`, never "no attestations", since
retiring a key that still signs valid papers would make them fail verification.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import Engine, column, func, select, table
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.sql.expression import TableClause

from crypto.keyring import KeyringError
from crypto.signing_rotation import AttestationSpan

ATTESTATION_TABLE = "attestation"


class SigningUsageUnavailable(KeyringError):
    """What a signing key still signs could not be read, so nothing may be retired or rescheduled."""

    def __init__(self, table_name: str, cause: Exception) -> None:
        super().__init__(
            f"cannot read the `{table_name}` table ({type(cause).__name__}): which signing keys it still needs is "
            "unknown, so no signing key was retired or rescheduled; run `congdanso migrate` or check the database"
        )
        self.table_name = table_name


def usage_table(name: str) -> TableClause:
    return table(name, column("kid"), column("valid_until"))


class AttestationKeyUsage:
    """`usage(kid)` → the latest `valid_until` of the attestations signed with `kid`, and whether one has none."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._table = usage_table(ATTESTATION_TABLE)

    def __call__(self, kid: str) -> AttestationSpan:
        kid_col, until = self._table.c.kid, self._table.c.valid_until
        try:
            with self._engine.connect() as connection:
                latest = connection.execute(select(func.max(until)).where(kid_col == kid)).scalar_one_or_none()
                open_ended = connection.execute(select(kid_col).where(kid_col == kid, until.is_(None)).limit(1)).first()
        except SQLAlchemyError as exc:
            raise SigningUsageUnavailable(ATTESTATION_TABLE, exc) from exc
        return AttestationSpan(latest_valid_until=_as_instant(latest), open_ended=open_ended is not None)


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
