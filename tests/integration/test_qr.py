"""QR identity and officer verification (API.md: "QR identity and verification"), and the first entries
of the citizen's access log. Every test runs on SQLite and PostgreSQL with a frozen clock."""

from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
import pytest
import segno
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlmodel import col, select

from api.deps import container_of
from audit.models import AccessLogEntry, Presence
from audit.service import PRESENCE_TTL
from crypto.keyring import load_keyring
from identity.accounts import AccountService
from identity.errors import UnknownAgency
from identity.models import Citizen
from identity.qr import MAX_QR_VERSION, QR_AUDIENCE, QR_TTL, QR_TYP
from storage.db import read_only, transaction
from tests.factories import e164, last_code, make_phone
from tests.integration.conftest import START, Wallet
from tests.qr_raster import decode_svg

_agency_codes = itertools.count(1)
CA_DN = ("CA-DN", "Công an thành phố Đà Nẵng")


# -- helpers ------------------------------------------------------------------------------------
def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _officer(wallet: Wallet, agency: tuple[str, str] | None = None) -> str:
    """A new officer of a new agency (or the one named), logged in by phone + PIN + OTP."""
    code, name = agency or (f"UBND-{next(_agency_codes)}", "UBND phường Hải Châu")
    container = container_of(wallet.app.state)
    phone, pin = make_phone(), "135790"
    with transaction(container.engine) as session:
        accounts = AccountService(session, container.identity)
        try:
            accounts.agency_name(code)
        except UnknownAgency:
            accounts.create_agency(code, name, ["consent:request"])
        accounts.create_officer(phone=phone, name="Trần Thị Bích", agency_code=code, pin=pin)
    challenge = wallet.post("/auth/login", {"phone": phone, "pin": pin})
    assert challenge.status_code == 202, challenge.text
    code_sent = last_code(wallet.outbox, to=e164(phone))
    tokens = wallet.post("/auth/otp/verify", {"challenge_id": challenge.json()["challenge_id"], "code": code_sent})
    assert tokens.status_code == 200, tokens.text
    return str(tokens.json()["access_token"])


def _agency_token(wallet: Wallet) -> str:
    container = container_of(wallet.app.state)
    with transaction(container.engine) as session:
        creds = AccountService(session, container.identity).create_agency("SOTP-DN", "Sở Tư pháp", ["consent:request"])
    form = {"grant_type": "client_credentials", "client_id": creds.client_id, "client_secret": creds.client_secret}
    answer = wallet.client.post("/api/v1/oauth/token", data=form)
    assert answer.status_code == 200, answer.text
    return str(answer.json()["access_token"])


def _citizen(wallet: Wallet, **overrides: Any) -> tuple[dict[str, Any], str]:
    data, tokens = wallet.register(**overrides)
    return data, str(tokens["access_token"])


def _qr(wallet: Wallet, token: str) -> dict[str, Any]:
    answer = wallet.get("/me/qr", token)
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def _verify(wallet: Wallet, officer: str, qr_token: Any) -> dict[str, Any]:
    answer = wallet.post("/verify/qr", {"token": qr_token}, officer)
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def _access_log(wallet: Wallet, token: str, **params: Any) -> dict[str, Any]:
    answer = wallet.get("/me/access-log", token, params=params)
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _parts(token: str) -> tuple[dict[str, Any], dict[str, Any], str]:
    header, payload, signature = token.split(".")
    return json.loads(_unb64(header)), json.loads(_unb64(payload)), signature


def _qr_id(wallet: Wallet, citizen_id: str) -> str:
    with transaction(read_only(container_of(wallet.app.state).engine)) as session:
        citizen = session.get(Citizen, citizen_id)
        assert citizen is not None
        return citizen.qr_id


def _citizen_id(wallet: Wallet, token: str) -> str:
    return str(wallet.get("/me", token).json()["id"])


def _erase(wallet: Wallet, token: str) -> None:
    challenge = wallet.post("/auth/otp/send", token=token)
    assert challenge.status_code == 202, challenge.text
    body = {"code": last_code(wallet.outbox), "challenge_id": challenge.json()["challenge_id"]}
    answer = wallet.client.request("DELETE", "/api/v1/me", json=body, headers=_auth(token))
    assert answer.status_code == 204, answer.text


