"""Rotation of the Ed25519 signing keys: publish first, sign later, retire only when nothing signed is still valid.

A rotation adds a key that becomes current after a grace period (published at once in the JWKS, so caches
pick it up before the first token it signs) and schedules the retirement of the key it replaces. That key
signs until its successor's `active_from`; afterwards, what it signed stays valid for at most the longest
short token lifetime, or until the latest `valid_until` of the attestations (issued papers) it signed. An
attestation valid forever keeps its key forever (`retired_at` None).

Attestations can still be signed by the old key during the grace period, after the rotation computed its
schedule: `reschedule_retirements`, run once the successor is current, extends the schedule accordingly.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from itertools import pairwise
from typing import Any, Literal

from crypto.keyring import Keyring, KeyringError, SigningKey

# The longest lifetime of a short token signed with these keys (access and agency tokens 15 min, QR
# tokens 5 min), plus one minute for clock skew between the signer and the verifiers.
SHORT_TOKEN_LIFETIME = timedelta(minutes=15) + timedelta(minutes=1)
DEFAULT_GRACE = timedelta(hours=1)

SigningKeyStatus = Literal["pending", "current", "retiring", "kept", "retired"]


class SigningRotationError(KeyringError):
    """A rotation that cannot be done safely (e.g. another one is still in its grace period)."""


@dataclass(frozen=True)
class AttestationSpan:
    """What long-lived papers a key has signed: the latest `valid_until`, and whether any has none."""

    latest_valid_until: datetime | None = None
    open_ended: bool = False


NO_ATTESTATIONS = AttestationSpan()
AttestationLookup = Callable[[str], AttestationSpan]
"""The attestations signed with a key, by kid."""


def retirement_time(
    *, signs_until: datetime, attestations: AttestationSpan, short_lifetime: timedelta = SHORT_TOKEN_LIFETIME
) -> datetime | None:
    """The first moment nothing signed by a key that signs until `signs_until` can still be valid;
    None when an attestation it signed never expires (the key is then kept for verification)."""
    if attestations.open_ended:
        return None
    last_token = signs_until + short_lifetime
    latest = attestations.latest_valid_until
    return last_token if latest is None else max(last_token, latest)


@dataclass(frozen=True)
class SigningRotation:
    ring: Keyring
    new_key: SigningKey
    previous_key: SigningKey
    """The key replaced, with its scheduled retirement (`retired_at` None: kept)."""


def rotate_signing_key(
    ring: Keyring, *, now: datetime, grace: timedelta, attestations: AttestationLookup
) -> SigningRotation:
    """Add a key current from `now + grace` and schedule the retirement of the key current at `now`."""
    if grace < timedelta(0):
        raise SigningRotationError("the grace period cannot be negative")
    pending = [k for k in ring.verification_keys(now) if k.active_from > now]
    if pending:
        raise SigningRotationError(
            f"signing key {pending[0].kid} becomes current at {pending[0].active_from.isoformat()}: "
            "rotate again after that"
        )
    previous = ring.current_signing_key(now)
    rotated = ring.with_new_signing_key(now=now, active_from=now + grace)
    new_key = rotated.signing_keys[-1]
    rotated = _schedule(rotated, previous, signs_until=new_key.active_from, span=attestations(previous.kid))
    return SigningRotation(rotated, new_key, _key(rotated, previous.kid))


def reschedule_retirements(ring: Keyring, *, now: datetime, attestations: AttestationLookup) -> Keyring:
    """Recompute the retirement of every replaced key not yet retired, from the attestations recorded so
    far. A scheduled retirement is only ever pushed later (or lifted by an attestation that never expires);
    a kept key gets a schedule once no attestation without expiry signed by it remains."""
    for key, successor in _successions(ring):
        if key.can_verify(now):
            ring = _schedule(ring, key, signs_until=successor.active_from, span=attestations(key.kid))
    return ring


def describe_signing_keys(ring: Keyring, *, now: datetime) -> list[dict[str, Any]]:
    """Each key with its status, oldest first; for operators (no key material)."""
    current = _current_kid(ring, now)
    return [
        {
            "kid": key.kid,
            "created_at": key.created_at.isoformat(),
            "active_from": key.active_from.isoformat(),
            "retired_at": key.retired_at.isoformat() if key.retired_at else None,
            "status": _status(key, now, current),
        }
        for key in sorted(ring.signing_keys, key=lambda k: k.active_from)
    ]


def _schedule(ring: Keyring, key: SigningKey, *, signs_until: datetime, span: AttestationSpan) -> Keyring:
    due = retirement_time(signs_until=signs_until, attestations=span)
    if due is not None and key.retired_at is not None:
        due = max(due, key.retired_at)
    keys = tuple(replace(k, retired_at=due) if k.kid == key.kid else k for k in ring.signing_keys)
    return replace(ring, signing_keys=keys)


def _successions(ring: Keyring) -> list[tuple[SigningKey, SigningKey]]:
    ordered = sorted(ring.signing_keys, key=lambda k: k.active_from)
    return list(pairwise(ordered))


def _key(ring: Keyring, kid: str) -> SigningKey:
    return next(k for k in ring.signing_keys if k.kid == kid)


def _current_kid(ring: Keyring, now: datetime) -> str | None:
    try:
        return ring.current_signing_key(now).kid
    except KeyringError:
        return None


def _status(key: SigningKey, now: datetime, current_kid: str | None) -> SigningKeyStatus:
    if not key.can_verify(now):
        return "retired"
    if key.active_from > now:
        return "pending"
    if key.kid == current_kid:
        return "current"
    return "kept" if key.retired_at is None else "retiring"
