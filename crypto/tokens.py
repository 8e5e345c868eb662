"""Signed JWTs (EdDSA over Ed25519): a fixed algorithm list, purpose (`typ`), issuer and audience
always checked, and the key picked by `kid` among the keys still valid for verification. Tokens are written
with pyjwt and read with the strict compact-JWS reader of `crypto.compact_jws`."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from crypto.clock import Clock
from crypto.compact_jws import ALGORITHM, HEADER_TYP, CompactJws, TokenError, check_claims
from crypto.keyring import Keyring

ALGORITHMS = [ALGORITHM]
__all__ = ["ALGORITHMS", "IssuedToken", "TokenError", "TokenSigner"]

# kid → (public key, retired at) for every signing key of that id (one, unless a keyring repeats an id)
_PublicKeys = dict[str, tuple[tuple[Ed25519PublicKey, datetime | None], ...]]


@dataclass(frozen=True)
class IssuedToken:
    token: str
    jti: str
    expires_at: datetime


class TokenSigner:
    """Issues and verifies the service's JWTs. The keyring is read through a callable so a rotated
    keyring is picked up without rebuilding the signer."""

    def __init__(self, keyring: Callable[[], Keyring], *, issuer: str, clock: Clock) -> None:
        self._keyring = keyring
        self._issuer = issuer
        self._clock = clock
        self._jws = CompactJws()
        # (keyring, its public keys by kid): one attribute, so a reader never pairs one ring with another's keys
        self._keys: tuple[Keyring | None, _PublicKeys] = (None, {})

    def issue(
        self, *, typ: str, audience: str, subject: str, ttl: timedelta, claims: Mapping[str, Any] | None = None
    ) -> IssuedToken:
        now = self._clock.now()
        key = self._keyring().current_signing_key(now)
        jti = secrets.token_urlsafe(16)
        expires_at = now + ttl
        payload = {
            **(claims or {}),
            "iss": self._issuer,
            "aud": audience,
            "sub": subject,
            "typ": typ,
            "jti": jti,
            "iat": int(now.timestamp()),
            "exp": int(expires_at.timestamp()),
        }
        token = jwt.encode(payload, key.private_key, algorithm="EdDSA", headers={"kid": key.kid, "typ": HEADER_TYP})
        return IssuedToken(token, jti, datetime.fromtimestamp(payload["exp"], tz=now.tzinfo))

    def verify(self, token: str, *, typ: str, audience: str) -> dict[str, Any]:
        """Decode and check everything; raise TokenError with a short reason otherwise."""
        now = self._clock.now()
        claims = self._jws.open(token, lambda kid: self._verification_key(kid, now))
        return check_claims(claims, typ=typ, audience=audience, issuer=self._issuer, now=now.timestamp())

    def _verification_key(self, kid: str, now: datetime) -> Ed25519PublicKey | None:
        """The public key of `kid` if it still verifies at `now`. Public keys are derived once per keyring (a
        rotation or a reload gives a new keyring object), not once per token."""
        ring, keys = self._keys
        current = self._keyring()
        if current is not ring:
            keys = _public_keys(current)
            self._keys = (current, keys)
        for public_key, retired_at in keys.get(kid, ()):
            if retired_at is None or now < retired_at:
                return public_key
        return None


def _public_keys(ring: Keyring) -> _PublicKeys:
    keys: _PublicKeys = {}
    for key in ring.signing_keys:
        keys[key.kid] = (*keys.get(key.kid, ()), (key.public_key, key.retired_at))
    return keys