def _signed_by_us(wallet: Wallet, *, typ: str, audience: str, subject: str, ttl: timedelta = QR_TTL) -> str:
    """A token signed with the service's own key, for purposes the API never issues."""
    tokens = container_of(wallet.app.state).identity.tokens
    return tokens.issue(typ=typ, audience=audience, subject=subject, ttl=ttl).token


# -- GET /me/qr ---------------------------------------------------------------------------------
class TestMyQr:
    def test_answers_a_token_its_expiry_and_an_svg(self, wallet: Wallet) -> None:
        _, token = _citizen(wallet)
        qr = _qr(wallet, token)
        assert set(qr) == {"token", "expires_at", "svg"}
        assert datetime.fromisoformat(qr["expires_at"]) == START + timedelta(minutes=5)
        assert qr["svg"].startswith("<svg") and 'xmlns="http://www.w3.org/2000/svg"' in qr["svg"]

    def test_the_token_is_a_compact_eddsa_jws_with_the_required_claims(self, wallet: Wallet) -> None:
        _, token = _citizen(wallet)
        qr = _qr(wallet, token)
        header, claims, signature = _parts(qr["token"])
        assert header["alg"] == "EdDSA" and header["kid"]
        assert len(_unb64(signature)) == 64  # a raw Ed25519 signature
        assert {"sub", "iat", "exp", "jti"} <= set(claims)
        assert claims["typ"] == QR_TYP and claims["aud"] == QR_AUDIENCE
        assert claims["sub"] == _qr_id(wallet, _citizen_id(wallet, token))
        assert claims["iat"] == int(START.timestamp())
        assert 0 < claims["exp"] - claims["iat"] <= 300
        assert datetime.fromtimestamp(claims["exp"], UTC) == datetime.fromisoformat(qr["expires_at"])

    def test_the_token_is_short_and_carries_nothing_personal(self, wallet: Wallet) -> None:
        data, token = _citizen(wallet, full_name="Lê Thị Hoa")
        qr_token = _qr(wallet, token)["token"]
        assert len(qr_token) < 420
        header, claims, _ = _parts(qr_token)
        text = json.dumps([header, claims], ensure_ascii=False)
        for personal in (data["national_id"], data["full_name"], data["date_of_birth"], data["phone"]):
            assert personal not in text
        assert data["national_id"][-6:] not in text

    def test_each_call_gives_a_fresh_token(self, wallet: Wallet) -> None:
        _, token = _citizen(wallet)
        first = _qr(wallet, token)["token"]
        wallet.clock.advance(timedelta(seconds=90))
        second = _qr(wallet, token)
        assert second["token"] != first
        assert _parts(second["token"])[1]["jti"] != _parts(first)[1]["jti"]
        assert datetime.fromisoformat(second["expires_at"]) == START + timedelta(seconds=90 + 300)

    def test_needs_a_citizen(self, wallet: Wallet) -> None:
        assert wallet.get("/me/qr").status_code == 401
        for other in (_officer(wallet), _agency_token(wallet)):
            answer = wallet.get("/me/qr", other)
            assert answer.status_code == 403
            assert answer.json()["code"] == "forbidden"


# -- sub: stable and pseudonymous -----------------------------------------------------------------
class TestPseudonymousSubject:
    def test_the_same_citizen_keeps_one_sub(self, wallet: Wallet) -> None:
        _, token = _citizen(wallet)
        subs = set()
        for _ in range(3):
            subs.add(_parts(_qr(wallet, token)["token"])[1]["sub"])
            wallet.clock.advance(timedelta(minutes=2))
        assert len(subs) == 1

    def test_the_same_citizen_keeps_it_across_logins(self, wallet: Wallet) -> None:
        data, token = _citizen(wallet)
        before = _parts(_qr(wallet, token)["token"])[1]["sub"]
        challenge = wallet.login(data["national_id"], data["pin"])
        code = last_code(wallet.outbox, to=e164(data["phone"]))
        again = wallet.post("/auth/otp/verify", {"challenge_id": challenge["challenge_id"], "code": code}).json()
        assert _parts(_qr(wallet, again["access_token"])["token"])[1]["sub"] == before

    def test_citizens_have_different_subs(self, wallet: Wallet) -> None:
        subs = {_parts(_qr(wallet, _citizen(wallet)[1])["token"])[1]["sub"] for _ in range(3)}
        assert len(subs) == 3

    def test_the_sub_is_not_derived_from_the_national_id(self, wallet: Wallet) -> None:
        """Erase the account and register the same national ID again: a function of the ID would give
        the same sub; a random QR id does not."""
        data, token = _citizen(wallet)
        first = _parts(_qr(wallet, token)["token"])[1]["sub"]
        _erase(wallet, token)
        again = {k: data[k] for k in ("national_id", "full_name", "date_of_birth")}
        _, token = _citizen(wallet, **again)
        second = _parts(_qr(wallet, token)["token"])[1]["sub"]
        assert first != second
        for sub in (first, second):
            assert data["national_id"] not in sub
            assert not any(data["national_id"][i : i + 4] in sub for i in range(9))
            assert len(_unb64(sub)) >= 16  # 128 random bits at least


