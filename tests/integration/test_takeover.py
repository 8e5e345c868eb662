"""An access token alone (a stolen one) cannot take an account over: it cannot install an authenticator, nor use one
as the fresh factor that erases the account or approves consents. Changing the authenticator takes a fresh factor of
the method in force, and the person is told of every change (API.md: "Identity assurance")."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pyotp
import pytest

from tests.factories import e164, last_code, outbox_lines
from tests.integration.auth_helpers import (
    FIRST_DELAY,
    assert_problem,
    enroll,
    enroll_totp,
    erase,
    make_officer,
    messages_to,
    officer_login,
    remove_totp,
    retry_after,
    step_up,
    verify,
    wrong,
    wrong_totp,
)
from tests.integration.conftest import Wallet

EMAIL = "an@example.vn"
ADDED = "ứng dụng xác thực đã được gắn"
REPLACED = "thay thế ứng dụng cũ"
REMOVED = "Ứng dụng xác thực đã được gỡ"


def _notices(wallet: Wallet, phone: str, words: str, *, email: str | None = None) -> list[dict[str, Any]]:
    found = [m for m in messages_to(wallet, phone) if words in m["body"]]
    if email is not None:
        found += [m for m in messages_to(wallet, email, channel="email") if words in m["body"]]
    return found


def _login_channel(wallet: Wallet, data: dict[str, Any]) -> str:
    return str(wallet.login(data["national_id"], data["pin"])["channel"])


class TestAStolenAccessToken:
    def test_cannot_enrol_an_authenticator_without_a_fresh_factor(self, wallet: Wallet) -> None:
        _, tokens = wallet.register()
        for body in (None, {}, {"code": None}, {"code": ""}, {"challenge_id": "x"}):
            assert_problem(enroll(wallet, tokens["access_token"], body), 403, "fresh_factor_required")
        assert wallet.get("/me", tokens["access_token"]).json()["totp_enabled"] is False

    def test_is_refused_at_every_step_of_the_takeover_path(self, wallet: Wallet) -> None:
        victim, tokens = wallet.register(email=EMAIL)
        stolen = tokens["access_token"]
        # 1. Install the thief's own authenticator: no factor, then guesses at the SMS code the victim was sent.
        assert_problem(enroll(wallet, stolen, None), 403, "fresh_factor_required")
        challenge_id = wallet.post("/auth/otp/send", token=stolen).json()["challenge_id"]
        sent = last_code(wallet.outbox, to=e164(victim["phone"]))  # only the victim's phone has it
        for _ in range(4):
            assert_problem(
                enroll(wallet, stolen, {"code": wrong(sent), "challenge_id": challenge_id}), 401, "otp_invalid"
            )
        # 2. Confirm an authenticator: none was enrolled.
        assert_problem(wallet.post("/auth/totp/confirm", {"code": "123456"}, stolen), 409, "totp_not_enrolled")
        # 3. Erase the account with a guessed code: the guesses of step 1 count too, then every code waits.
        assert_problem(erase(wallet, stolen, {"code": wrong(sent)}), 401, "otp_attempts_exceeded")
        assert retry_after(erase(wallet, stolen, {"code": sent, "challenge_id": challenge_id})) == 60
        assert retry_after(enroll(wallet, stolen, {"code": sent, "challenge_id": challenge_id})) == 60
        # Nothing changed, nobody was told of an authenticator, and the owner signs in by SMS after the delay.
        assert wallet.get("/me", stolen).json()["totp_enabled"] is False
        assert _notices(wallet, victim["phone"], ADDED, email=EMAIL) == []
        wallet.clock.advance(FIRST_DELAY)
        challenge = wallet.login(victim["national_id"], victim["pin"])
        assert challenge["channel"] == "sms"
        code = last_code(wallet.outbox, to=e164(victim["phone"]))
        assert verify(wallet, challenge["challenge_id"], code).status_code == 200

    def test_cannot_use_an_sms_code_once_an_authenticator_is_in_force(self, wallet: Wallet) -> None:
        data, tokens = wallet.register()
        token = tokens["access_token"]
        old_challenge, old_code = step_up(wallet, token, data["phone"])  # an SMS code left unused
        totp = enroll_totp(wallet, token, data["phone"])
        wallet.clock.advance(timedelta(seconds=30))
        for attempt in (
            enroll(wallet, token, {"code": old_code, "challenge_id": old_challenge}),
            erase(wallet, token, {"code": old_code, "challenge_id": old_challenge}),
        ):
            assert_problem(attempt, 401, "otp_invalid")
        assert wallet.post("/auth/otp/send", token=token).json()["channel"] == "totp"  # no SMS to intercept
        assert enroll(wallet, token, {"code": totp.at(wallet.clock.now())}).status_code == 200


class TestReplacingAnAuthenticator:
    def test_needs_the_current_authenticators_code_and_tells_the_person(self, wallet: Wallet) -> None:
        data, tokens = wallet.register(email=EMAIL)
        token = tokens["access_token"]
        old = enroll_totp(wallet, token, data["phone"])
        wallet.clock.advance(timedelta(seconds=30))
        assert_problem(enroll(wallet, token, {"code": wrong_totp(old, wallet.clock.now())}), 401, "otp_invalid")
        enrolled = enroll(wallet, token, {"code": old.at(wallet.clock.now())})
        assert enrolled.status_code == 200, enrolled.text
        new = pyotp.TOTP(enrolled.json()["secret"])
        assert wallet.post("/auth/totp/confirm", {"code": new.at(wallet.clock.now())}, token).status_code == 200
        replaced = _notices(wallet, data["phone"], REPLACED, email=EMAIL)
        assert [m["channel"] for m in replaced] == ["sms", "email"]
        wallet.clock.advance(timedelta(seconds=30))
        challenge = wallet.login(data["national_id"], data["pin"])
        assert_problem(verify(wallet, challenge["challenge_id"], old.at(wallet.clock.now())), 401, "otp_invalid")
        assert verify(wallet, challenge["challenge_id"], new.at(wallet.clock.now())).status_code == 200

    def test_until_confirmed_the_current_one_stays_in_force(self, wallet: Wallet) -> None:
        data, tokens = wallet.register()
        token = tokens["access_token"]
        old = enroll_totp(wallet, token, data["phone"])
        wallet.clock.advance(timedelta(seconds=30))
        assert enroll(wallet, token, {"code": old.at(wallet.clock.now())}).status_code == 200
        wallet.clock.advance(timedelta(seconds=30))
        challenge = wallet.login(data["national_id"], data["pin"])
        assert verify(wallet, challenge["challenge_id"], old.at(wallet.clock.now())).status_code == 200


class TestConfirmingTellsThePerson:
    def test_by_sms_and_email_when_and_what_to_do(self, wallet: Wallet) -> None:
        data, tokens = wallet.register(email=EMAIL)
        enroll_totp(wallet, tokens["access_token"], data["phone"])
        notices = _notices(wallet, data["phone"], ADDED, email=EMAIL)
        assert [m["channel"] for m in notices] == ["sms", "email"]
        for notice in notices:
            assert "15:00 ngày 24/11/2026" in notice["body"]  # START in Vietnam's time
            assert "một cửa" in notice["body"] and "VNeID" in notice["body"]
        assert notices[1]["subject"]

    def test_without_an_email_by_sms_only(self, wallet: Wallet) -> None:
        data, tokens = wallet.register()
        before = len([m for m in outbox_lines(wallet.outbox) if m["channel"] == "email"])
        enroll_totp(wallet, tokens["access_token"], data["phone"])
        assert len(_notices(wallet, data["phone"], ADDED)) == 1
        assert len([m for m in outbox_lines(wallet.outbox) if m["channel"] == "email"]) == before


class TestRemovingAnAuthenticator:
    def test_needs_its_code_then_login_codes_go_by_sms(self, wallet: Wallet) -> None:
        data, tokens = wallet.register(email=EMAIL)
        token = tokens["access_token"]
        totp = enroll_totp(wallet, token, data["phone"])
        wallet.clock.advance(timedelta(seconds=30))
        assert_problem(remove_totp(wallet, token, None), 403, "fresh_factor_required")
        assert_problem(remove_totp(wallet, token, {"code": wrong_totp(totp, wallet.clock.now())}), 401, "otp_invalid")
        assert remove_totp(wallet, token, {"code": totp.at(wallet.clock.now())}).status_code == 204
        assert wallet.get("/me", token).json()["totp_enabled"] is False
        assert _login_channel(wallet, data) == "sms"
        notices = _notices(wallet, data["phone"], REMOVED, email=EMAIL)
        assert [m["channel"] for m in notices] == ["sms", "email"]
        assert all("một cửa" in m["body"] and "VNeID" in m["body"] for m in notices)

    def test_without_an_authenticator_answers_409(self, wallet: Wallet) -> None:
        _, tokens = wallet.register()
        assert_problem(remove_totp(wallet, tokens["access_token"], {"code": "123456"}), 409, "totp_not_enrolled")


class TestOfficers:
    @pytest.fixture
    def officer(self, wallet: Wallet) -> tuple[str, str]:
        """(phone, access token) of a signed-in officer."""
        phone = make_officer(wallet)
        challenge = officer_login(wallet, phone)
        tokens = verify(wallet, challenge["challenge_id"], last_code(wallet.outbox, to=e164(phone)))
        return phone, tokens.json()["access_token"]

    def test_enrol_use_and_remove_an_authenticator(self, wallet: Wallet, officer: tuple[str, str]) -> None:
        phone, token = officer
        assert_problem(enroll(wallet, token, None), 403, "fresh_factor_required")
        totp = enroll_totp(wallet, token, phone)
        assert len(_notices(wallet, phone, ADDED)) == 1
        wallet.clock.advance(timedelta(seconds=30))
        challenge = officer_login(wallet, phone)
        assert challenge["channel"] == "totp"
        assert verify(wallet, challenge["challenge_id"], totp.at(wallet.clock.now())).status_code == 200
        wallet.clock.advance(timedelta(seconds=30))
        assert remove_totp(wallet, token, {"code": totp.at(wallet.clock.now())}).status_code == 204
        assert len(_notices(wallet, phone, REMOVED)) == 1
        assert officer_login(wallet, phone)["channel"] == "sms"
