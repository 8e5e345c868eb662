"""How long the consent artefacts signed with a key stay valid: what a signing-key rotation must wait for before
retiring the key, so every artefact keeps verifying offline with the JWKS until it expires.

The `consent` table (columns `kid` and `valid_until`) is read by reflection, so this works whether or not the
database has it yet: no table, no artefacts. Revoked consents count too: their artefact still proves what was
agreed, and when."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Engine, MetaData, Table, func, inspect, select

from crypto.signing_rotation import NO_ATTESTATIONS, AttestationLookup, AttestationSpan

CONSENT_TABLE = "consent"


class ConsentKeyUsage:
    """`usage(kid)` → the latest `valid_until` of the consent artefacts signed with `kid` (none is open-ended)."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._table: Table | None = None
        self._checked = False

    def __call__(self, kid: str) -> AttestationSpan:
        table = self._consents()
        if table is None:
            return NO_ATTESTATIONS
        with self._engine.connect() as connection:
            latest = connection.execute(
                select(func.max(table.c.valid_until)).where(table.c.kid == kid)
            ).scalar_one_or_none()
        return AttestationSpan(latest_valid_until=_as_instant(latest))

    def _consents(self) -> Table | None:
        if not self._checked:
            self._checked = True
            if inspect(self._engine).has_table(CONSENT_TABLE):
                self._table = Table(CONSENT_TABLE, MetaData(), autoload_with=self._engine)
        return self._table


def combined(*lookups: AttestationLookup) -> AttestationLookup:
    """One lookup over several kinds of long-lived signatures: the latest end of any, open-ended if any is."""

    def usage(kid: str) -> AttestationSpan:
        spans = [lookup(kid) for lookup in lookups]
        ends = [s.latest_valid_until for s in spans if s.latest_valid_until is not None]
        return AttestationSpan(latest_valid_until=max(ends, default=None), open_ended=any(s.open_ended for s in spans))

    return usage


def _as_instant(value: object) -> datetime | None:
    """A stored `valid_until` as an aware instant (SQLite hands back naive UTC, or text when reflected)."""
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    raise TypeError(f"unexpected valid_until {value!r}")