# -- offline verification -----------------------------------------------------------------------
@pytest.fixture
def live_wallet(make_wallet: Callable[..., Wallet]) -> Wallet:
    """A wallet whose frozen clock shows the real time, so pyjwt (which reads the wall clock) agrees."""
    wallet = make_wallet()
    wallet.clock.set(datetime.now(UTC).replace(microsecond=0))
    return wallet


def _jwks(wallet: Wallet) -> dict[str, Any]:
    """The published key set; if the JWKS endpoint is not there, the same JWKs from the keyring file."""
    answer = wallet.client.get("/.well-known/jwks.json")
    if answer.status_code == 200:
        return dict(answer.json())
    ring = load_keyring(wallet.settings.resolved_keyring_file)
    keys = [
        {"kty": "OKP", "crv": "Ed25519", "kid": k.kid, "alg": "EdDSA", "x": _b64(k.public_key.public_bytes_raw())}
        for k in ring.verification_keys(wallet.clock.now())
    ]
    return {"keys": keys}


class TestOfflineVerification:
    def test_pyjwt_alone_verifies_with_the_jwks(self, live_wallet: Wallet) -> None:
        wallet = live_wallet
        _, token = _citizen(wallet)
        qr_token = _qr(wallet, token)["token"]
        jwks = jwt.PyJWKSet.from_dict(_jwks(wallet))
        jwk = jwks[jwt.get_unverified_header(qr_token)["kid"]]
        assert all("d" not in key for key in _jwks(wallet)["keys"])  # only public halves are published
        claims = jwt.decode(
            qr_token,
            jwk.key,
            algorithms=["EdDSA"],
            audience=QR_AUDIENCE,
            issuer=wallet.settings.resolved_public_url,
            options={"require": ["exp", "iat", "sub", "jti"]},
        )
        assert claims["sub"] == _qr_id(wallet, _citizen_id(wallet, token))

    def test_pyjwt_verifies_with_the_public_key_of_the_keyring_file(self, live_wallet: Wallet) -> None:
        wallet = live_wallet
        _, token = _citizen(wallet)
        qr_token = _qr(wallet, token)["token"]
        ring = load_keyring(wallet.settings.resolved_keyring_file)
        public = {k.kid: k.public_key for k in ring.verification_keys(wallet.clock.now())}
        key = public[jwt.get_unverified_header(qr_token)["kid"]]
        claims = jwt.decode(qr_token, key, algorithms=["EdDSA"], audience=QR_AUDIENCE)
        assert claims["typ"] == QR_TYP

    def test_pyjwt_refuses_a_tampered_token_and_a_foreign_key(self, live_wallet: Wallet) -> None:
        wallet = live_wallet
        _, token = _citizen(wallet)
        qr_token = _qr(wallet, token)["token"]
        header, _, signature = qr_token.split(".")
        forged_claims = _b64(json.dumps(_parts(qr_token)[1] | {"sub": "someone-else"}).encode())
        public = jwt.PyJWKSet.from_dict(_jwks(wallet))[jwt.get_unverified_header(qr_token)["kid"]].key
        with pytest.raises(jwt.InvalidSignatureError):
            jwt.decode(f"{header}.{forged_claims}.{signature}", public, algorithms=["EdDSA"], audience=QR_AUDIENCE)
        with pytest.raises(jwt.InvalidSignatureError):
            jwt.decode(qr_token, Ed25519PrivateKey.generate().public_key(), algorithms=["EdDSA"], audience=QR_AUDIENCE)

    def test_pyjwt_refuses_it_once_expired(self, live_wallet: Wallet) -> None:
        wallet = live_wallet
        wallet.clock.advance(-timedelta(minutes=6))  # issued 6 minutes ago by the wall clock
        _, token = _citizen(wallet)
        qr_token = _qr(wallet, token)["token"]
        public = jwt.PyJWKSet.from_dict(_jwks(wallet))[jwt.get_unverified_header(qr_token)["kid"]].key
        with pytest.raises(jwt.ExpiredSignatureError):
            jwt.decode(qr_token, public, algorithms=["EdDSA"], audience=QR_AUDIENCE)


