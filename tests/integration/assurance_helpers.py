"""Helpers for identity-assurance tests: counter officers, QR scans, held papers."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

from api.deps import container_of
from identity.accounts import AccountService
from storage.db import transaction
from tests.factories import e164, last_code, make_phone
from tests.integration.conftest import Wallet

_codes = itertools.count(1)


@dataclass
class Officer:
    wallet: Wallet
    id: str
    name: str
    agency_code: str
    agency_name: str
    token: str
    phone: str
    pin: str

    def relogin(self) -> str:
        self.token = _login(self.wallet, self.phone, self.pin)
        return self.token

    def scan(self, citizen_token: str) -> str:
        """Scan the citizen's QR; returns the presence id."""
        qr = self.wallet.get("/me/qr", citizen_token)
        assert qr.status_code == 200, qr.text
        scan = self.wallet.post("/verify/qr", {"token": qr.json()["token"]}, self.token)
        assert scan.status_code == 200 and scan.json()["valid"], scan.text
        return str(scan.json()["presence_id"])

    def proof(self, presence_id: str) -> Any:
        return self.wallet.post("/identity/proofings", {"presence_id": presence_id}, self.token)

    def start_recovery(self, national_id: str, new_phone: str, **extra: Any) -> Any:
        body = {"national_id": national_id, "new_phone": new_phone} | extra
        return self.wallet.post("/identity/recoveries", body, self.token)


def new_counter_officer(
    wallet: Wallet, *, agency_code: str | None = None, name: str = "Trần Thị Bích", scopes: tuple[str, ...] = ()
) -> Officer:
    """An officer of a one-stop counter agency (a new agency unless `agency_code` names one), signed in."""
    container = container_of(wallet.app.state)
    phone, pin = make_phone(), "135790"
    with transaction(container.engine) as session:
        accounts = AccountService(session, container.identity)
        if agency_code is None:
            agency_code = f"MC-{next(_codes)}"
            accounts.create_agency(agency_code, "Bộ phận một cửa UBND phường Hải Châu", scopes)
        agency_name = accounts.agency_name(agency_code)
        officer = accounts.create_officer(phone=phone, name=name, agency_code=agency_code, pin=pin)
    token = _login(wallet, phone, pin)
    return Officer(wallet, officer.id, name, agency_code, agency_name, token, phone, pin)


def _login(wallet: Wallet, phone: str, pin: str) -> str:
    challenge = wallet.post("/auth/login", {"phone": phone, "pin": pin})
    assert challenge.status_code == 202, challenge.text
    code = last_code(wallet.outbox, to=e164(phone))
    tokens = wallet.post("/auth/otp/verify", {"challenge_id": challenge.json()["challenge_id"], "code": code})
    assert tokens.status_code == 200, tokens.text
    return str(tokens.json()["access_token"])


def me(wallet: Wallet, token: str) -> dict[str, Any]:
    answer = wallet.get("/me", token)
    assert answer.status_code == 200, answer.text
    return dict(answer.json())
