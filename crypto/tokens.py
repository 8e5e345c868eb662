"""Signed JWTs (EdDSA over Ed25519): a fixed algorithm list, purpose (`typ`), issuer and audience
always checked, and the key picked by `kid` among the keys still valid for verification."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import jwt

from crypto.clock import Clock
from crypto.keyring import Keyring

ALGORITHMS = ["EdDSA"]
# Tolerated difference between the issuer's and the verifier's clocks for `iat`.
_CLOCK_SKEW_SECONDS = 30


class TokenError(Exception):
    """Any reason a token is refused: malformed, bad signature, expired, wrong purpose or audience."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


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
        token = jwt.encode(payload, key.private_key, algorithm="EdDSA", headers={"kid": key.kid, "typ": "JWT"})
        return IssuedToken(token, jti, datetime.fromtimestamp(payload["exp"], tz=now.tzinfo))

    def verify(self, token: str, *, typ: str, audience: str) -> dict[str, Any]:
        """Decode and check everything; raise TokenError with a short reason otherwise."""
        now = self._clock.now()
        try:
            header = jwt.get_unverified_header(token)
        except jwt.InvalidTokenError as exc:
            raise TokenError("malformed") from exc
        if header.get("alg") not in ALGORITHMS:
            raise TokenError("bad_signature")
        key = self._verification_key(header.get("kid"), now)
        try:
            claims = self._decode(token, key, audience, now)
        except jwt.InvalidSignatureError as exc:
            raise TokenError("bad_signature") from exc
        except jwt.InvalidTokenError as exc:
            raise TokenError("malformed") from exc
        if claims.get("typ") != typ:
            raise TokenError("wrong_type")
        return claims

    def _verification_key(self, kid: object, now: datetime) -> Any:
        for key in self._keyring().verification_keys(now):
            if key.kid == kid:
                return key.public_key
        raise TokenError("bad_signature")

    def _decode(self, token: str, key: Any, audience: str, now: datetime) -> dict[str, Any]:
        # pyjwt would read the wall clock; expiry is checked against the injected clock instead.
        claims: dict[str, Any] = jwt.decode(
            token,
            key,
            algorithms=ALGORITHMS,
            audience=audience,
            issuer=self._issuer,
            options={
                "require": ["exp", "iat", "iss", "aud", "sub", "jti", "typ"],
                "verify_exp": False,
                "verify_iat": False,
                "verify_nbf": False,
            },
        )
        exp, iat = claims["exp"], claims["iat"]
        if not isinstance(exp, int) or not isinstance(iat, int) or iat > now.timestamp() + _CLOCK_SKEW_SECONDS:
            raise TokenError("malformed")
        if now.timestamp() >= exp:
            raise TokenError("expired")
        return claims