# -- POST /verify/qr ----------------------------------------------------------------------------
class TestVerifyValid:
    def test_answers_the_minimal_citizen_and_a_presence(self, wallet: Wallet) -> None:
        data, token = _citizen(wallet, full_name="Phạm Minh Tuấn")
        qr = _qr(wallet, token)
        answer = _verify(wallet, _officer(wallet), qr["token"])
        assert set(answer) == {"valid", "citizen", "expires_at", "presence_id"}
        assert answer["valid"] is True
        assert answer["citizen"] == {
            "full_name": "Phạm Minh Tuấn",
            "date_of_birth": data["date_of_birth"],
            "national_id_masked": "********" + data["national_id"][-4:],
        }
        assert datetime.fromisoformat(answer["expires_at"]) == datetime.fromisoformat(qr["expires_at"])
        assert answer["presence_id"]

    def test_the_scan_opens_a_presence_for_thirty_minutes(self, wallet: Wallet) -> None:
        _, token = _citizen(wallet)
        citizen_id = _citizen_id(wallet, token)
        officer = _officer(wallet, CA_DN)
        officer_id = wallet.get("/me", officer).json()["id"]
        answer = _verify(wallet, officer, _qr(wallet, token)["token"])
        with transaction(read_only(container_of(wallet.app.state).engine)) as session:
            presence = session.get(Presence, answer["presence_id"])
            assert presence is not None
            assert (presence.citizen_id, presence.officer_id, presence.agency_code) == (
                citizen_id,
                officer_id,
                CA_DN[0],
            )
            assert presence.scanned_at == START
            assert presence.expires_at == START + PRESENCE_TTL == START + timedelta(minutes=30)

    def test_every_scan_is_its_own_presence(self, wallet: Wallet) -> None:
        _, token = _citizen(wallet)
        officer = _officer(wallet)
        qr_token = _qr(wallet, token)["token"]
        first, second = (_verify(wallet, officer, qr_token)["presence_id"] for _ in range(2))
        assert first != second


class TestExpiryBoundary:
    def test_valid_strictly_before_exp_and_expired_at_exp(self, wallet: Wallet) -> None:
        _, token = _citizen(wallet)
        officer = _officer(wallet)
        qr_token = _qr(wallet, token)["token"]
        exp = datetime.fromtimestamp(_parts(qr_token)[1]["exp"], UTC)
        assert exp == START + timedelta(minutes=5)
        wallet.clock.set(exp - timedelta(microseconds=1))
        assert _verify(wallet, officer, qr_token)["valid"] is True
        wallet.clock.set(exp)
        assert _verify(wallet, officer, qr_token) == {"valid": False, "reason": "expired"}
        wallet.clock.set(exp + timedelta(days=1))
        assert _verify(wallet, _officer(wallet), qr_token) == {"valid": False, "reason": "expired"}

    def test_an_expired_forgery_is_a_bad_signature_not_expired(self, wallet: Wallet) -> None:
        """Nothing of an unsigned claim is believed, not even its expiry."""
        _, token = _citizen(wallet)
        header, _, signature = _qr(wallet, token)["token"].split(".")
        claims = _parts(_qr(wallet, token)["token"])[1] | {"exp": int(START.timestamp()) - 60}
        forged = f"{header}.{_b64(json.dumps(claims).encode())}.{signature}"
        assert _verify(wallet, _officer(wallet), forged) == {"valid": False, "reason": "bad_signature"}


