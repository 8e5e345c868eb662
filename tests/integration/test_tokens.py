"""Access tokens, refresh rotation, family revocation, logout, idle and absolute session limits."""

from __future__ import annotations

import base64
import json
from datetime import timedelta
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from tests.factories import e164, last_code
from tests.integration.conftest import Wallet


def _b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


def _claims(token: str) -> dict[str, Any]:
    return dict(jwt.decode(token, options={"verify_signature": False}))


def _refresh(wallet: Wallet, token: str) -> Any:
    return wallet.post("/auth/refresh", {"refresh_token": token})


class TestAccessToken:
    def test_claims_and_header(self, wallet: Wallet) -> None:
        _, tokens = wallet.register()
        header = jwt.get_unverified_header(tokens["access_token"])
        claims = _claims(tokens["access_token"])
        assert header["alg"] == "EdDSA" and header["kid"]
        assert claims["typ"] == "access" and claims["sub"] == tokens["citizen_id"]
        assert claims["aud"] == "congdanso-api" and claims["iss"]
        assert claims["exp"] - claims["iat"] == 900 and claims["jti"]

    def test_expires_after_fifteen_minutes(self, wallet: Wallet) -> None:
        _, tokens = wallet.register()
        wallet.clock.advance(timedelta(minutes=15))
        answer = wallet.get("/me", tokens["access_token"])
        assert answer.status_code == 401 and answer.json()["code"] == "invalid_token"

    def test_alg_none_is_refused(self, wallet: Wallet) -> None:
        _, tokens = wallet.register()
        claims = _claims(tokens["access_token"])
        forged = f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(claims)}."
        assert wallet.get("/me", forged).status_code == 401

    def test_hs256_with_the_public_key_is_refused(self, wallet: Wallet) -> None:
        _, tokens = wallet.register()
        claims = _claims(tokens["access_token"])
        forged = jwt.encode(claims, "any-shared-secret-of-32-bytes-long!", algorithm="HS256")
        assert wallet.get("/me", forged).status_code == 401

    def test_tampered_payload_is_refused(self, wallet: Wallet) -> None:
        _, tokens = wallet.register()
        _, other = wallet.register()
        header, _payload, signature = tokens["access_token"].split(".")
        claims = _claims(tokens["access_token"]) | {"sub": other["citizen_id"]}
        assert wallet.get("/me", f"{header}.{_b64(claims)}.{signature}").status_code == 401

    def test_token_signed_by_another_key_is_refused(self, wallet: Wallet) -> None:
        _, tokens = wallet.register()
        header = jwt.get_unverified_header(tokens["access_token"])
        forged = jwt.encode(
            _claims(tokens["access_token"]), Ed25519PrivateKey.generate(), algorithm="EdDSA", headers=header
        )
        assert wallet.get("/me", forged).status_code == 401

    @pytest.mark.parametrize("value", ["", "Bearer", "Bearer not.a.jwt", "Basic abc", "Bearer a.b"])
    def test_malformed_authorization_is_401(self, wallet: Wallet, value: str) -> None:
        answer = wallet.client.get("/api/v1/me", headers={"Authorization": value})
        assert answer.status_code == 401
        assert answer.json()["code"] == "invalid_token"


class TestRefresh:
    def test_rotation_gives_a_new_pair_and_kills_the_old_token(self, wallet: Wallet) -> None:
        _, tokens = wallet.register()
        rotated = _refresh(wallet, tokens["refresh_token"])
        assert rotated.status_code == 200
        new = rotated.json()
        assert new["refresh_token"] != tokens["refresh_token"]
        assert len(base64.urlsafe_b64decode(new["refresh_token"] + "==")) == 32
        assert wallet.get("/me", new["access_token"]).status_code == 200

    def test_reuse_of_a_spent_token_revokes_the_whole_family(self, wallet: Wallet) -> None:
        _, tokens = wallet.register()
        second = _refresh(wallet, tokens["refresh_token"]).json()
        reuse = _refresh(wallet, tokens["refresh_token"])
        assert reuse.status_code == 401 and reuse.json()["code"] == "refresh_token_reused"
        assert _refresh(wallet, second["refresh_token"]).status_code == 401
        assert wallet.get("/me", second["access_token"]).status_code == 401

    def test_other_sessions_survive_a_family_revocation(self, wallet: Wallet) -> None:
        data, first = wallet.register()
        from tests.factories import last_code

        challenge = wallet.login(data["national_id"], data["pin"])
        code = last_code(wallet.outbox)
        second = wallet.post("/auth/otp/verify", {"challenge_id": challenge["challenge_id"], "code": code}).json()
        _refresh(wallet, first["refresh_token"])
        _refresh(wallet, first["refresh_token"])
        assert wallet.get("/me", second["access_token"]).status_code == 200

    def test_unknown_refresh_token_is_401(self, wallet: Wallet) -> None:
        answer = _refresh(wallet, "x" * 43)
        assert answer.status_code == 401 and answer.json()["code"] == "invalid_token"


