"""The compact-JWS reader behind `TokenSigner.verify` and the offline `JwksVerifier`: every forgery the service's
tests try is refused by both, with the reasons the pyjwt-based verifier gave."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given, settings
from hypothesis import strategies as st

from crypto.clock import FrozenClock
from crypto.compact_jws import JwksError, JwksVerifier, TokenError, b64url_decode
from crypto.jwks import public_key_set
from crypto.keyring import Keyring
from crypto.tokens import TokenSigner

NOW = datetime(2026, 11, 24, 8, 0, tzinfo=UTC)
ISSUER = "https://congdanso.example"
AUDIENCE = "congdanso-qr"
TYP = "qr"

Verify = Callable[[str], dict[str, Any]]


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _json(data: Any) -> str:
    return _b64(json.dumps(data).encode())


def _parts(token: str) -> tuple[dict[str, Any], dict[str, Any], str]:
    header, payload, signature = token.split(".")
    return json.loads(b64url_decode(header)), json.loads(b64url_decode(payload)), signature


@dataclass
class World:
    ring: Keyring
    clock: FrozenClock
    signer: TokenSigner

    @property
    def key(self) -> Ed25519PrivateKey:
        return self.ring.signing_keys[0].private_key

    @property
    def kid(self) -> str:
        return self.ring.signing_keys[0].kid

    def token(self, *, typ: str = TYP, audience: str = AUDIENCE, ttl: timedelta = timedelta(minutes=5)) -> str:
        return self.signer.issue(typ=typ, audience=audience, subject="qr-id-of-citizen", ttl=ttl).token

    def claims(self) -> dict[str, Any]:
        return _parts(self.token())[1]

    def signed(self, header: dict[str, Any], claims: Any, key: Ed25519PrivateKey | None = None) -> str:
        """Signed by hand with the service's key (or `key`): the header says whatever the test wants."""
        signing_input = f"{_json(header)}.{_json(claims)}"
        return f"{signing_input}.{_b64((key or self.key).sign(signing_input.encode()))}"


@pytest.fixture
def world() -> World:
    ring = Keyring.generate(now=NOW, development=True)
    clock = FrozenClock(NOW)
    return World(ring, clock, TokenSigner(lambda: ring, issuer=ISSUER, clock=clock))


def _by_signer(world: World) -> Verify:
    return lambda token: world.signer.verify(token, typ=TYP, audience=AUDIENCE)


def _by_jwks(world: World) -> Verify:
    jwks: dict[str, Any] = dict(public_key_set(world.ring, now=NOW))
    verifier = JwksVerifier.from_jwks(jwks)
    return lambda token: verifier.verify(token, typ=TYP, audience=AUDIENCE, issuer=ISSUER, now=world.clock.now())


def _pyjwt_reference(world: World) -> Verify:
    """The verifier the service had before the compact reader, kept here as the reference for reasons."""

    def verify(token: str) -> dict[str, Any]:
        now = world.clock.now()
        try:
            header = jwt.get_unverified_header(token)
        except jwt.InvalidTokenError as exc:
            raise TokenError("malformed") from exc
        keys = {k.kid: k.public_key for k in world.ring.verification_keys(now)}
        if header.get("alg") != "EdDSA" or header.get("kid") not in keys:
            raise TokenError("bad_signature")
        required = ["exp", "iat", "iss", "aud", "sub", "jti", "typ"]
        options: Any = {"require": required, "verify_exp": False, "verify_iat": False, "verify_nbf": False}
        try:
            claims = jwt.decode(
                token, keys[header["kid"]], algorithms=["EdDSA"], audience=AUDIENCE, issuer=ISSUER, options=options
            )
        except jwt.InvalidSignatureError as exc:
            raise TokenError("bad_signature") from exc
        except jwt.InvalidTokenError as exc:
            raise TokenError("malformed") from exc
        exp, iat = claims["exp"], claims["iat"]
        if not isinstance(exp, int) or not isinstance(iat, int) or iat > now.timestamp() + 30:
            raise TokenError("malformed")
        if now.timestamp() >= exp:
            raise TokenError("expired")
        if claims["typ"] != TYP:
            raise TokenError("wrong_type")
        return dict(claims)

    return verify


VERIFIERS = {"token-signer": _by_signer, "jwks": _by_jwks}


@pytest.fixture(params=sorted(VERIFIERS))
def verify(request: pytest.FixtureRequest, world: World) -> Verify:
    return VERIFIERS[request.param](world)


def _reason(verify: Verify, token: str) -> str | None:
    try:
        verify(token)
    except TokenError as exc:
        return exc.reason
    return None


# Each case builds a token from the world and names the reason it must be refused with.
Case = Callable[[World], str]