class TestForgery:
    def test_a_changed_signature_is_refused(self, wallet: Wallet) -> None:
        _, token = _citizen(wallet)
        header, claims, signature = _qr(wallet, token)["token"].split(".")
        raw = bytearray(_unb64(signature))
        raw[10] ^= 0x01
        answer = _verify(wallet, _officer(wallet), f"{header}.{claims}.{_b64(bytes(raw))}")
        assert answer == {"valid": False, "reason": "bad_signature"}

    def test_claims_moved_to_another_citizen_are_refused(self, wallet: Wallet) -> None:
        _, alice = _citizen(wallet)
        _, bob = _citizen(wallet)
        header, _, signature = _qr(wallet, alice)["token"].split(".")
        bob_claims = _parts(_qr(wallet, bob)["token"])[1]
        forged = f"{header}.{_b64(json.dumps(bob_claims).encode())}.{signature}"
        assert _verify(wallet, _officer(wallet), forged) == {"valid": False, "reason": "bad_signature"}

    @pytest.mark.parametrize("same_kid", [True, False], ids=["our-kid", "unknown-kid"])
    def test_a_token_signed_by_another_key_is_refused(self, wallet: Wallet, same_kid: bool) -> None:
        _, token = _citizen(wallet)
        header, claims, _ = _parts(_qr(wallet, token)["token"])
        kid = header["kid"] if same_kid else "sk-attacker"
        forged = jwt.encode(claims, Ed25519PrivateKey.generate(), algorithm="EdDSA", headers={"kid": kid})
        assert _verify(wallet, _officer(wallet), forged) == {"valid": False, "reason": "bad_signature"}

    def test_alg_none_is_refused(self, wallet: Wallet) -> None:
        _, token = _citizen(wallet)
        header, claims, _ = _parts(_qr(wallet, token)["token"])
        officer = _officer(wallet)
        for alg in ("none", "None", "NONE"):
            unsigned = f"{_b64(json.dumps(header | {'alg': alg}).encode())}.{_b64(json.dumps(claims).encode())}."
            assert _verify(wallet, officer, unsigned) == {"valid": False, "reason": "bad_signature"}
        assert _verify(wallet, officer, jwt.encode(claims, "", algorithm="none")) == {
            "valid": False,
            "reason": "bad_signature",
        }

    def test_hmac_with_the_public_key_as_secret_is_refused(self, wallet: Wallet) -> None:
        """The classic algorithm confusion: HS256 keyed with the published public key."""
        _, token = _citizen(wallet)
        header, claims, _ = _parts(_qr(wallet, token)["token"])
        ring = load_keyring(wallet.settings.resolved_keyring_file)
        public = {k.kid: k.public_key.public_bytes_raw() for k in ring.signing_keys}[header["kid"]]
        head = _b64(json.dumps({"alg": "HS256", "kid": header["kid"], "typ": "JWT"}).encode())
        body = _b64(json.dumps(claims).encode())
        mac = hmac.new(public, f"{head}.{body}".encode(), hashlib.sha256).digest()
        forged = f"{head}.{body}.{_b64(mac)}"
        assert _verify(wallet, _officer(wallet), forged) == {"valid": False, "reason": "bad_signature"}


class TestTokenPurposes:
    def test_an_access_token_is_not_a_qr_token(self, wallet: Wallet) -> None:
        _, token = _citizen(wallet)
        officer = _officer(wallet)
        for access in (token, officer, _agency_token(wallet)):
            assert _verify(wallet, officer, access) == {"valid": False, "reason": "malformed"}

    def test_a_qr_token_is_not_an_access_token(self, wallet: Wallet) -> None:
        _, token = _citizen(wallet)
        qr_token = _qr(wallet, token)["token"]
        for path in ("/me", "/me/qr", "/documents", "/me/access-log"):
            answer = wallet.get(path, qr_token)
            assert answer.status_code == 401, path
            assert answer.json()["code"] == "invalid_token"
        assert wallet.post("/verify/qr", {"token": qr_token}, qr_token).status_code == 401

    def test_type_and_audience_both_matter(self, wallet: Wallet) -> None:
        _, token = _citizen(wallet)
        sub = _qr_id(wallet, _citizen_id(wallet, token))
        officer = _officer(wallet)
        api_audience = container_of(wallet.app.state).identity.config.audience
        wrong_typ = _signed_by_us(wallet, typ="access", audience=QR_AUDIENCE, subject=sub)
        wrong_aud = _signed_by_us(wallet, typ=QR_TYP, audience=api_audience, subject=sub)
        assert _verify(wallet, officer, wrong_typ) == {"valid": False, "reason": "malformed"}
        assert _verify(wallet, officer, wrong_aud) == {"valid": False, "reason": "malformed"}
        assert wallet.get("/me", wrong_aud).status_code == 401
        # the control: the same construction with the right purpose is accepted
        right = _signed_by_us(wallet, typ=QR_TYP, audience=QR_AUDIENCE, subject=sub)
        assert _verify(wallet, officer, right)["valid"] is True


