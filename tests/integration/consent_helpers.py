"""Helpers for the consent tests: agencies with credentials, officers, citizens with papers, and the consent flow."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any

import jwt

from api.deps import container_of
from identity.accounts import AccountService
from storage.db import transaction
from tests.factories import e164, last_code, make_phone
from tests.integration.conftest import Wallet
from tests.integration.wallet_helpers import cccd_fields, diploma_fields, pdf_bytes, png_bytes, relogin, upload

_codes = itertools.count(1)
BOTH_SCOPES = ("consent:request", "consent:read")
PURPOSE = "Cấp hộ chiếu phổ thông lần đầu theo hồ sơ số 000.00.20.H17-261124-0001"


@dataclass
class Agency:
    """An agency (OAuth client) that can fetch a fresh token whenever the test clock has moved."""

    wallet: Wallet
    code: str
    name: str
    client_id: str
    client_secret: str
    scopes: tuple[str, ...]

    def token(self) -> str:
        form = {"grant_type": "client_credentials", "client_id": self.client_id, "client_secret": self.client_secret}
        answer = self.wallet.client.post("/api/v1/oauth/token", data=form)
        assert answer.status_code == 200, answer.text
        return str(answer.json()["access_token"])

    def request(self, national_id: str, token: str | None = None, **body: Any) -> Any:
        payload = {"national_id": national_id, "document_types": ["cccd"], "purpose": PURPOSE} | body
        return self.wallet.post("/consent-requests", payload, token or self.token())

    def requested(self, national_id: str, **body: Any) -> str:
        answer = self.request(national_id, **body)
        assert answer.status_code == 201, answer.text
        assert answer.json() == {"id": answer.json()["id"], "status": "pending"}
        return str(answer.json()["id"])

    def status(self, request_id: str) -> dict[str, Any]:
        answer = self.wallet.get(f"/consent-requests/{request_id}", self.token())
        assert answer.status_code == 200, answer.text
        return dict(answer.json())

    def pull(self, consent_id: str, token: str | None = None) -> Any:
        return self.wallet.get(f"/consents/{consent_id}/documents", token or self.token())

    def pulled(self, consent_id: str) -> list[dict[str, Any]]:
        answer = self.pull(consent_id)
        assert answer.status_code == 200, answer.text
        return list(answer.json()["items"])

    def file(self, consent_id: str, document_id: str, file_id: str, token: str | None = None) -> Any:
        path = f"/consents/{consent_id}/documents/{document_id}/files/{file_id}"
        return self.wallet.get(path, token or self.token())


def make_agency(wallet: Wallet, scopes: tuple[str, ...] = BOTH_SCOPES, name: str = "Công an TP Đà Nẵng") -> Agency:
    container = container_of(wallet.app.state)
    code = f"CA-{next(_codes)}"
    with transaction(container.engine) as session:
        creds = AccountService(session, container.identity).create_agency(code, name, scopes)
    return Agency(wallet, code, name, creds.client_id, creds.client_secret, scopes)


def officer_token(wallet: Wallet, agency: Agency) -> str:
    """A new officer of `agency`, logged in by phone + PIN + the SMS code."""
    container = container_of(wallet.app.state)
    phone, pin = make_phone(), "135790"
    with transaction(container.engine) as session:
        AccountService(session, container.identity).create_officer(
            phone=phone, name="Trần Thị Bích", agency_code=agency.code, pin=pin
        )
    challenge = wallet.post("/auth/login", {"phone": phone, "pin": pin})
    assert challenge.status_code == 202, challenge.text
    code = last_code(wallet.outbox, to=e164(phone))
    tokens = wallet.post("/auth/otp/verify", {"challenge_id": challenge.json()["challenge_id"], "code": code})
    assert tokens.status_code == 200, tokens.text
    return str(tokens.json()["access_token"])


@dataclass
class Citizen:
    wallet: Wallet
    data: dict[str, Any]
    token: str
    id: str
    documents: dict[str, dict[str, Any]] = field(default_factory=dict)  # by a test name: "cccd", "diploma"...
    setup_entries: int = 0  # access-log entries of the setup (the counter proofing's scan), left out of access_log()

    @property
    def national_id(self) -> str:
        return str(self.data["national_id"])

    def relogin(self) -> str:
        self.token = str(relogin(self.wallet, self.data)["access_token"])
        return self.token

    def add(self, name: str, doc_type: str, fields: dict[str, Any], files: list[tuple[str, bytes]]) -> dict[str, Any]:
        answer = upload(self.wallet, self.token, doc_type, fields, files)
        assert answer.status_code == 201, answer.text
        self.documents[name] = dict(answer.json())
        return self.documents[name]

    def requests(self, **params: Any) -> list[dict[str, Any]]:
        answer = self.wallet.get("/me/consent-requests", self.token, params=params)
        assert answer.status_code == 200, answer.text
        return list(answer.json()["items"])

    def approve(self, request_id: str, **body: Any) -> Any:
        return self.wallet.post(f"/me/consent-requests/{request_id}/approve", body, self.token)

    def approved(self, request_id: str, **body: Any) -> dict[str, Any]:
        answer = self.approve(request_id, **body)
        assert answer.status_code == 200, answer.text
        return dict(answer.json()["consent"])

    def deny(self, request_id: str) -> Any:
        return self.wallet.post(f"/me/consent-requests/{request_id}/deny", None, self.token)

    def consents(self) -> list[dict[str, Any]]:
        answer = self.wallet.get("/me/consents", self.token)
        assert answer.status_code == 200, answer.text
        return list(answer.json()["items"])

    def revoke(self, consent_id: str) -> Any:
        return self.wallet.post(f"/me/consents/{consent_id}/revoke", None, self.token)

    def access_log(self) -> list[dict[str, Any]]:
        """The entries since the setup, newest first."""
        answer = self.wallet.get("/me/access-log", self.token, params={"limit": 100})
        assert answer.status_code == 200, answer.text
        items = list(answer.json()["items"])
        return items[: len(items) - self.setup_entries]


def make_citizen(wallet: Wallet, *, papers: bool = True, proofed: bool = True) -> Citizen:
    """A registered citizen (logged in now), proofed to level 2 at a counter unless told otherwise, holding, unless
    told otherwise, a CCCD with a PNG scan and a diploma with a PDF."""
    data, tokens = wallet.register(proofed=proofed)
    token = str(tokens["access_token"])
    citizen_id = str(jwt.decode(token, options={"verify_signature": False})["sub"])
    citizen = Citizen(wallet, data, token, citizen_id)
    citizen.setup_entries = len(citizen.access_log())
    if papers:
        citizen.add("cccd", "cccd", cccd_fields(data), [("cccd-mat-truoc.png", png_bytes("front"))])
        citizen.add("diploma", "diploma", diploma_fields(), [("bang.pdf", pdf_bytes("diploma"))])
    return citizen
