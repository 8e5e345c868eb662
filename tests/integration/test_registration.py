"""POST /auth/register and the first OTP (API.md: registration)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from tests.factories import e164, last_code, make_cccd, outbox_lines, registration
from tests.integration.conftest import Wallet


def _fields(answer: object) -> set[str]:
    return {e["field"] for e in answer.json()["errors"]}  # type: ignore[attr-defined]


class TestRegister:
    def test_answers_202_with_an_sms_challenge_and_sends_the_code(self, wallet: Wallet) -> None:
        data = registration()
        answer = wallet.post("/auth/register", data)
        assert answer.status_code == 202
        body = answer.json()
        assert body["channel"] == "sms" and body["challenge_id"]
        [sms] = outbox_lines(wallet.outbox)
        assert sms["channel"] == "sms" and sms["to"] == e164(data["phone"])
        assert set(sms) >= {"channel", "to", "subject", "body", "sent_at"}

    def test_verified_registration_gives_tokens_and_a_profile(self, wallet: Wallet) -> None:
        data, tokens = wallet.register(email="an@example.vn")
        assert tokens["token_type"] == "Bearer" and tokens["expires_in"] == 900 and tokens["citizen_id"]
        me = wallet.get("/me", tokens["access_token"])
        assert me.status_code == 200
        profile = me.json()
        assert profile["national_id"] == data["national_id"]
        assert profile["full_name"] == "Nguyễn Văn An"
        assert profile["phone"] == e164(data["phone"])
        assert profile["date_of_birth"] == data["date_of_birth"]
        assert profile["email"] == "an@example.vn"

    def test_phone_in_international_form_is_normalised(self, wallet: Wallet) -> None:
        _, tokens = wallet.register(phone="+84 912 345 678")
        assert wallet.get("/me", tokens["access_token"]).json()["phone"] == "+84912345678"

    def test_already_registered_id_answers_409(self, wallet: Wallet) -> None:
        data, _ = wallet.register()
        again = wallet.post("/auth/register", registration(national_id=data["national_id"]))
        assert again.status_code == 409
        assert again.json()["code"] == "already_registered"

    def test_unverified_registration_can_be_restarted(self, wallet: Wallet) -> None:
        data = registration()
        assert wallet.post("/auth/register", data).status_code == 202
        second = wallet.post("/auth/register", data)
        assert second.status_code == 202
        code = last_code(wallet.outbox)
        verified = wallet.post("/auth/otp/verify", {"challenge_id": second.json()["challenge_id"], "code": code})
        assert verified.status_code == 200

    def test_pending_citizen_cannot_log_in(self, wallet: Wallet) -> None:
        data = registration()
        wallet.post("/auth/register", data)
        answer = wallet.post("/auth/login", {"national_id": data["national_id"], "pin": data["pin"]})
        assert answer.status_code == 401


class TestRegisterValidation:
    @pytest.mark.parametrize(
        ("overrides", "field"),
        [
            ({"national_id": "04809500123"}, "national_id"),  # 11 digits
            ({"national_id": "003095001234"}, "national_id"),  # 003 is no province
            ({"national_id": "048295001234"}, "national_id"),  # century digit 2 = born 2000s
            ({"national_id": "048096001234"}, "national_id"),  # year digits 96 ≠ 1995
            ({"national_id": "048195001234", "sex": "nam"}, "national_id"),  # digit 1 = female
            ({"phone": "0123456789"}, "phone"),  # 01x is no mobile prefix
            ({"phone": "09051234"}, "phone"),
            ({"pin": "12345"}, "pin"),
            ({"pin": "12345a"}, "pin"),
        ],
    )
    def test_invalid_field_answers_422_naming_it(self, wallet: Wallet, overrides: dict[str, str], field: str) -> None:
        data = registration(dob=date(1995, 3, 2))
        data.update(overrides)
        answer = wallet.post("/auth/register", data)
        assert answer.status_code == 422, answer.text
        problem = answer.json()
        assert answer.headers["content-type"].startswith("application/problem+json")
        assert problem["code"] == "validation_failed" and problem["status"] == 422
        assert field in _fields(answer)
        assert outbox_lines(wallet.outbox) == []

    def test_female_born_2001_is_valid(self, wallet: Wallet) -> None:
        dob = date(2001, 7, 9)
        _, tokens = wallet.register(dob=dob, sex_for_id="nu", national_id=make_cccd(dob, sex="nu"), sex="nu")
        assert wallet.get("/me", tokens["access_token"]).json()["sex"] == "nu"

    def test_missing_and_mistyped_fields_are_listed(self, wallet: Wallet) -> None:
        answer = wallet.post("/auth/register", {"national_id": 48095001234, "date_of_birth": "not-a-date"})
        assert answer.status_code == 422
        assert {"national_id", "date_of_birth", "full_name", "phone", "pin"} <= _fields(answer)

    def test_future_birth_date_is_refused(self, wallet: Wallet) -> None:
        future = wallet.clock.now().date() + timedelta(days=400)
        data = registration()
        data["date_of_birth"] = future.isoformat()
        answer = wallet.post("/auth/register", data)
        assert answer.status_code == 422
        assert "date_of_birth" in _fields(answer)