MALFORMED = [
    "",
    " ",
    "abc",
    "a.b",
    "a.b.c",
    "a.b.c.d",
    "...",
    "Bearer x.y.z",
    "eyJhbGciOiJFZERTQSJ9",
    "eyJhbGciOiJFZERTQSJ9.e30",
    "%%%.%%%.%%%",
    "Tiếng Việt có dấu",
    "\x00\x01\x02",
    "x" * 10_000,
    json.dumps({"sub": "abc"}),
]


JWS_LIKE = r"[A-Za-z0-9_\-]{0,80}\.[A-Za-z0-9_\-]{0,80}\.[A-Za-z0-9_\-]{0,90}"


@pytest.fixture
def officer(wallet: Wallet) -> str:
    return _officer(wallet)


class TestMalformedInput:
    @pytest.mark.parametrize("garbage", MALFORMED, ids=range(len(MALFORMED)))
    def test_any_string_gets_200_and_malformed(self, wallet: Wallet, garbage: str) -> None:
        officer = _officer(wallet)
        assert _verify(wallet, officer, garbage) == {"valid": False, "reason": "malformed"}

    @pytest.mark.parametrize(
        "body", [{}, {"token": None}, {"token": 123}, {"token": ["a"]}, {"token": {"a": 1}}, {"tokens": "a"}, []]
    )
    def test_a_missing_or_non_string_token_is_422(self, wallet: Wallet, body: Any) -> None:
        answer = wallet.post("/verify/qr", body, _officer(wallet))
        assert answer.status_code == 422, answer.text
        assert answer.json()["code"] == "validation_failed"

    def test_a_body_that_is_not_json_is_400(self, wallet: Wallet) -> None:
        headers = _auth(_officer(wallet)) | {"content-type": "application/json"}
        answer = wallet.client.post("/api/v1/verify/qr", content=b"{not json", headers=headers)
        assert answer.status_code == 400
        assert answer.json()["code"] == "malformed_request"

    @settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(garbage=st.one_of(st.text(max_size=600), st.from_regex(JWS_LIKE, fullmatch=True)))
    def test_random_strings_are_never_valid_nor_an_error(self, wallet: Wallet, officer: str, garbage: str) -> None:
        answer = _verify(wallet, officer, garbage)
        assert answer["valid"] is False
        assert answer["reason"] in {"malformed", "bad_signature"}

    def test_garbage_leaves_no_trace(self, wallet: Wallet) -> None:
        officer = _officer(wallet)
        for garbage in MALFORMED[:5]:
            _verify(wallet, officer, garbage)
        with transaction(read_only(container_of(wallet.app.state).engine)) as session:
            assert session.exec(select(Presence)).all() == []
            assert session.exec(select(AccessLogEntry)).all() == []


class TestRevokedCitizen:
    def test_an_erased_citizen_is_revoked(self, wallet: Wallet) -> None:
        _, token = _citizen(wallet)
        officer = _officer(wallet)
        qr_token = _qr(wallet, token)["token"]
        assert _verify(wallet, officer, qr_token)["valid"] is True
        _erase(wallet, token)
        assert _verify(wallet, officer, qr_token) == {"valid": False, "reason": "revoked"}

    def test_an_unknown_qr_id_is_revoked(self, wallet: Wallet) -> None:
        unknown = _signed_by_us(wallet, typ=QR_TYP, audience=QR_AUDIENCE, subject="no-such-citizen")
        assert _verify(wallet, _officer(wallet), unknown) == {"valid": False, "reason": "revoked"}

    def test_a_revoked_scan_opens_no_presence(self, wallet: Wallet) -> None:
        unknown = _signed_by_us(wallet, typ=QR_TYP, audience=QR_AUDIENCE, subject="no-such-citizen")
        _verify(wallet, _officer(wallet), unknown)
        with transaction(read_only(container_of(wallet.app.state).engine)) as session:
            assert session.exec(select(Presence)).all() == []