class TestSessionLimits:
    def test_idle_for_thirty_minutes_ends_the_session(self, wallet: Wallet) -> None:
        _, tokens = wallet.register()
        wallet.clock.advance(timedelta(minutes=30))
        answer = _refresh(wallet, tokens["refresh_token"])
        assert answer.status_code == 401 and answer.json()["code"] == "session_expired"

    def test_activity_keeps_the_session_alive(self, wallet: Wallet) -> None:
        _, tokens = wallet.register()
        for _ in range(3):
            wallet.clock.advance(timedelta(minutes=14))
            tokens = _refresh(wallet, tokens["refresh_token"]).json()
        assert wallet.get("/me", tokens["access_token"]).status_code == 200

    def test_twelve_hours_end_the_session_whatever_the_activity(self, wallet: Wallet) -> None:
        _, tokens = wallet.register()
        for _ in range(12 * 4 - 1):
            wallet.clock.advance(timedelta(minutes=15))
            answer = _refresh(wallet, tokens["refresh_token"])
            assert answer.status_code == 200, answer.text
            tokens = answer.json()
        wallet.clock.advance(timedelta(minutes=15))
        assert _refresh(wallet, tokens["refresh_token"]).json()["code"] == "session_expired"


class TestStaffSessions:
    """Officers work at shared counters: their sessions end after 15 minutes left alone, citizens' after 30."""

    def _officer_tokens(self, wallet: Wallet) -> dict[str, Any]:
        from tests.integration.assurance_helpers import new_counter_officer

        officer = new_counter_officer(wallet)
        with_refresh = wallet.post("/auth/login", {"phone": officer.phone, "pin": officer.pin})
        code = last_code(wallet.outbox, to=e164(officer.phone))
        verified = wallet.post("/auth/otp/verify", {"challenge_id": with_refresh.json()["challenge_id"], "code": code})
        assert verified.status_code == 200, verified.text
        return dict(verified.json())

    def test_an_officer_left_alone_15_minutes_is_signed_out(self, wallet: Wallet) -> None:
        tokens = self._officer_tokens(wallet)
        wallet.clock.advance(timedelta(minutes=15))
        assert _refresh(wallet, tokens["refresh_token"]).json()["code"] == "session_expired"

    def test_an_officer_is_still_in_just_before(self, wallet: Wallet) -> None:
        tokens = self._officer_tokens(wallet)
        wallet.clock.advance(timedelta(minutes=15) - timedelta(microseconds=1))
        assert _refresh(wallet, tokens["refresh_token"]).status_code == 200

    def test_a_citizen_is_still_in_after_15_minutes(self, wallet: Wallet) -> None:
        _, tokens = wallet.register()
        wallet.clock.advance(timedelta(minutes=29))
        assert _refresh(wallet, tokens["refresh_token"]).status_code == 200


class TestLogout:
    def test_logout_kills_access_and_refresh_tokens(self, wallet: Wallet) -> None:
        _, tokens = wallet.register()
        answer = wallet.post("/auth/logout", token=tokens["access_token"])
        assert answer.status_code == 204
        assert wallet.get("/me", tokens["access_token"]).status_code == 401
        assert _refresh(wallet, tokens["refresh_token"]).json()["code"] == "session_expired"

    def test_logout_needs_a_token(self, wallet: Wallet) -> None:
        assert wallet.post("/auth/logout").status_code == 401
