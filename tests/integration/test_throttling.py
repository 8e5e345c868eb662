"""Throttling: OTP sends per phone, growing delays after wrong PINs (known or unknown ID alike),
per-IP limits on registration and login, and counters shared by every app instance of a database."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

from sqlalchemy import text

from tests.factories import e164, last_code, make_cccd, make_phone, outbox_lines, registration
from tests.integration.conftest import Wallet

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

    def test_registration_and_login_sms_count_together(self, wallet: Wallet) -> None:
        data, _tokens = wallet.register()  # SMS 1
        for _ in range(OTP_SENDS_PER_PHONE - 1):  # SMS 2..5
            assert login(wallet, data["national_id"], data["pin"]).status_code == 202
        assert_rate_limited(login(wallet, data["national_id"], data["pin"]))
        sms = [line for line in outbox_lines(wallet.outbox) if line["to"] == e164(data["phone"])]
        assert len(sms) == OTP_SENDS_PER_PHONE


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


class TestPerIpLimits:
    def test_registrations_per_ip_per_minute(self, make_wallet: Callable[..., Wallet]) -> None:
        wallet = make_wallet(register_per_ip_per_minute=3)
        for _ in range(3):
            assert wallet.post("/auth/register", registration()).status_code == 202
        seconds = assert_rate_limited(wallet.post("/auth/register", registration()), at_most=60)
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