class TestWhoMayVerify:
    def test_a_citizen_gets_403(self, wallet: Wallet) -> None:
        _, token = _citizen(wallet)
        answer = wallet.post("/verify/qr", {"token": _qr(wallet, token)["token"]}, token)
        assert answer.status_code == 403
        assert answer.json()["code"] == "forbidden"

    def test_an_agency_gets_403(self, wallet: Wallet) -> None:
        _, token = _citizen(wallet)
        answer = wallet.post("/verify/qr", {"token": _qr(wallet, token)["token"]}, _agency_token(wallet))
        assert answer.status_code == 403
        assert answer.json()["code"] == "forbidden"

    def test_no_token_gets_401(self, wallet: Wallet) -> None:
        answer = wallet.post("/verify/qr", {"token": "a.b.c"})
        assert answer.status_code == 401

    def test_a_refused_caller_leaves_no_trace(self, wallet: Wallet) -> None:
        _, token = _citizen(wallet)
        wallet.post("/verify/qr", {"token": _qr(wallet, token)["token"]}, token)
        assert _access_log(wallet, token)["items"] == []


# -- the SVG ------------------------------------------------------------------------------------
class TestQrImage:
    def test_the_svg_decodes_back_to_the_token(self, wallet: Wallet) -> None:
        _, token = _citizen(wallet)
        qr = _qr(wallet, token)
        decoded = decode_svg(qr["svg"])
        assert [d.text for d in decoded] == [qr["token"]]
        assert decoded[0].ec_level == "M"

    def test_version_15_or_lower_at_level_m(self, wallet: Wallet) -> None:
        _, token = _citizen(wallet)
        qr_token = _qr(wallet, token)["token"]
        code = segno.make(qr_token, error="m", boost_error=False, micro=False)
        assert code.error == "M"
        assert int(code.version) <= MAX_QR_VERSION == 15

    def test_a_production_length_public_url_still_fits(self, make_wallet: Callable[..., Wallet]) -> None:
        wallet = make_wallet(public_url="https://congdanso.dichvucong.gov.vn")
        _, token = _citizen(wallet)
        qr = _qr(wallet, token)
        assert _parts(qr["token"])[1]["iss"] == "https://congdanso.dichvucong.gov.vn"
        assert int(segno.make(qr["token"], error="m", boost_error=False, micro=False).version) <= 15
        assert [d.text for d in decode_svg(qr["svg"])] == [qr["token"]]


