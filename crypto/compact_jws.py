"""A strict reader of the service's compact JWS tokens (RFC 7515 compact form, EdDSA over Ed25519 only).

Access tokens, QR tokens and attestations are all `header.payload.signature` with `{"alg": "EdDSA", "kid": …,
"typ": "JWT"}`. Reading only that shape makes the verifier small: the header is never a source of keys or
algorithms (`jku`, `jwk`, `x5u`, `x5c` are ignored, `crit` and `b64` refused), each segment is canonical
base64url without padding, the key is picked by `kid` among `Ed25519PublicKey` objects built once per key set,
and the signature is checked with `cryptography` before the payload is parsed. Failures raise `TokenError` with
the same short reasons the service has always given: `malformed`, `bad_signature`, `expired`, `wrong_type`.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

ALGORITHM = "EdDSA"
HEADER_TYP = "JWT"
# Tolerated difference between the issuer's and the verifier's clocks for `iat`.
CLOCK_SKEW_SECONDS = 30
REQUIRED_CLAIMS = ("exp", "iat", "iss", "aud", "sub", "jti", "typ")

_SIGNATURE_BYTES = 64
_B64URL = re.compile(r"[A-Za-z0-9_-]*")
# The last character of an unpadded segment carries unused low bits that must be zero, or two spellings
# would decode to the same bytes (indexed by the segment's length modulo 4).
_CANONICAL_LAST = {2: frozenset("AQgw"), 3: frozenset("AEIMQUYcgkosw048")}
# Header members that change how the token must be read: none is supported, so their presence refuses it.
_REFUSED_HEADER = frozenset({"crit", "b64"})
# Distinct valid headers remembered (one per signing key in practice); the table is emptied when full, and a
# header longer than the service ever writes is checked every time rather than kept.
_HEADER_CACHE_SIZE = 64
_HEADER_CACHE_MAX_CHARS = 256

KeyLookup = Callable[[str], Ed25519PublicKey | None]


class TokenError(Exception):
    """Any reason a token is refused: malformed, bad signature, expired, wrong purpose or audience."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def b64url_decode(segment: str) -> bytes:
    """Canonical base64url without padding, as RFC 7515 §2 requires; anything else is `malformed`."""
    rest = len(segment) % 4
    if rest == 1 or not _B64URL.fullmatch(segment) or (rest and segment[-1] not in _CANONICAL_LAST[rest]):
        raise TokenError("malformed")
    try:
        return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
    except (binascii.Error, ValueError) as exc:  # unreachable after the checks above; kept as a guard
        raise TokenError("malformed") from exc


def _json_object(raw: bytes) -> dict[str, Any]:
    try:
        value = json.loads(raw)
    except (ValueError, RecursionError) as exc:
        raise TokenError("malformed") from exc
    if not isinstance(value, dict):
        raise TokenError("malformed")
    return value


def _header_kid(header: dict[str, Any]) -> str:
    """The `kid` of a header the service would have written; structural faults are `malformed`, a foreign
    algorithm or a missing key id `bad_signature` (the token cannot be ours)."""
    kid = header.get("kid")
    if kid is not None and not isinstance(kid, str):
        raise TokenError("malformed")
    if not _REFUSED_HEADER.isdisjoint(header) or header.get("typ", HEADER_TYP) != HEADER_TYP:
        raise TokenError("malformed")
    if header.get("alg") != ALGORITHM or kid is None:
        raise TokenError("bad_signature")
    return kid


class CompactJws:
    """Opens `header.payload.signature` with a key chosen by `kid`; returns the payload as a dict once the
    signature holds. Valid headers are remembered by their exact text, so the common case parses no header."""

    def __init__(self) -> None:
        self._kids: dict[str, str] = {}

    def open(self, token: str, key_for: KeyLookup) -> dict[str, Any]:
        parts = token.split(".")
        if len(parts) != 3:
            raise TokenError("malformed")
        header_segment, payload_segment, signature_segment = parts
        kid = self._kids.get(header_segment)
        header_raw = b"" if kid is not None else b64url_decode(header_segment)
        payload_raw = b64url_decode(payload_segment)
        signature = b64url_decode(signature_segment)
        if kid is None:
            kid = _header_kid(_json_object(header_raw))
            self._remember(header_segment, kid)
        key = key_for(kid)
        if key is None or len(signature) != _SIGNATURE_BYTES:
            raise TokenError("bad_signature")
        try:
            key.verify(signature, f"{header_segment}.{payload_segment}".encode("ascii"))
        except InvalidSignature as exc:
            raise TokenError("bad_signature") from exc
        return _json_object(payload_raw)

    def _remember(self, header_segment: str, kid: str) -> None:
        if len(header_segment) > _HEADER_CACHE_MAX_CHARS:
            return
        if len(self._kids) >= _HEADER_CACHE_SIZE:
            self._kids.clear()
        self._kids[header_segment] = kid


