"""How long the consent artefacts signed with a key stay valid: what a signing-key rotation must wait for before
retiring the key, so every artefact keeps verifying offline with the JWKS until it expires.

The `consent` table (columns `kid` and `valid_until`) is read directly; a missing or unreadable table raises
`SigningUsageUnavailable` (fail closed), never "no artefacts". Revoked consents count too: their artefact still
proves what was agreed, and when."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Engine, func, select
from sqlalchemy.exc import SQLAlchemyError

from crypto.signing_rotation import AttestationLookup, AttestationSpan
from wallet.signing_usage import SigningUsageUnavailable, usage_table

CONSENT_TABLE = "consent"


class ConsentKeyUsage:
    """`usage(kid)` → the latest `valid_until` of the consent artefacts signed with `kid` (none is open-ended)."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._table = usage_table(CONSENT_TABLE)

    def __call__(self, kid: str) -> AttestationSpan:
        consents = self._table
        try:
            with self._engine.connect() as connection:
                latest = connection.execute(
                    select(func.max(consents.c.valid_until)).where(consents.c.kid == kid)
                ).scalar_one_or_none()
        except SQLAlchemyError as exc:
            raise SigningUsageUnavailable(CONSENT_TABLE, exc) from exc
        return AttestationSpan(latest_valid_until=_as_instant(latest))


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
