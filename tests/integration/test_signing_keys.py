"""Signing keys: the public JWKS, and `congdanso keys rotate --signing` (publish first, sign after the grace
period, retire the old key only when nothing it signed can still be valid)."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import jwt
import pytest
from sqlalchemy import create_engine
from sqlmodel import Session

from api.deps import container_of
from crypto.keyring import load_keyring
from identity.accounts import AccountService
from identity.toolkit import IdentityConfig
from storage.db import transaction
from tests.factories import e164, last_code, make_phone
from tests.integration.conftest import Wallet
from tests.integration.wallet_helpers import cccd_fields
from wallet.models import Attestation

CONGDANSO = str(Path(sys.executable).with_name("congdanso"))
JWKS = "/.well-known/jwks.json"
AUDIENCE = IdentityConfig().audience


def _congdanso(wallet: Wallet, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        "WALLET_DATA_DIR": str(wallet.settings.data_dir),
        "WALLET_DATABASE_URL": wallet.settings.resolved_database_url,
        "WALLET_LOG_LEVEL": "warning",
        "PATH": "/usr/bin:/bin",
    }
    return subprocess.run([CONGDANSO, *args], env=env, capture_output=True, text=True, timeout=120, check=False)


def _cli(wallet: Wallet, *args: str) -> dict[str, Any]:
    done = _congdanso(wallet, *args)
    assert done.returncode == 0, done.stderr
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def _rotate(wallet: Wallet, grace_seconds: int) -> dict[str, Any]:
    report = _cli(wallet, "keys", "rotate", "--signing", "--grace-seconds", str(grace_seconds))
    wallet.app.state.container.keyring.reload_if_changed()  # what every worker does within 5 seconds
    return report


def _jwks(wallet: Wallet) -> dict[str, Any]:
    answer = wallet.client.get(JWKS)
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def _kids(wallet: Wallet) -> set[str]:
    return {key["kid"] for key in _jwks(wallet)["keys"]}


def _kid_of(token: str) -> str:
    return str(jwt.get_unverified_header(token)["kid"])


def _sign_in(wallet: Wallet, data: dict[str, Any]) -> str:
    challenge = wallet.login(data["national_id"], data["pin"])
    code = last_code(wallet.outbox, to=e164(data["phone"]))
    tokens = wallet.post("/auth/otp/verify", {"challenge_id": challenge["challenge_id"], "code": code})
    assert tokens.status_code == 200, tokens.text
    return str(tokens.json()["access_token"])


def _verify_offline(wallet: Wallet, token: str) -> dict[str, Any]:
    """What a scanner does with the published keys and pyjwt alone (pyjwt checks `exp` on the wall clock,
    hence the app's clock kept at the wall clock by the `live` fixture)."""
    key = jwt.PyJWKSet.from_dict(_jwks(wallet))[_kid_of(token)]
    claims: dict[str, Any] = jwt.decode(
        token, key.key, algorithms=["EdDSA"], audience=AUDIENCE, issuer=wallet.settings.resolved_public_url
    )
    return claims


@pytest.fixture
def live(wallet: Wallet) -> Wallet:
    """The app's frozen clock set to the wall clock: the CLI, a separate process, rotates at the wall clock's now."""
    wallet.clock.set(datetime.now(UTC).replace(microsecond=0))
    return wallet


class TestJwks:
    def test_publishes_the_signing_key_as_an_okp_jwk(self, wallet: Wallet) -> None:
        answer = wallet.client.get(JWKS)
        assert answer.status_code == 200
        assert answer.headers["content-type"].startswith("application/json")
        assert {d.strip() for d in answer.headers["cache-control"].split(",")} == {"public", "max-age=300"}
        (key,) = answer.json()["keys"]
        current = load_keyring(wallet.settings.resolved_keyring_file).current_signing_key(wallet.clock.now())
        assert key == {"kty": "OKP", "crv": "Ed25519", "x": key["x"], "kid": current.kid, "alg": "EdDSA", "use": "sig"}
        assert len(key["x"]) == 43  # 32 bytes, base64url without padding
        assert "d" not in key

    def test_needs_no_authentication_and_is_outside_the_api_prefix(self, wallet: Wallet) -> None:
        assert wallet.client.get(JWKS, headers={"Authorization": "Bearer nonsense"}).status_code == 200
        assert wallet.get(JWKS).status_code == 404

    def test_an_access_token_verifies_with_pyjwt_and_the_jwks_alone(self, live: Wallet) -> None:
        _, tokens = live.register()
        claims = _verify_offline(live, tokens["access_token"])
        assert claims["sub"] == tokens["citizen_id"]

    def test_a_token_signed_by_a_key_not_in_the_set_fails_offline(self, live: Wallet) -> None:
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

        _, tokens = live.register()
        claims = jwt.decode(tokens["access_token"], options={"verify_signature": False})
        kid = _kid_of(tokens["access_token"])
        forged = jwt.encode(claims, Ed25519PrivateKey.generate(), algorithm="EdDSA", headers={"kid": kid})
        with pytest.raises(jwt.InvalidSignatureError):
            _verify_offline(live, forged)


class TestSigningKeyRotation:
    def test_the_new_key_is_published_at_once_and_signs_only_after_the_grace(self, live: Wallet) -> None:
        data, tokens = live.register()
        before = tokens["access_token"]
        old_kid = _kid_of(before)

        report = _rotate(live, grace_seconds=600)
        new_kid = report["new_kid"]
        assert report["previous_kid"] == old_kid
        assert _kids(live) == {old_kid, new_kid}  # published before it signs anything

        assert _kid_of(_sign_in(live, data)) == old_kid  # grace period: the old key still signs
        live.clock.set(datetime.fromisoformat(report["active_from"]))
        after = _sign_in(live, data)
        assert _kid_of(after) == new_kid

        # The token signed before the rotation still verifies, on the server and offline.
        assert live.get("/me", before).status_code == 200
        assert _verify_offline(live, before)["sub"] == tokens["citizen_id"]
        assert live.get("/me", after).status_code == 200
        assert _kids(live) == {old_kid, new_kid}

    def test_a_retired_key_leaves_the_jwks_and_its_tokens_are_refused(self, live: Wallet) -> None:
        _, tokens = live.register()
        old_kid = _kid_of(tokens["access_token"])
        report = _rotate(live, grace_seconds=60)
        retired_at = datetime.fromisoformat(report["previous_retired_at"])
        assert retired_at == datetime.fromisoformat(report["active_from"]) + timedelta(minutes=16)

        # An access token lives 15 minutes, so any real one is dead anyway by the retirement time. To show
        # that retirement alone refuses a token, re-sign the citizen's real claims with the old private key
        # (from the keyring file) and an `exp` far beyond the retirement: the same token is accepted a second
        # before the retirement and refused from it on, the only change being the key's retirement.
        old_key = next(k for k in load_keyring(live.settings.resolved_keyring_file).signing_keys if k.kid == old_kid)
        claims = jwt.decode(tokens["access_token"], options={"verify_signature": False})
        claims["exp"] = int((retired_at + timedelta(days=1)).timestamp())
        long_lived = jwt.encode(claims, old_key.private_key, algorithm="EdDSA", headers={"kid": old_kid, "typ": "JWT"})

        live.clock.set(retired_at - timedelta(seconds=1))
        assert live.get("/me", long_lived).status_code == 200
        assert old_kid in _kids(live)

        live.clock.set(retired_at)
        refused = live.get("/me", long_lived)
        assert refused.status_code == 401
        assert refused.json()["code"] == "invalid_token"
        assert _kids(live) == {report["new_kid"]}

    def test_the_signing_keys_are_listed_with_their_status(self, live: Wallet) -> None:
        assert [k["status"] for k in _cli(live, "keys", "signing")["keys"]] == ["current"]
        report = _rotate(live, grace_seconds=3600)
        listed = _cli(live, "keys", "signing")["keys"]
        assert [(k["kid"], k["status"]) for k in listed] == [
            (report["previous_kid"], "current"),
            (report["new_kid"], "pending"),
        ]
        assert listed[0]["retired_at"] == report["previous_retired_at"]
        assert listed[1]["active_from"] == report["active_from"]
        assert "private_key" not in json.dumps(listed)

    def test_the_default_grace_is_an_hour(self, live: Wallet) -> None:
        report = _cli(live, "keys", "rotate", "--signing")
        keys = {k["kid"]: k for k in report["keys"]}
        created = datetime.fromisoformat(keys[report["new_kid"]]["created_at"])
        assert datetime.fromisoformat(report["active_from"]) - created == timedelta(hours=1)

    def test_a_second_rotation_during_the_grace_is_refused(self, live: Wallet) -> None:
        first = _rotate(live, grace_seconds=3600)
        second = _congdanso(live, "keys", "rotate", "--signing")
        assert second.returncode == 2
        assert first["new_kid"] in second.stderr
        assert len(load_keyring(live.settings.resolved_keyring_file).signing_keys) == 2


def _attested(wallet: Wallet, kid: str, valid_until: date | None) -> None:
    """An attestation row as the issuer records it (only `kid` and `valid_until` matter to a rotation)."""
    engine = create_engine(wallet.settings.resolved_database_url)
    n = uuid.uuid4().hex
    with Session(engine) as session:
        session.add(
            Attestation(
                id=f"att-{kid}-{n}",
                document_id=f"doc-{n}",
                version=1,
                citizen_id="c-1",
                type="diploma",
                issuer_code="BGD",
                kid=kid,
                document_name="Bằng cử nhân",
                requester_hash="h",
                issued_at=wallet.clock.now(),
                valid_until=valid_until,
                token="t",
            )
        )
        session.commit()
    engine.dispose()


class TestRetirementWaitsForAttestations:
    def test_the_old_key_stays_until_the_last_day_of_its_attestations(self, live: Wallet) -> None:
        old_kid = load_keyring(live.settings.resolved_keyring_file).current_signing_key(live.clock.now()).kid
        _attested(live, old_kid, date(2031, 6, 30))
        _attested(live, old_kid, date(2029, 1, 1))
        _attested(live, "sk-another", None)  # another key's paper changes nothing here
        report = _rotate(live, grace_seconds=60)
        assert report["previous_retired_at"] == "2031-07-01T00:00:00+00:00"  # the whole of 30 June, UTC
        live.clock.set(datetime(2031, 6, 30, 23, 59, tzinfo=UTC))
        assert old_kid in _kids(live)
        live.clock.set(datetime(2031, 7, 1, tzinfo=UTC))
        assert old_kid not in _kids(live)

    def test_an_attestation_without_expiry_keeps_the_old_key(self, live: Wallet) -> None:
        old_kid = load_keyring(live.settings.resolved_keyring_file).current_signing_key(live.clock.now()).kid
        _attested(live, old_kid, None)
        report = _rotate(live, grace_seconds=60)
        assert report["previous_retired_at"] is None
        assert {k["kid"]: k["status"] for k in _cli(live, "keys", "signing")["keys"]}[old_kid] == "current"
        live.clock.set(datetime.fromisoformat(report["active_from"]) + timedelta(days=3650))
        assert _kids(live) == {old_kid, report["new_kid"]}

    def test_an_attestation_signed_during_the_grace_pushes_the_retirement_back(self, live: Wallet) -> None:
        old_kid = load_keyring(live.settings.resolved_keyring_file).current_signing_key(live.clock.now()).kid
        report = _rotate(live, grace_seconds=60)
        _attested(live, old_kid, date(2030, 1, 31))  # the old key still signs until the new one is current
        listed = _cli(live, "keys", "signing", "--reschedule")["keys"]
        assert {k["kid"]: k["retired_at"] for k in listed}[old_kid] == "2030-02-01T00:00:00+00:00"
        assert report["previous_retired_at"] < "2030"


def _agency_and_officer(wallet: Wallet) -> tuple[str, str]:
    """An issuing agency's access token, and the token of one of its officers (phone + PIN + OTP)."""
    container = container_of(wallet.app.state)
    phone, pin = make_phone(), "135790"
    with transaction(container.engine) as session:
        accounts = AccountService(session, container.identity)
        creds = accounts.create_agency("ROT-DN", "Sở Tư pháp Đà Nẵng", ["documents:issue"])
        accounts.create_officer(phone=phone, name="Trần Thị Bích", agency_code="ROT-DN", pin=pin)
    form = {"grant_type": "client_credentials", "client_id": creds.client_id, "client_secret": creds.client_secret}
    agency = wallet.client.post("/api/v1/oauth/token", data=form)
    assert agency.status_code == 200, agency.text
    challenge = wallet.post("/auth/login", {"phone": phone, "pin": pin})
    assert challenge.status_code == 202, challenge.text
    code = last_code(wallet.outbox, to=e164(phone))
    officer = wallet.post("/auth/otp/verify", {"challenge_id": challenge.json()["challenge_id"], "code": code})
    assert officer.status_code == 200, officer.text
    return str(agency.json()["access_token"]), str(officer.json()["access_token"])


class TestRotationEndToEnd:
    def test_a_qr_token_and_an_attestation_signed_before_rotation_still_verify(self, live: Wallet) -> None:
        data, tokens = live.register()
        agency, officer = _agency_and_officer(live)
        paper = {"national_id": data["national_id"], "type": "cccd", "fields": cccd_fields(data)}
        issued = live.post("/issuer/documents", paper, agency)
        assert issued.status_code == 201, issued.text
        attestation = issued.json()["verification"]["token"]
        qr = live.get("/me/qr", tokens["access_token"]).json()["token"]
        old_kid = _kid_of(attestation)
        assert _kid_of(qr) == old_kid

        report = _rotate(live, grace_seconds=60)
        assert report["previous_retired_at"] == "2035-03-03T00:00:00+00:00"  # the CCCD is valid until 2035-03-02

        live.clock.set(datetime.fromisoformat(report["active_from"]) + timedelta(seconds=1))
        assert _kid_of(live.get("/me/qr", tokens["access_token"]).json()["token"]) == report["new_kid"]
        assert live.post("/verify/qr", {"token": qr}, officer).json()["valid"] is True

        def verdict() -> dict[str, Any]:
            answer = live.client.get("/api/v1/verify/documents", params={"token": attestation})
            assert answer.status_code == 200, answer.text
            return dict(answer.json())

        assert verdict()["valid"] is True
        # Years later, long after every short token of the old key died, its attestation still verifies,
        # on the server and offline with the published keys.
        live.clock.set(datetime(2034, 1, 1, tzinfo=UTC))
        assert (verdict()["valid"], verdict()["status"]) == (True, "active")
        key = jwt.PyJWKSet.from_dict(_jwks(live))[old_kid]
        assert jwt.decode(attestation, key.key, algorithms=["EdDSA"], options={"verify_aud": False})["vu"] == (
            "2035-03-02"
        )
        live.clock.set(datetime(2035, 3, 3, tzinfo=UTC))
        assert old_kid not in _kids(live)
        assert verdict()["valid"] is False