# -- GET /me/access-log -------------------------------------------------------------------------
class TestAccessLog:
    def test_a_valid_scan_appears_with_the_officers_agency(self, wallet: Wallet) -> None:
        _, token = _citizen(wallet)
        officer = _officer(wallet, CA_DN)
        _verify(wallet, officer, _qr(wallet, token)["token"])
        log = _access_log(wallet, token)
        assert log == {
            "items": [
                {
                    "at": START.isoformat().replace("+00:00", "Z"),
                    "actor": {"type": "officer", "code": CA_DN[0], "name": CA_DN[1], "person": "Trần Thị Bích"},
                    "action": "qr_scan",
                }
            ],
            "next_cursor": None,
        }

    def test_refused_scans_are_not_logged(self, wallet: Wallet) -> None:
        _, token = _citizen(wallet)
        officer = _officer(wallet)
        qr_token = _qr(wallet, token)["token"]
        wallet.clock.advance(timedelta(minutes=6))
        assert _verify(wallet, officer, qr_token)["reason"] == "expired"
        assert _access_log(wallet, token)["items"] == []

    def test_only_the_citizens_own_entries(self, wallet: Wallet) -> None:
        _, alice = _citizen(wallet)
        _, bob = _citizen(wallet)
        officer = _officer(wallet, CA_DN)
        _verify(wallet, officer, _qr(wallet, alice)["token"])
        assert len(_access_log(wallet, alice)["items"]) == 1
        assert _access_log(wallet, bob) == {"items": [], "next_cursor": None}

    def test_newest_first_and_paginated(self, wallet: Wallet) -> None:
        _, token = _citizen(wallet)
        agencies = [(f"UBND-P{i}", f"UBND phường {i}") for i in range(5)]
        for agency in agencies:
            officer = _officer(wallet, agency)
            _verify(wallet, officer, _qr(wallet, token)["token"])
            wallet.clock.advance(timedelta(seconds=30))
        seen, cursor, pages = [], None, 0
        while True:
            page = _access_log(wallet, token, limit=2, **({"cursor": cursor} if cursor else {}))
            assert len(page["items"]) <= 2
            seen += page["items"]
            pages += 1
            cursor = page["next_cursor"]
            if cursor is None:
                break
        assert pages == 3
        assert [item["actor"]["code"] for item in seen] == [code for code, _ in reversed(agencies)]
        times = [datetime.fromisoformat(item["at"]) for item in seen]
        assert times == sorted(times, reverse=True)

    def test_entries_at_the_same_instant_are_paged_without_loss(self, wallet: Wallet) -> None:
        _, token = _citizen(wallet)
        officer = _officer(wallet, CA_DN)
        qr_token = _qr(wallet, token)["token"]
        presences = {_verify(wallet, officer, qr_token)["presence_id"] for _ in range(5)}
        assert len(presences) == 5
        first = _access_log(wallet, token, limit=3)
        second = _access_log(wallet, token, limit=3, cursor=first["next_cursor"])
        assert len(first["items"]) == 3 and len(second["items"]) == 2 and second["next_cursor"] is None

    @pytest.mark.parametrize("cursor", ["not-a-cursor", "%%%", _b64(b"2026-11-24T08:00:00|"), _b64(b"x|y")])
    def test_a_foreign_cursor_is_400(self, wallet: Wallet, cursor: str) -> None:
        _, token = _citizen(wallet)
        answer = wallet.get("/me/access-log", token, params={"cursor": cursor})
        assert answer.status_code == 400, answer.text
        assert answer.json()["code"] == "invalid_cursor"

    @pytest.mark.parametrize("limit", ["0", "201", "-1", "many"])
    def test_an_out_of_range_limit_is_refused(self, wallet: Wallet, limit: str) -> None:
        _, token = _citizen(wallet)
        answer = wallet.get("/me/access-log", token, params={"limit": limit})
        assert answer.status_code == 422, answer.text
        assert answer.json()["code"] == "validation_failed"

    def test_needs_a_citizen(self, wallet: Wallet) -> None:
        assert wallet.get("/me/access-log").status_code == 401
        assert wallet.get("/me/access-log", _officer(wallet)).status_code == 403
        assert wallet.get("/me/access-log", _agency_token(wallet)).status_code == 403

    def test_the_log_holds_no_document_content(self, wallet: Wallet) -> None:
        _, token = _citizen(wallet)
        _verify(wallet, _officer(wallet), _qr(wallet, token)["token"])
        with transaction(read_only(container_of(wallet.app.state).engine)) as session:
            rows = session.exec(select(AccessLogEntry).where(col(AccessLogEntry.action) == "qr_scan")).all()
        assert len(rows) == 1
        assert set(AccessLogEntry.model_fields) == {
            "id",
            "citizen_id",
            "at",
            "actor_type",
            "actor_code",
            "actor_name",
            "actor_person",  # the officer's name, nothing of the citizen
            "action",
            "document_id",
            "consent_id",
            "purpose",
            "seq",  # the hash chain (audit.chain): a number and two SHA-256 digests, nothing of the papers
            "prev_hash",
            "entry_hash",
        }


class TestSchema:
    def test_the_routes_are_documented_with_their_shapes(self, wallet: Wallet) -> None:
        schema = wallet.client.get("/schema/openapi.json").json()
        paths = schema["paths"]
        for path, method in (("/api/v1/me/qr", "get"), ("/api/v1/verify/qr", "post"), ("/api/v1/me/access-log", "get")):
            operation = paths[path][method]
            assert operation["security"] == [{"BearerToken": []}], path
            assert "200" in operation["responses"], path
        components = set(schema["components"]["schemas"])
        assert {"QrCode", "QrValid", "QrInvalid", "AccessLogPage", "AccessLogEntryPublic"} <= components
