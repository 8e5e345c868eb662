"""One contract for the Ed25519 signing keys wherever they live (the keyring file, a PKCS#11 token): tokens and
checkpoints signed with them verify with the published JWKS, and a rotation publishes, then signs with, a new key."""

from __future__ import annotations

import base64
import json
from datetime import timedelta

import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from crypto.clock import FrozenClock
from crypto.compact_jws import JwksVerifier
from crypto.jwks import public_key_set
from crypto.keyring import Keyring
from crypto.signing_rotation import NO_ATTESTATIONS, rotate_signing_key
from crypto.tokens import TokenSigner
from tests.unit.crypto.conftest import NOW, Custody

ISSUER = "https://congdanso.test"


def _published(ring: Keyring) -> dict[str, Ed25519PublicKey]:
    return {
        jwk["kid"]: Ed25519PublicKey.from_public_bytes(base64.urlsafe_b64decode(jwk["x"] + "=="))
        for jwk in public_key_set(ring, now=NOW)["keys"]
    }


def _issue(ring: Keyring, clock: FrozenClock) -> str:
    signer = TokenSigner(lambda: ring, issuer=ISSUER, clock=clock)
    return signer.issue(typ="access", audience="api", subject="c-1", ttl=timedelta(minutes=5)).token


class TestSigningKeyContract:
    def test_a_signature_verifies_with_the_published_key(self, custody: Custody) -> None:
        ring = custody.new_ring()
        key = ring.current_signing_key(NOW)
        signature = key.private_key.sign(b"checkpoint 7")
        _published(ring)[key.kid].verify(signature, b"checkpoint 7")

    def test_a_token_verifies_offline_with_the_jwks(self, custody: Custody) -> None:
        ring = custody.new_ring()
        clock = FrozenClock(NOW)
        token = _issue(ring, clock)
        claims = JwksVerifier.from_jwks(public_key_set(ring, now=NOW)).verify(
            token, typ="access", audience="api", issuer=ISSUER, now=NOW
        )
        assert claims["sub"] == "c-1"
        assert jwt.get_unverified_header(token)["kid"] == ring.current_signing_key(NOW).kid

    def test_the_signer_is_an_ed25519_private_key_for_pyjwt(self, custody: Custody) -> None:
        key = custody.new_ring().current_signing_key(NOW)
        assert isinstance(key.private_key, Ed25519PrivateKey)
        token = jwt.encode({"sub": "x"}, key.private_key, algorithm="EdDSA", headers={"kid": key.kid})
        assert jwt.decode(token, key.public_key, algorithms=["EdDSA"]) == {"sub": "x"}

    def test_a_rotation_publishes_then_signs_with_a_new_key(self, custody: Custody) -> None:
        ring = custody.new_ring()
        old = ring.current_signing_key(NOW)
        done = rotate_signing_key(ring, now=NOW, grace=timedelta(hours=1), attestations=lambda _kid: NO_ATTESTATIONS)
        assert done.new_key.in_module is (custody.module is not None)
        assert set(_published(done.ring)) == {old.kid, done.new_key.kid}
        assert done.ring.current_signing_key(NOW).kid == old.kid
        later = NOW + timedelta(hours=1)
        token = _issue(done.ring, FrozenClock(later))
        assert jwt.get_unverified_header(token)["kid"] == done.new_key.kid
        JwksVerifier.from_jwks(public_key_set(done.ring, now=later)).verify(
            token, typ="access", audience="api", issuer=ISSUER, now=later
        )

    def test_the_keyring_file_round_trip_keeps_every_key_usable(self, custody: Custody) -> None:
        ring = custody.new_ring()
        again = Keyring.from_json(json.loads(json.dumps(ring.to_json())), module=custody.module)
        key = again.current_signing_key(NOW)
        _published(ring)[key.kid].verify(key.private_key.sign(b"m"), b"m")
        assert again.index_key == ring.index_key
        assert again.current_master_kid == ring.current_master_kid

    def test_a_retired_key_leaves_the_jwks(self, custody: Custody) -> None:
        ring = custody.new_ring()
        done = rotate_signing_key(ring, now=NOW, grace=timedelta(0), attestations=lambda _kid: NO_ATTESTATIONS)
        retired_at = done.previous_key.retired_at
        assert retired_at is not None
        assert set(_published(done.ring)) == {done.previous_key.kid, done.new_key.kid}
        kids = {jwk["kid"] for jwk in public_key_set(done.ring, now=retired_at)["keys"]}
        assert kids == {done.new_key.kid}