def _alg_none(alg: str) -> Case:
    return lambda w: f"{_json({'alg': alg, 'typ': 'JWT', 'kid': w.kid})}.{_json(w.claims())}."


def _hs256_keyed_with_public_key(w: World) -> str:
    head, body = _json({"alg": "HS256", "kid": w.kid, "typ": "JWT"}), _json(w.claims())
    public = w.key.public_key().public_bytes_raw()
    return f"{head}.{body}.{_b64(hmac.new(public, f'{head}.{body}'.encode(), hashlib.sha256).digest())}"


def _foreign_alg(alg: str) -> Case:
    def make(w: World) -> str:
        key: Any = (
            rsa.generate_private_key(65537, 2048) if alg.startswith("RS") else ec.generate_private_key(ec.SECP256R1())
        )
        return jwt.encode(w.claims(), key, algorithm=alg, headers={"kid": w.kid})

    return make


def _other_key(kid: str | None) -> Case:
    def make(w: World) -> str:
        header = {"alg": "EdDSA", "typ": "JWT"} | ({} if kid is None else {"kid": kid or w.kid})
        return w.signed(header, w.claims(), Ed25519PrivateKey.generate())

    return make


def _tampered_payload(w: World) -> str:
    token = w.token()
    header, _payload, signature = token.split(".")
    return f"{header}.{_json(_parts(token)[1] | {'sub': 'someone-else'})}.{signature}"


def _embedded_key(member: str) -> Case:
    """The attacker signs with their own key and points at it from the header: the header is never a key source."""

    def make(w: World) -> str:
        attacker = Ed25519PrivateKey.generate()
        value: Any = {"kty": "OKP", "crv": "Ed25519", "x": _b64(attacker.public_key().public_bytes_raw())}
        value = value if member == "jwk" else "https://attacker.example/keys"
        return w.signed({"alg": "EdDSA", "kid": w.kid, "typ": "JWT", member: value}, w.claims(), attacker)

    return make


def _signed_header(extra: dict[str, Any]) -> Case:
    return lambda w: w.signed({"alg": "EdDSA", "kid": w.kid, "typ": "JWT"} | extra, w.claims())


def _segment_edit(index: int, edit: Callable[[str], str]) -> Case:
    def make(w: World) -> str:
        parts = w.token().split(".")
        parts[index] = edit(parts[index])
        return ".".join(parts)

    return make


def _short_signature(w: World) -> str:
    header, payload, signature = w.token().split(".")
    return f"{header}.{payload}.{_b64(b64url_decode(signature)[:63])}"


def _claims(change: dict[str, Any], drop: str | None = None) -> Case:
    def make(w: World) -> str:
        claims = w.claims() | change
        claims.pop(drop or "", None)
        return w.signed({"alg": "EdDSA", "kid": w.kid, "typ": "JWT"}, claims)

    return make


def _noncanonical_signature(w: World) -> str:
    header, payload, signature = w.token().split(".")
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    return f"{header}.{payload}.{signature[:-1]}{alphabet[alphabet.index(signature[-1]) + 1]}"


