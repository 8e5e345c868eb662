"""The public half of the signing keys as a JSON Web Key Set (RFC 7517, OKP keys of RFC 8037).

Every key still valid for verification is published, including one that does not sign yet, so scanners
and verifiers holding a cached set know a new key before the first token it signs.
"""

from __future__ import annotations

import base64
from datetime import datetime
from typing import Literal, TypedDict

from cryptography.hazmat.primitives import serialization

from crypto.keyring import Keyring, SigningKey

# How long verifiers may cache the key set; a rotation's grace period should be longer.
JWKS_MAX_AGE_SECONDS = 300


class PublicJwk(TypedDict):
    kty: Literal["OKP"]
    crv: Literal["Ed25519"]
    x: str
    kid: str
    alg: Literal["EdDSA"]
    use: Literal["sig"]


class JwkSet(TypedDict):
    keys: list[PublicJwk]


def public_jwk(key: SigningKey) -> PublicJwk:
    """The public key only: `x` is the raw 32-byte Ed25519 public key, base64url without padding."""
    raw = key.public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    x = base64.urlsafe_b64encode(raw).decode().rstrip("=")
    return {"kty": "OKP", "crv": "Ed25519", "x": x, "kid": key.kid, "alg": "EdDSA", "use": "sig"}


def public_key_set(ring: Keyring, *, now: datetime) -> JwkSet:
    """Every key not retired at `now`, newest first (a scanner trying keys in order meets the signer first)."""
    keys = sorted(ring.verification_keys(now), key=lambda k: k.active_from, reverse=True)
    return {"keys": [public_jwk(key) for key in keys]}
