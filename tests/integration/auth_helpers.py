"""Helpers for the second-factor tests: step-up codes, enrolling an authenticator, the outbox by recipient."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pyotp

from api.deps import container_of
from identity.accounts import AccountService
from storage.db import transaction
from tests.factories import e164, last_code, make_phone, outbox_lines
from tests.integration.conftest import Wallet

SECOND_FACTOR_FREE_FAILURES = 4  # wrong codes answered before the account has to wait
FIRST_DELAY = timedelta(seconds=60)
MICROSECOND = timedelta(microseconds=1)


def wrong(code: str) -> str:
    return f"{(int(code) + 1) % 1_000_000:06d}"


def wrong_totp(totp: pyotp.TOTP, at: datetime) -> str:
    """A code that no step the server accepts at `at` (the current one and its neighbours) would give."""
    accepted = {totp.at(at + timedelta(seconds=s)) for s in (-30, 0, 30)}
    return next(c for c in (f"{n:06d}" for n in range(1_000_000)) if c not in accepted)


def verify(wallet: Wallet, challenge_id: str, code: str) -> Any:
    return wallet.post("/auth/otp/verify", {"challenge_id": challenge_id, "code": code})


def step_up(wallet: Wallet, token: str, phone: str) -> tuple[str, str]:
    """A step-up challenge's id and the code sent to `phone`."""
    challenge = wallet.post("/auth/otp/send", token=token)
    assert challenge.status_code == 202, challenge.text
    assert challenge.json()["channel"] == "sms"
    return challenge.json()["challenge_id"], last_code(wallet.outbox, to=e164(phone))


def enroll(wallet: Wallet, token: str, factor: dict[str, str]) -> Any:
    return wallet.post("/auth/totp/enroll", factor, token)


def enroll_totp(wallet: Wallet, token: str, phone: str) -> pyotp.TOTP:
    """Enrol and confirm an authenticator, proving an SMS step-up code first; returns the new authenticator."""
    challenge_id, code = step_up(wallet, token, phone)
    enrolled = enroll(wallet, token, {"code": code, "challenge_id": challenge_id})
    assert enrolled.status_code == 200, enrolled.text
    totp = pyotp.TOTP(enrolled.json()["secret"])
    confirmed = wallet.post("/auth/totp/confirm", {"code": totp.at(wallet.clock.now())}, token)
    assert confirmed.status_code == 200 and confirmed.json() == {"enabled": True}, confirmed.text
    return totp


def remove_totp(wallet: Wallet, token: str, body: dict[str, Any] | None) -> Any:
    headers = {"Authorization": f"Bearer {token}"}
    return wallet.client.request("DELETE", "/api/v1/auth/totp", json=body, headers=headers)


def erase(wallet: Wallet, token: str, body: dict[str, Any]) -> Any:
    return wallet.client.request("DELETE", "/api/v1/me", json=body, headers={"Authorization": f"Bearer {token}"})


def deliver(wallet: Wallet) -> None:
    """Deliver whatever the outbox still holds (messages left to the periodic dispatcher)."""
    dispatcher = container_of(wallet.app.state).dispatcher
    wallet.client.blocking_portal.call(dispatcher.dispatch)


def messages_to(wallet: Wallet, to: str, channel: str = "sms") -> list[dict[str, Any]]:
    address = e164(to) if channel == "sms" else to
    return [line for line in outbox_lines(wallet.outbox) if line["channel"] == channel and line["to"] == address]


def assert_problem(answer: Any, status: int, code: str) -> None:
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert answer.json()["code"] == code, answer.json()


def retry_after(answer: Any) -> int:
    """The Retry-After (whole seconds) of a 429 `rate_limited` problem."""
    assert_problem(answer, 429, "rate_limited")
    value = answer.headers.get("retry-after", "")
    assert value.isdigit(), value
    return int(value)


def make_officer(wallet: Wallet, pin: str = "135790") -> str:
    """A new officer of a new agency; returns their phone."""
    container = container_of(wallet.app.state)
    phone = make_phone()
    with transaction(container.engine) as session:
        AccountService(session, container.identity).create_agency(f"UB-{phone}", "UBND phường Hải Châu I", [])
    with transaction(container.engine) as session:
        AccountService(session, container.identity).create_officer(
            phone=phone, name="Trần Thị Bích", agency_code=f"UB-{phone}", pin=pin
        )
    return phone


def officer_login(wallet: Wallet, phone: str, pin: str = "135790") -> Any:
    """The officer's login challenge (`POST /auth/login` by phone)."""
    answer = wallet.post("/auth/login", {"phone": phone, "pin": pin})
    assert answer.status_code == 202, answer.text
    return answer.json()