REFUSED: dict[str, tuple[Case, str]] = {
    "alg-none": (_alg_none("none"), "bad_signature"),
    "alg-None": (_alg_none("None"), "bad_signature"),
    "alg-NONE": (_alg_none("NONE"), "bad_signature"),
    "alg-none-by-pyjwt": (lambda w: jwt.encode(w.claims(), "", algorithm="none"), "bad_signature"),
    "hs256-public-key-as-secret": (_hs256_keyed_with_public_key, "bad_signature"),
    "hs256-shared-secret": (
        lambda w: jwt.encode(w.claims(), "any-shared-secret-of-32-bytes-long!", algorithm="HS256"),
        "bad_signature",
    ),
    "rs256": (_foreign_alg("RS256"), "bad_signature"),
    "es256": (_foreign_alg("ES256"), "bad_signature"),
    "alg-missing": (_signed_header({"alg": None}), "bad_signature"),
    "alg-ed25519-spelling": (_signed_header({"alg": "Ed25519"}), "bad_signature"),
    "another-key-our-kid": (_other_key(""), "bad_signature"),
    "another-key-unknown-kid": (_other_key("sk-attacker"), "bad_signature"),
    "another-key-no-kid": (_other_key(None), "bad_signature"),
    "our-key-no-kid": (lambda w: w.signed({"alg": "EdDSA", "typ": "JWT"}, w.claims()), "bad_signature"),
    "embedded-jwk": (_embedded_key("jwk"), "bad_signature"),
    "jku": (_embedded_key("jku"), "bad_signature"),
    "x5u": (_embedded_key("x5u"), "bad_signature"),
    "kid-not-a-string": (_signed_header({"kid": 7}), "malformed"),
    "b64-false": (_signed_header({"b64": False, "crit": ["b64"]}), "malformed"),
    "crit-unknown": (_signed_header({"crit": ["exp"]}), "malformed"),
    "header-typ-foreign": (_signed_header({"typ": "dpop+jwt"}), "malformed"),
    "tampered-payload": (_tampered_payload, "bad_signature"),
    "signature-63-bytes": (_short_signature, "bad_signature"),
    "signature-noncanonical-last-char": (_noncanonical_signature, "malformed"),
    "padded-signature": (_segment_edit(2, lambda s: s + "=="), "malformed"),
    "padded-header": (_segment_edit(0, lambda s: s + ("=" * (-len(s) % 4) or "==")), "malformed"),
    "plus-slash-alphabet": (_segment_edit(1, lambda s: s.replace("-", "+").replace("_", "/") + "+/"), "malformed"),
    "space-in-payload": (_segment_edit(1, lambda s: f"{s[:8]} {s[8:]}"), "malformed"),
    "newline-after": (lambda w: w.token() + "\n", "malformed"),
    "space-before": (lambda w: " " + w.token(), "malformed"),
    "extra-dot": (lambda w: w.token() + ".", "malformed"),
    "four-parts": (lambda w: w.token() + ".AAAA", "malformed"),
    "two-parts": (lambda w: w.token().rpartition(".")[0], "malformed"),
    "expired": (lambda w: w.token(ttl=timedelta(seconds=-1)), "expired"),
    "wrong-typ-claim": (lambda w: w.token(typ="access"), "wrong_type"),
    "wrong-audience": (lambda w: w.token(audience="congdanso-api"), "malformed"),
    "wrong-issuer": (_claims({"iss": "https://elsewhere.example"}), "malformed"),
    "audience-list-without-ours": (_claims({"aud": ["congdanso-api"]}), "malformed"),
    "audience-empty": (_claims({"aud": ""}), "malformed"),
    "sub-not-a-string": (_claims({"sub": 12}), "malformed"),
    "jti-not-a-string": (_claims({"jti": ["x"]}), "malformed"),
    "exp-a-string": (_claims({"exp": "9999999999"}), "malformed"),
    "iat-in-the-future": (_claims({"iat": int(NOW.timestamp()) + 31}), "malformed"),
    "payload-not-an-object": (lambda w: w.signed({"alg": "EdDSA", "kid": w.kid, "typ": "JWT"}, [1, 2]), "malformed"),
    **{f"missing-{name}": (_claims({}, drop=name), "malformed") for name in ("exp", "iat", "iss", "aud", "sub", "jti")},
    "missing-typ": (_claims({}, drop="typ"), "malformed"),
}
# Refused more strictly than pyjwt did: it accepted trailing '=' padding (same bytes, another spelling).
STRICTER = {"padded-signature", "padded-header", "b64-false", "header-typ-foreign"}


class TestRefusals:
    @pytest.mark.parametrize("case", sorted(REFUSED))
    def test_each_forgery_is_refused_with_its_reason(self, world: World, verify: Verify, case: str) -> None:
        make, reason = REFUSED[case]
        assert _reason(verify, make(world)) == reason

    @pytest.mark.parametrize("case", sorted(set(REFUSED) - STRICTER))
    def test_the_reasons_are_those_of_the_pyjwt_verifier(self, world: World, case: str) -> None:
        token = REFUSED[case][0](world)
        assert _reason(_by_signer(world), token) == _reason(_pyjwt_reference(world), token)

    def test_the_genuine_token_is_accepted_and_reads_as_pyjwt_reads_it(self, world: World, verify: Verify) -> None:
        token = world.token()
        assert verify(token) == _pyjwt_reference(world)(token)
        assert verify(token)["typ"] == TYP and verify(token)["sub"] == "qr-id-of-citizen"

    def test_just_before_expiry_is_valid_and_at_expiry_is_not(self, world: World, verify: Verify) -> None:
        token = world.token(ttl=timedelta(minutes=5))
        world.clock.advance(timedelta(minutes=5) - timedelta(seconds=1))
        assert verify(token)["typ"] == TYP
        world.clock.advance(timedelta(seconds=1))
        assert _reason(verify, token) == "expired"


