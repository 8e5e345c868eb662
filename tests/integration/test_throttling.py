"""Throttling: OTP sends per phone (registration and login apart), growing delays after wrong PINs (known or unknown
ID alike), wrong second-factor codes per account, per-IP limits on registration and login, and counters shared by
every app instance of a database."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import pyotp
from sqlalchemy import text

from tests.factories import e164, last_code, make_cccd, make_phone, outbox_lines, registration
from tests.integration.auth_helpers import (
    FIRST_DELAY,
    MICROSECOND,
    enroll_totp,
    erase,
    retry_after,
    step_up,
    verify,
    wrong,
    wrong_totp,
)
from tests.integration.conftest import Wallet
from tests.integration.consent_helpers import make_agency, officer_token

WRONG_PIN = "135790"
OTP_SENDS_PER_PHONE = 5
OTP_WINDOW = timedelta(minutes=15)
FREE_PIN_FAILURES = 3  # wrong PINs answered 401 before the next attempt has to wait


def assert_rate_limited(answer: Any, *, at_most: int | None = None) -> int:
    """A 429 problem with a Retry-After of whole seconds; returns those seconds."""
    assert answer.status_code == 429, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert answer.json()["code"] == "rate_limited"
    retry_after = answer.headers.get("retry-after", "")
    assert retry_after.isdigit(), f"Retry-After {retry_after!r} is not a number of seconds"
    seconds = int(retry_after)
    assert seconds > 0
    if at_most is not None:
        assert seconds <= at_most
    return seconds


def login(wallet: Wallet, national_id: str, pin: str) -> Any:
    return wallet.post("/auth/login", {"national_id": national_id, "pin": pin})


def fail_until_blocked(wallet: Wallet, national_id: str, *, limit: int = 12) -> tuple[int, int]:
    """Wrong PINs until refused; returns (401 answers before the refusal, its Retry-After)."""
    for failures in range(limit):
        answer = login(wallet, national_id, WRONG_PIN)
        if answer.status_code == 429:
            return failures, assert_rate_limited(answer)
        assert answer.status_code == 401, answer.text
        assert answer.json()["code"] == "invalid_credentials"
    raise AssertionError(f"still not throttled after {limit} wrong PINs")


class TestOtpSendsPerPhone:
    def test_the_sixth_sms_inside_the_window_is_refused_then_allowed_again(self, wallet: Wallet) -> None:
        data = registration()
        for _ in range(OTP_SENDS_PER_PHONE):
            assert wallet.post("/auth/register", data).status_code == 202
        seconds = assert_rate_limited(wallet.post("/auth/register", data), at_most=int(OTP_WINDOW.total_seconds()))
        assert wallet.post("/auth/register", registration()).status_code == 202  # another phone is not affected
        wallet.clock.advance(timedelta(seconds=seconds))
        assert wallet.post("/auth/register", data).status_code == 202

    def test_login_codes_have_a_budget_of_their_own(self, wallet: Wallet) -> None:
        data, _tokens = wallet.register()  # spends the registration budget, not the login one
        for _ in range(OTP_SENDS_PER_PHONE):
            assert login(wallet, data["national_id"], data["pin"]).status_code == 202
        assert_rate_limited(login(wallet, data["national_id"], data["pin"]))
        sms = [line for line in outbox_lines(wallet.outbox) if line["to"] == e164(data["phone"])]
        assert len(sms) == 1 + OTP_SENDS_PER_PHONE

    def test_registrations_with_a_victims_phone_never_block_their_login_code(self, wallet: Wallet) -> None:
        victim, _ = wallet.register()
        answers = [wallet.post("/auth/register", registration(phone=victim["phone"])) for _ in range(10)]
        assert [a.status_code for a in answers] == [202] * (OTP_SENDS_PER_PHONE - 1) + [429] * 6
        challenge = login(wallet, victim["national_id"], victim["pin"])
        assert challenge.status_code == 202, challenge.text
        code = last_code(wallet.outbox, to=e164(victim["phone"]))
        assert verify(wallet, challenge.json()["challenge_id"], code).status_code == 200

    def test_taken_id_registrations_spend_the_registration_budget_like_codes(self, wallet: Wallet) -> None:
        owner, _ = wallet.register()
        phone = make_phone()
        taken = {"national_id": owner["national_id"], "phone": phone}
        for n in range(OTP_SENDS_PER_PHONE):
            data = registration(**taken) if n % 2 else registration(phone=phone)
            assert wallet.post("/auth/register", data).status_code == 202
        assert_rate_limited(wallet.post("/auth/register", registration(**taken)))
        assert len([line for line in outbox_lines(wallet.outbox) if line["to"] == e164(phone)]) == OTP_SENDS_PER_PHONE


class TestRefusedRegistrationsLeaveNoKey:
    """A citizen key is written to the key store (its own committed transaction) before the SMS is
    throttled; keys must not outlive the registration they were made for."""

    @staticmethod
    def counts(wallet: Wallet) -> tuple[int, int]:
        container = wallet.app.state.container
        with container.engine.connect() as connection:
            citizens = connection.execute(text("SELECT count(*) FROM citizen")).scalar_one()
        with container.keystore_engine.connect() as connection:
            keys = connection.execute(text("SELECT count(*) FROM citizen_key")).scalar_one()
        return citizens, keys

    def test_a_registration_refused_by_the_sms_limit_stores_no_key(self, wallet: Wallet) -> None:
        phone = make_phone()
        for _ in range(OTP_SENDS_PER_PHONE):  # five people sharing one phone
            assert wallet.post("/auth/register", registration(phone=phone)).status_code == 202
        assert_rate_limited(wallet.post("/auth/register", registration(phone=phone)))
        citizens, keys = self.counts(wallet)
        assert (citizens, keys) == (OTP_SENDS_PER_PHONE, OTP_SENDS_PER_PHONE)

    def test_registering_again_while_pending_leaves_one_key(self, wallet: Wallet) -> None:
        data = registration()
        for _ in range(2):
            assert wallet.post("/auth/register", data).status_code == 202
        assert self.counts(wallet) == (1, 1)


class TestWrongPins:
    def test_after_three_wrong_pins_the_next_attempt_waits(self, wallet: Wallet) -> None:
        data, _ = wallet.register()
        failures, _seconds = fail_until_blocked(wallet, data["national_id"])
        assert failures == FREE_PIN_FAILURES

    def test_a_right_pin_inside_the_delay_is_refused_too(self, wallet: Wallet) -> None:
        data, _ = wallet.register()
        fail_until_blocked(wallet, data["national_id"])
        assert_rate_limited(login(wallet, data["national_id"], data["pin"]))

    def test_the_delay_grows_with_further_failures(self, wallet: Wallet) -> None:
        data, _ = wallet.register()
        delays = []
        for _ in range(3):
            _failures, seconds = fail_until_blocked(wallet, data["national_id"])
            delays.append(seconds)
            wallet.clock.advance(timedelta(seconds=seconds))
        assert delays[0] < delays[1] < delays[2], delays

    def test_a_right_pin_after_the_delay_works_and_resets_the_count(self, wallet: Wallet) -> None:
        data, _ = wallet.register()
        first_failures, seconds = fail_until_blocked(wallet, data["national_id"])
        wallet.clock.advance(timedelta(seconds=seconds))
        answer = login(wallet, data["national_id"], data["pin"])
        assert answer.status_code == 202, answer.text
        code = last_code(wallet.outbox, to=e164(data["phone"]))
        verified = wallet.post("/auth/otp/verify", {"challenge_id": answer.json()["challenge_id"], "code": code})
        assert verified.status_code == 200
        failures_after_reset, _ = fail_until_blocked(wallet, data["national_id"])
        assert failures_after_reset == first_failures

    def test_an_unknown_id_gets_the_same_answers(self, wallet: Wallet) -> None:
        data, _ = wallet.register()
        unknown = make_cccd(date(1995, 3, 2))

        def answers(national_id: str) -> list[tuple[int, str, str | None, frozenset[str]]]:
            seen = []
            for _ in range(FREE_PIN_FAILURES + 3):
                answer = login(wallet, national_id, WRONG_PIN)
                body = answer.json()
                seen.append((answer.status_code, body["code"], answer.headers.get("retry-after"), frozenset(body)))
            return seen

        known = answers(data["national_id"])
        assert any(status == 429 for status, *_ in known)
        assert answers(unknown) == known


class TestSecondFactorFailuresPerAccount:
    """Wrong codes count per account, whatever the challenge or the check; from the 5th on, every code waits."""

    @staticmethod
    def login_challenge(wallet: Wallet, data: dict[str, Any]) -> tuple[str, str]:
        answer = login(wallet, data["national_id"], data["pin"])
        assert answer.status_code == 202, answer.text
        code = last_code(wallet.outbox, to=e164(data["phone"])) if answer.json()["channel"] == "sms" else ""
        return answer.json()["challenge_id"], code

    def test_after_five_wrong_login_codes_even_the_right_one_waits_60_seconds(self, wallet: Wallet) -> None:
        data, _ = wallet.register()
        first, code = self.login_challenge(wallet, data)
        assert [verify(wallet, first, wrong(code)).json()["code"] for _ in range(5)][-1] == "otp_attempts_exceeded"
        second, code = self.login_challenge(wallet, data)
        assert retry_after(verify(wallet, second, code)) == 60
        wallet.clock.advance(FIRST_DELAY - MICROSECOND)
        assert retry_after(verify(wallet, second, code)) == 1
        wallet.clock.advance(MICROSECOND)
        assert verify(wallet, second, code).status_code == 200

    def test_wrong_codes_on_several_challenges_add_up(self, wallet: Wallet) -> None:
        data, _ = wallet.register()
        first, code = self.login_challenge(wallet, data)
        for _ in range(3):
            assert verify(wallet, first, wrong(code)).json()["code"] == "otp_invalid"
        second, code = self.login_challenge(wallet, data)
        for _ in range(2):
            assert verify(wallet, second, wrong(code)).json()["code"] == "otp_invalid"
        retry_after(verify(wallet, second, code))

    def test_a_right_code_resets_the_count(self, wallet: Wallet) -> None:
        data, _ = wallet.register()
        first, code = self.login_challenge(wallet, data)
        for _ in range(4):
            verify(wallet, first, wrong(code))
        assert verify(wallet, first, code).status_code == 200
        second, code = self.login_challenge(wallet, data)
        assert [verify(wallet, second, wrong(code)).status_code for _ in range(4)] == [401] * 4
        assert verify(wallet, second, code).status_code == 200

    def test_delays_double_with_each_further_failure_up_to_an_hour(self, wallet: Wallet) -> None:
        data, tokens = wallet.register()
        totp = enroll_totp(wallet, tokens["access_token"], data["phone"])
        delays = []
        for failure in range(1, 13):
            challenge, _ = self.login_challenge(wallet, data)  # codes from the authenticator at login
            answer = verify(wallet, challenge, wrong_totp(totp, wallet.clock.now()))
            assert answer.status_code == 401, answer.text
            if failure >= 5:
                delays.append(retry_after(verify(wallet, challenge, totp.at(wallet.clock.now()))))
                wallet.clock.advance(timedelta(seconds=delays[-1]))
        assert delays == [60, 120, 240, 480, 960, 1920, 3600, 3600]
        challenge, _ = self.login_challenge(wallet, data)
        assert verify(wallet, challenge, totp.at(wallet.clock.now())).status_code == 200

    def test_step_up_codes_for_erasure_are_counted(self, wallet: Wallet) -> None:
        data, tokens = wallet.register()
        token = tokens["access_token"]
        challenge_id, code = step_up(wallet, token, data["phone"])
        answers = [erase(wallet, token, {"code": wrong(code), "challenge_id": challenge_id}) for _ in range(5)]
        assert [a.json()["code"] for a in answers] == ["otp_invalid"] * 4 + ["otp_attempts_exceeded"]
        challenge_id, code = step_up(wallet, token, data["phone"])
        assert retry_after(erase(wallet, token, {"code": code, "challenge_id": challenge_id})) == 60
        assert wallet.get("/me", token).status_code == 200

    def test_authenticator_codes_for_erasure_are_counted(self, wallet: Wallet) -> None:
        data, tokens = wallet.register()
        token = tokens["access_token"]
        totp = enroll_totp(wallet, token, data["phone"])
        wallet.clock.advance(timedelta(seconds=30))
        for _ in range(5):
            answer = erase(wallet, token, {"code": wrong_totp(totp, wallet.clock.now())})
            assert answer.json()["code"] == "otp_invalid"
        assert retry_after(erase(wallet, token, {"code": totp.at(wallet.clock.now())})) == 60
        wallet.clock.advance(FIRST_DELAY)
        assert erase(wallet, token, {"code": totp.at(wallet.clock.now())}).status_code == 204

    def test_codes_confirming_a_new_authenticator_are_counted(self, wallet: Wallet) -> None:
        data, tokens = wallet.register()
        token = tokens["access_token"]
        challenge_id, code = step_up(wallet, token, data["phone"])
        enrolled = wallet.post("/auth/totp/enroll", {"code": code, "challenge_id": challenge_id}, token)
        totp = pyotp.TOTP(enrolled.json()["secret"])
        for _ in range(5):
            answer = wallet.post("/auth/totp/confirm", {"code": wrong_totp(totp, wallet.clock.now())}, token)
            assert answer.json()["code"] == "otp_invalid"
        assert retry_after(wallet.post("/auth/totp/confirm", {"code": totp.at(wallet.clock.now())}, token)) == 60
        wallet.clock.advance(FIRST_DELAY)
        assert wallet.post("/auth/totp/confirm", {"code": totp.at(wallet.clock.now())}, token).status_code == 200

    def test_each_account_has_its_own_count(self, wallet: Wallet) -> None:
        blocked, _ = wallet.register()
        other, _ = wallet.register()
        challenge, code = self.login_challenge(wallet, blocked)
        for _ in range(5):
            verify(wallet, challenge, wrong(code))
        challenge, code = self.login_challenge(wallet, other)
        assert verify(wallet, challenge, code).status_code == 200

    def test_officers_are_counted_too(self, wallet: Wallet) -> None:
        token = officer_token(wallet, make_agency(wallet))
        challenge_id = wallet.post("/auth/otp/send", token=token).json()["challenge_id"]
        code = last_code(wallet.outbox)
        factor = {"code": wrong(code), "challenge_id": challenge_id}
        answers = [wallet.post("/auth/totp/enroll", factor, token) for _ in range(5)]
        assert [a.json()["code"] for a in answers] == ["otp_invalid"] * 4 + ["otp_attempts_exceeded"]
        retry_after(wallet.post("/auth/totp/enroll", {"code": code, "challenge_id": challenge_id}, token))


class TestPerIpLimits:
    def test_registrations_per_ip_per_minute(self, make_wallet: Callable[..., Wallet]) -> None:
        wallet = make_wallet(register_per_ip_per_minute=3)
        for _ in range(3):
            assert wallet.post("/auth/register", registration()).status_code == 202
        seconds = assert_rate_limited(wallet.post("/auth/register", registration()), at_most=60)
        wallet.clock.advance(timedelta(seconds=seconds))
        assert wallet.post("/auth/register", registration()).status_code == 202

    def test_registration_sms_per_ip_per_hour(self, make_wallet: Callable[..., Wallet]) -> None:
        wallet = make_wallet(register_sms_per_ip_per_hour=3)
        owner, _ = wallet.register()  # 1
        assert wallet.post("/auth/register", registration()).status_code == 202  # 2
        assert wallet.post("/auth/register", registration(national_id=owner["national_id"])).status_code == 202  # 3
        seconds = assert_rate_limited(wallet.post("/auth/register", registration()), at_most=3600)
        wallet.clock.advance(timedelta(seconds=seconds))
        assert wallet.post("/auth/register", registration()).status_code == 202

    def test_logins_per_ip_per_minute(self, make_wallet: Callable[..., Wallet]) -> None:
        wallet = make_wallet(login_per_ip_per_minute=3)
        for _ in range(3):  # distinct unknown IDs: only the per-IP count can refuse
            assert login(wallet, make_cccd(date(1990, 1, 1)), WRONG_PIN).status_code == 401
        seconds = assert_rate_limited(login(wallet, make_cccd(date(1990, 1, 1)), WRONG_PIN), at_most=60)
        wallet.clock.advance(timedelta(seconds=seconds))
        assert login(wallet, make_cccd(date(1990, 1, 1)), WRONG_PIN).status_code == 401

    def test_a_forged_forwarded_for_does_not_dodge_the_limit(self, make_wallet: Callable[..., Wallet]) -> None:
        wallet = make_wallet(login_per_ip_per_minute=3)  # no trusted proxy: X-Forwarded-For is ignored
        for n in range(3):
            headers = {"X-Forwarded-For": f"198.51.100.{n}"}
            assert wallet.client.post("/api/v1/auth/login", json=_unknown_login(), headers=headers).status_code == 401
        forged = {"X-Forwarded-For": "198.51.100.99"}
        assert_rate_limited(wallet.client.post("/api/v1/auth/login", json=_unknown_login(), headers=forged))

    def test_behind_a_trusted_proxy_each_client_has_its_own_count(self, make_wallet: Callable[..., Wallet]) -> None:
        wallet = make_wallet(login_per_ip_per_minute=3, trusted_proxies=["testclient"])
        first = {"X-Forwarded-For": "203.0.113.7"}
        for _ in range(3):
            assert wallet.client.post("/api/v1/auth/login", json=_unknown_login(), headers=first).status_code == 401
        assert_rate_limited(wallet.client.post("/api/v1/auth/login", json=_unknown_login(), headers=first))
        other = {"X-Forwarded-For": "203.0.113.8"}
        assert wallet.client.post("/api/v1/auth/login", json=_unknown_login(), headers=other).status_code == 401


class TestCountersAreShared:
    """Two app instances (two workers) on one database see the same counters."""

    def test_wrong_pins_through_one_app_block_the_other(self, make_wallet: Callable[..., Wallet]) -> None:
        first, second = make_wallet(), make_wallet()
        data, _ = first.register()
        fail_until_blocked(first, data["national_id"])
        assert_rate_limited(login(second, data["national_id"], data["pin"]))

    def test_per_ip_windows_add_up_across_apps(self, make_wallet: Callable[..., Wallet]) -> None:
        first, second = make_wallet(register_per_ip_per_minute=3), make_wallet(register_per_ip_per_minute=3)
        assert first.post("/auth/register", registration()).status_code == 202
        assert second.post("/auth/register", registration()).status_code == 202
        assert first.post("/auth/register", registration()).status_code == 202
        assert_rate_limited(second.post("/auth/register", registration(phone=make_phone())))


def _unknown_login() -> dict[str, str]:
    return {"national_id": make_cccd(date(1990, 1, 1)), "pin": WRONG_PIN}
