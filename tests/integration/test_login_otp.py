"""PIN + OTP login, OTP single use, expiry and death, TOTP (API.md: "OTP login")."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from urllib.parse import unquote, urlsplit

import pyotp
import pytest

from tests.factories import e164, last_code, outbox_lines, registration
from tests.integration.auth_helpers import FIRST_DELAY, enroll, enroll_totp, retry_after, step_up
from tests.integration.conftest import Wallet


def _verify(wallet: Wallet, challenge_id: str, code: str) -> Any:
    return wallet.post("/auth/otp/verify", {"challenge_id": challenge_id, "code": code})


def _wrong(code: str) -> str:
    return f"{(int(code) + 1) % 1_000_000:06d}"


class TestLogin:
    @pytest.mark.e2e
    def test_pin_then_sms_code_gives_tokens(self, wallet: Wallet) -> None:
        data, _ = wallet.register()
        challenge = wallet.login(data["national_id"], data["pin"])
        assert challenge["channel"] == "sms"
        tokens = _verify(wallet, challenge["challenge_id"], last_code(wallet.outbox, to=e164(data["phone"])))
        assert tokens.status_code == 200
        assert wallet.get("/me", tokens.json()["access_token"]).status_code == 200

    @pytest.mark.e2e
    def test_unknown_id_and_wrong_pin_answer_alike(self, wallet: Wallet) -> None:
        data, _ = wallet.register()
        unknown = wallet.post("/auth/login", {"national_id": registration()["national_id"], "pin": data["pin"]})
        wrong = wallet.post("/auth/login", {"national_id": data["national_id"], "pin": "000000"})
        assert unknown.status_code == wrong.status_code == 401
        strip = {"instance", "request_id"}
        assert {k: v for k, v in unknown.json().items() if k not in strip} == {
            k: v for k, v in wrong.json().items() if k not in strip
        }
        assert unknown.json()["code"] == "invalid_credentials"
        assert set(unknown.headers) == set(wrong.headers)

    @pytest.mark.e2e
    def test_wrong_pin_sends_no_sms(self, wallet: Wallet) -> None:
        data, _ = wallet.register()
        before = len(outbox_lines(wallet.outbox))
        wallet.post("/auth/login", {"national_id": data["national_id"], "pin": "000000"})
        assert len(outbox_lines(wallet.outbox)) == before

    def test_both_or_neither_identifier_is_a_validation_error(self, wallet: Wallet) -> None:
        answer = wallet.post("/auth/login", {"pin": "123456"})
        assert answer.status_code == 422
        assert answer.json()["code"] == "validation_failed"


class TestOtpCodes:
    @pytest.mark.e2e
    def test_code_is_single_use(self, wallet: Wallet) -> None:
        data, _ = wallet.register()
        challenge = wallet.login(data["national_id"], data["pin"])
        code = last_code(wallet.outbox)
        assert _verify(wallet, challenge["challenge_id"], code).status_code == 200
        again = _verify(wallet, challenge["challenge_id"], code)
        assert again.status_code == 401
        assert again.json()["code"] == "otp_invalid"

    def test_code_is_valid_until_just_before_five_minutes(self, wallet: Wallet) -> None:
        data, _ = wallet.register()
        challenge = wallet.login(data["national_id"], data["pin"])
        wallet.clock.advance(timedelta(minutes=5) - timedelta(microseconds=1))
        assert _verify(wallet, challenge["challenge_id"], last_code(wallet.outbox)).status_code == 200

    def test_code_expires_at_five_minutes_exactly(self, wallet: Wallet) -> None:
        data, _ = wallet.register()
        challenge = wallet.login(data["national_id"], data["pin"])
        wallet.clock.advance(timedelta(minutes=5))
        answer = _verify(wallet, challenge["challenge_id"], last_code(wallet.outbox))
        assert answer.status_code == 401
        assert answer.json()["code"] == "otp_expired"

    @pytest.mark.e2e
    def test_code_is_bound_to_its_challenge(self, wallet: Wallet) -> None:
        data, _ = wallet.register()
        first = wallet.login(data["national_id"], data["pin"])
        first_code = last_code(wallet.outbox)
        second = wallet.login(data["national_id"], data["pin"])
        second_code = last_code(wallet.outbox)
        if first_code != second_code:
            assert _verify(wallet, second["challenge_id"], first_code).json()["code"] == "otp_invalid"
        assert _verify(wallet, first["challenge_id"], first_code).status_code == 200

    def test_challenge_dies_after_five_wrong_codes(self, wallet: Wallet) -> None:
        data, _ = wallet.register()
        challenge = wallet.login(data["national_id"], data["pin"])
        code = last_code(wallet.outbox)
        answers = [_verify(wallet, challenge["challenge_id"], _wrong(code)) for _ in range(5)]
        assert [a.json()["code"] for a in answers] == ["otp_invalid"] * 4 + ["otp_attempts_exceeded"]
        assert retry_after(_verify(wallet, challenge["challenge_id"], code)) == 60  # the account waits first
        wallet.clock.advance(FIRST_DELAY)
        right = _verify(wallet, challenge["challenge_id"], code)
        assert right.status_code == 401
        assert right.json()["code"] == "otp_attempts_exceeded"

    @pytest.mark.e2e
    def test_four_wrong_codes_still_allow_the_right_one(self, wallet: Wallet) -> None:
        data, _ = wallet.register()
        challenge = wallet.login(data["national_id"], data["pin"])
        code = last_code(wallet.outbox)
        for _ in range(4):
            _verify(wallet, challenge["challenge_id"], _wrong(code))
        assert _verify(wallet, challenge["challenge_id"], code).status_code == 200

    @pytest.mark.e2e
    def test_unknown_challenge_is_refused(self, wallet: Wallet) -> None:
        answer = _verify(wallet, "01a20f8f-0000-7000-8000-000000000000", "123456")
        assert answer.status_code == 401 and answer.json()["code"] == "otp_invalid"


def _enroll_totp(wallet: Wallet, tokens: dict[str, Any], data: dict[str, Any]) -> pyotp.TOTP:
    return enroll_totp(wallet, tokens["access_token"], data["phone"])


def _enrolment(wallet: Wallet, tokens: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
    challenge_id, code = step_up(wallet, tokens["access_token"], data["phone"])
    enrolled = enroll(wallet, tokens["access_token"], {"code": code, "challenge_id": challenge_id})
    assert enrolled.status_code == 200, enrolled.text
    return dict(enrolled.json())


class TestTotp:
    def test_enrolled_login_uses_totp_and_sends_no_sms(self, wallet: Wallet) -> None:
        data, tokens = wallet.register()
        totp = _enroll_totp(wallet, tokens, data)
        wallet.clock.advance(timedelta(seconds=30))
        sms_before = len(outbox_lines(wallet.outbox))
        challenge = wallet.login(data["national_id"], data["pin"])
        assert challenge["channel"] == "totp"
        assert len(outbox_lines(wallet.outbox)) == sms_before
        answer = _verify(wallet, challenge["challenge_id"], totp.at(wallet.clock.now()))
        assert answer.status_code == 200

    def test_a_used_step_is_refused_again(self, wallet: Wallet) -> None:
        data, tokens = wallet.register()
        totp = _enroll_totp(wallet, tokens, data)
        wallet.clock.advance(timedelta(seconds=30))
        code = totp.at(wallet.clock.now())
        first = wallet.login(data["national_id"], data["pin"])
        assert _verify(wallet, first["challenge_id"], code).status_code == 200
        second = wallet.login(data["national_id"], data["pin"])
        replay = _verify(wallet, second["challenge_id"], code)
        assert replay.status_code == 401 and replay.json()["code"] == "otp_invalid"

    def test_confirmation_step_cannot_be_replayed_at_login(self, wallet: Wallet) -> None:
        data, tokens = wallet.register()
        totp = _enroll_totp(wallet, tokens, data)
        challenge = wallet.login(data["national_id"], data["pin"])
        assert _verify(wallet, challenge["challenge_id"], totp.at(wallet.clock.now())).status_code == 401

    def test_adjacent_steps_are_accepted_and_farther_ones_not(self, wallet: Wallet) -> None:
        data, tokens = wallet.register()
        totp = _enroll_totp(wallet, tokens, data)
        wallet.clock.advance(timedelta(minutes=5))
        now = wallet.clock.now()
        challenge = wallet.login(data["national_id"], data["pin"])
        too_old = totp.at(now - timedelta(seconds=60))
        if too_old not in {totp.at(now), totp.at(now - timedelta(seconds=30)), totp.at(now + timedelta(seconds=30))}:
            assert _verify(wallet, challenge["challenge_id"], too_old).status_code == 401
        assert _verify(wallet, challenge["challenge_id"], totp.at(now + timedelta(seconds=30))).status_code == 200

    @pytest.mark.e2e
    def test_enrolment_gives_a_secret_its_uri_and_a_qr(self, wallet: Wallet) -> None:
        data, tokens = wallet.register()
        body = _enrolment(wallet, tokens, data)
        assert body["otpauth_uri"].startswith("otpauth://totp/")
        assert body["qr_svg"].lstrip().startswith("<svg")
        assert len(body["secret"]) == 32  # base32 of 160 bits

    def test_the_otpauth_label_shows_neither_the_id_nor_the_phone(self, wallet: Wallet) -> None:
        data, tokens = wallet.register(phone="0912345678")
        uri = _enrolment(wallet, tokens, data)["otpauth_uri"]
        label = unquote(urlsplit(uri).path.lstrip("/"))
        assert label == "Công Dân Số:***5678"
        assert pyotp.parse_uri(uri).issuer == "Công Dân Số"
        for secret in (data["national_id"], "912345678", "0912345678", "+84912345678", "12345678"):
            assert secret not in unquote(uri), secret

    def test_confirm_with_a_wrong_code_keeps_sms_login(self, wallet: Wallet) -> None:
        data, tokens = wallet.register()
        _enrolment(wallet, tokens, data)
        answer = wallet.post("/auth/totp/confirm", {"code": "000000"}, token=tokens["access_token"])
        if answer.status_code == 200:  # one chance in a million that 000000 is the right code
            return
        assert answer.json()["code"] == "otp_invalid"
        assert wallet.login(data["national_id"], data["pin"])["channel"] == "sms"

    def test_confirm_without_enrolment_answers_409(self, wallet: Wallet) -> None:
        _, tokens = wallet.register()
        answer = wallet.post("/auth/totp/confirm", {"code": "123456"}, token=tokens["access_token"])
        assert answer.status_code == 409 and answer.json()["code"] == "totp_not_enrolled"

    def test_profile_reports_totp(self, wallet: Wallet) -> None:
        data, tokens = wallet.register()
        assert wallet.get("/me", tokens["access_token"]).json()["totp_enabled"] is False
        _enroll_totp(wallet, tokens, data)
        assert wallet.get("/me", tokens["access_token"]).json()["totp_enabled"] is True