def check_claims(claims: dict[str, Any], *, typ: str, audience: str, issuer: str, now: float) -> dict[str, Any]:
    """The registered claims every service token carries, checked against the verifier's clock `now` (a POSIX
    timestamp): all present, `iss` and `aud` ours, `sub` and `jti` strings, `iat` not in the future beyond the
    skew, `exp` not reached; the purpose `typ` last, so a valid token of another purpose says `wrong_type`."""
    for name in REQUIRED_CLAIMS:
        if claims.get(name) is None:
            raise TokenError("malformed")
    aud = claims["aud"]
    audiences = [aud] if isinstance(aud, str) else aud
    if claims["iss"] != issuer or not isinstance(claims["iss"], str) or not aud or not isinstance(audiences, list):
        raise TokenError("malformed")
    if any(not isinstance(a, str) for a in audiences) or audience not in audiences:
        raise TokenError("malformed")
    if not isinstance(claims["sub"], str) or not isinstance(claims["jti"], str):
        raise TokenError("malformed")
    exp, iat = claims["exp"], claims["iat"]
    if not isinstance(exp, int) or not isinstance(iat, int) or iat > now + CLOCK_SKEW_SECONDS:
        raise TokenError("malformed")
    if now >= exp:
        raise TokenError("expired")
    if claims["typ"] != typ:
        raise TokenError("wrong_type")
    return claims


class JwksError(ValueError):
    """A JSON Web Key Set that cannot be used: not a set, or an Ed25519 key that is not one."""


def _okp_key(jwk: Mapping[str, Any]) -> tuple[str, Ed25519PublicKey] | None:
    if jwk.get("kty") != "OKP" or jwk.get("crv") != "Ed25519":
        return None  # another kind of key in a shared set: never a candidate for these tokens
    kid, x = jwk.get("kid"), jwk.get("x")
    if not isinstance(kid, str) or not isinstance(x, str) or jwk.get("alg", ALGORITHM) != ALGORITHM:
        raise JwksError("an Ed25519 key needs a string kid and x, and alg EdDSA if any")
    if jwk.get("use", "sig") != "sig":
        return None
    try:
        return kid, Ed25519PublicKey.from_public_bytes(b64url_decode(x))
    except (TokenError, ValueError) as exc:
        raise JwksError(f"key {kid!r}: x is not a 32-byte Ed25519 public key") from exc


class JwksVerifier:
    """What a scanner or relying party holding the service's JWKS (`/.well-known/jwks.json`) uses offline: the
    keys are parsed once, then each token costs one Ed25519 verification and two small decodes.

    `JwksVerifier.from_jwks(jwks).verify(token, typ="qr", audience="congdanso-qr", issuer=…, now=…)`."""

    def __init__(self, keys: Mapping[str, Ed25519PublicKey]) -> None:
        self._keys = dict(keys)
        self._jws = CompactJws()

    @classmethod
    def from_jwks(cls, jwks: Mapping[str, Any]) -> JwksVerifier:
        entries = jwks.get("keys")
        if not isinstance(entries, list) or not all(isinstance(e, Mapping) for e in entries):
            raise JwksError("a JWKS is an object with a list of keys")
        keys: dict[str, Ed25519PublicKey] = {}
        for entry in entries:
            found = _okp_key(entry)
            if found is not None:
                keys.setdefault(*found)
        return cls(keys)

    @property
    def kids(self) -> frozenset[str]:
        return frozenset(self._keys)

    def verify(self, token: str, *, typ: str, audience: str, issuer: str, now: datetime) -> dict[str, Any]:
        """The token's claims, or TokenError with the reason it is refused."""
        claims = self._jws.open(token, self._keys.get)
        return check_claims(claims, typ=typ, audience=audience, issuer=issuer, now=now.timestamp())
