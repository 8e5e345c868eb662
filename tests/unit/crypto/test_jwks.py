from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta

import jwt
from cryptography.hazmat.primitives import serialization

from crypto.jwks import public_jwk, public_key_set
from crypto.keyring import Keyring

NOW = datetime(2026, 11, 24, 8, 0, tzinfo=UTC)


def _ring() -> Keyring:
    return Keyring.generate(now=NOW, development=True)


class TestPublicJwk:
    def test_x_is_the_raw_public_key_base64url_without_padding(self) -> None:
        key = _ring().signing_keys[0]
        jwk = public_jwk(key)
        raw = key.public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        assert "=" not in jwk["x"]
        assert base64.urlsafe_b64decode(jwk["x"] + "=") == raw
        assert jwk == {"kty": "OKP", "crv": "Ed25519", "x": jwk["x"], "kid": key.kid, "alg": "EdDSA", "use": "sig"}

    def test_pyjwt_reads_it_and_verifies_a_signature(self) -> None:
        key = _ring().signing_keys[0]
        token = jwt.encode({"sub": "x"}, key.private_key, algorithm="EdDSA", headers={"kid": key.kid})
        verifier = jwt.PyJWKSet.from_dict({"keys": [dict(public_jwk(key))]})[key.kid]
        assert jwt.decode(token, verifier.key, algorithms=["EdDSA"]) == {"sub": "x"}


class TestPublicKeySet:
    def test_pending_keys_are_published_and_retired_ones_are_not(self) -> None:
        ring = _ring()
        old = ring.signing_keys[0]
        ring = ring.with_new_signing_key(now=NOW, active_from=NOW + timedelta(hours=1))
        new = ring.signing_keys[-1]
        ring = ring.with_signing_key_retired(old.kid, at=NOW + timedelta(hours=2))
        assert [k["kid"] for k in public_key_set(ring, now=NOW)["keys"]] == [new.kid, old.kid]  # newest first
        assert [k["kid"] for k in public_key_set(ring, now=NOW + timedelta(hours=2))["keys"]] == [new.kid]

    def test_no_private_material(self) -> None:
        for key in public_key_set(_ring(), now=NOW)["keys"]:
            assert set(key) == {"kty", "crv", "x", "kid", "alg", "use"}