class TestOneByteChanged:
    def test_any_byte_of_header_payload_or_signature_changed_is_refused(self, world: World, verify: Verify) -> None:
        parts = world.token().split(".")
        for index, segment in enumerate(parts):
            raw = b64url_decode(segment)
            for position in range(len(raw)):
                changed = bytearray(raw)
                changed[position] ^= 0x01
                forged = parts.copy()
                forged[index] = _b64(bytes(changed))
                assert _reason(verify, ".".join(forged)) in {"malformed", "bad_signature"}, (index, position)

    def test_any_character_replaced_is_refused(self, world: World, verify: Verify) -> None:
        token = world.token()
        for position, char in enumerate(token):
            if char != ".":
                forged = f"{token[:position]}{'B' if char == 'A' else 'A'}{token[position + 1 :]}"
                assert _reason(verify, forged) in {"malformed", "bad_signature"}, position


class TestKeys:
    def test_a_retired_key_no_longer_verifies_for_the_signer(self, world: World) -> None:
        token = world.token()
        world.ring = world.ring.with_signing_key_retired(world.kid, at=NOW + timedelta(minutes=1))
        signer = TokenSigner(lambda: world.ring, issuer=ISSUER, clock=world.clock)
        assert signer.verify(token, typ=TYP, audience=AUDIENCE)["typ"] == TYP
        world.clock.advance(timedelta(minutes=1))
        assert _reason(lambda t: signer.verify(t, typ=TYP, audience=AUDIENCE), token) == "bad_signature"

    def test_a_rotated_keyring_is_picked_up_by_the_same_signer(self, world: World) -> None:
        rings = [world.ring]
        signer = TokenSigner(lambda: rings[-1], issuer=ISSUER, clock=world.clock)
        assert signer.verify(world.token(), typ=TYP, audience=AUDIENCE)
        rings.append(rings[-1].with_new_signing_key(now=NOW, active_from=NOW + timedelta(seconds=1)))
        world.clock.advance(timedelta(seconds=1))
        newer = signer.issue(typ=TYP, audience=AUDIENCE, subject="s", ttl=timedelta(minutes=1)).token
        assert _parts(newer)[0]["kid"] == rings[-1].signing_keys[-1].kid
        assert signer.verify(newer, typ=TYP, audience=AUDIENCE)["sub"] == "s"

    def test_the_jwks_verifier_knows_only_the_set_it_was_given(self, world: World) -> None:
        other = Keyring.generate(now=NOW, development=True)
        verifier = JwksVerifier.from_jwks(dict(public_key_set(other, now=NOW)))
        assert verifier.kids == {other.signing_keys[0].kid}
        with pytest.raises(TokenError) as refused:
            verifier.verify(world.token(), typ=TYP, audience=AUDIENCE, issuer=ISSUER, now=NOW)
        assert refused.value.reason == "bad_signature"

    def test_keys_of_other_kinds_in_the_set_are_skipped(self, world: World) -> None:
        jwks: dict[str, Any] = dict(public_key_set(world.ring, now=NOW))
        rsa_key = {"kty": "RSA", "kid": world.kid, "n": "AQAB", "e": "AQAB"}
        verifier = JwksVerifier.from_jwks({"keys": [rsa_key, *jwks["keys"]]})
        assert verifier.verify(world.token(), typ=TYP, audience=AUDIENCE, issuer=ISSUER, now=NOW)["typ"] == TYP

    @pytest.mark.parametrize(
        "jwks",
        [
            {},
            {"keys": "x"},
            {"keys": [1]},
            {"keys": [{"kty": "OKP", "crv": "Ed25519", "kid": "k", "x": "AAAA"}]},
            {"keys": [{"kty": "OKP", "crv": "Ed25519", "kid": "k"}]},
            {"keys": [{"kty": "OKP", "crv": "Ed25519", "x": _b64(bytes(32)), "kid": 3}]},
            {"keys": [{"kty": "OKP", "crv": "Ed25519", "x": _b64(bytes(32)), "kid": "k", "alg": "HS256"}]},
        ],
    )
    def test_an_unusable_set_is_refused_when_loaded(self, jwks: dict[str, Any]) -> None:
        with pytest.raises(JwksError):
            JwksVerifier.from_jwks(jwks)


class TestAnyString:
    @settings(max_examples=300, deadline=None)
    @given(
        garbage=st.one_of(
            st.text(max_size=400),
            st.from_regex(r"[A-Za-z0-9_\-=+/ ]{0,80}\.[A-Za-z0-9_\-=]{0,80}\.[A-Za-z0-9_\-=]{0,90}", fullmatch=True),
        )
    )
    def test_garbage_is_malformed_or_bad_signature_never_an_error(self, garbage: str) -> None:
        ring = Keyring.generate(now=NOW, development=True)
        signer = TokenSigner(lambda: ring, issuer=ISSUER, clock=FrozenClock(NOW))
        with pytest.raises(TokenError) as refused:
            signer.verify(garbage, typ=TYP, audience=AUDIENCE)
        assert refused.value.reason in {"malformed", "bad_signature"}
