"""Sharing in a real browser (UI.md: "Sharing"): an agency made with the `congdanso` CLI asks through the API for a
proofed citizen's papers; the citizen reads the request worded exactly, approves (with a fresh code when the login is
over 5 minutes old) or denies, and revokes, after which the agency's next pull is refused. Also without JavaScript.

The helpers here (CLI-made agencies and officers, proofing, papers through the API) serve the access-log and
notification tests too."""

from __future__ import annotations

import itertools
import json
import os
import re
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pyotp
import pytest
from playwright.sync_api import Browser, BrowserContext, Locator, Page, expect
from sqlmodel import col, select

from identity.models import AuthSession
from identity.notices import VIETNAM
from storage.db import create_db_engine, sqlite_url, transaction
from tests.factories import make_phone
from tests.integration.wallet_helpers import cccd_fields, diploma_fields, pdf_bytes, png_bytes
from tests.web.conftest import Person, check_page, new_context, registered, signed_in
from tests.web.server import WebServer

PURPOSE = "Cấp hộ chiếu phổ thông lần đầu theo hồ sơ số 000.00.20.H17-261124-0001 (đợt 2/2026)"
_codes = itertools.count(1)


# -- the other side: agencies and officers made with the operator's CLI, acting through the API --
def congdanso(web: WebServer, *args: str) -> dict[str, Any]:
    """The operator's CLI on the server's data directory; its JSON answer."""
    cli = Path(sys.executable).with_name("congdanso")
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin")} | web.env
    done = subprocess.run(
        [str(cli), *args, "--json"], env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    answer: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return answer


@dataclass
class Agency:
    web: WebServer
    code: str
    name: str
    client_id: str
    client_secret: str

    def token(self) -> str:
        form = {"grant_type": "client_credentials", "client_id": self.client_id, "client_secret": self.client_secret}
        with self.web.api() as api:
            answer = api.post("/oauth/token", data=form)
        assert answer.status_code == 200, answer.text
        return str(answer.json()["access_token"])

    def call(self, method: str, path: str, **kw: Any) -> httpx.Response:
        with self.web.api() as api:
            return api.request(method, path, headers={"Authorization": f"Bearer {self.token()}"}, **kw)

    def ask(self, person: Person, **body: Any) -> str:
        """A consent request for the person's papers; its id."""
        payload = {"national_id": person.national_id, "document_types": ["cccd"], "purpose": PURPOSE} | body
        answer = self.call("POST", "/consent-requests", json=payload)
        assert answer.status_code == 201, answer.text
        return str(answer.json()["id"])

    def consent_of(self, request_id: str) -> str:
        answer = self.call("GET", f"/consent-requests/{request_id}")
        assert answer.status_code == 200 and answer.json()["status"] == "approved", answer.text
        return str(answer.json()["consent_id"])

    def pull(self, consent_id: str) -> httpx.Response:
        return self.call("GET", f"/consents/{consent_id}/documents")


def new_agency(web: WebServer, name: str, *scopes: str) -> Agency:
    code = f"W{next(_codes)}-{make_phone()[-4:]}"
    made = congdanso(web, "agency", "create", "--code", code, "--name", name, "--scopes", *scopes)
    return Agency(web, code, name, made["client_id"], made["client_secret"])


@dataclass
class Officer:
    web: WebServer
    agency: Agency
    phone: str
    pin: str
    _token: tuple[str, float] | None = None

    def token(self) -> str:
        """Signed in by phone + PIN + the SMS code, again once the access token nears its 15 minutes (a long test
        session outlives one login; signing in for every call would spend the phone's 5 codes a quarter hour)."""
        if self._token is None or time.monotonic() - self._token[1] > 10 * 60:
            self._token = (self._sign_in(), time.monotonic())
        return self._token[0]

    def _sign_in(self) -> str:
        with self.web.api() as api:
            challenge = api.post("/auth/login", json={"phone": self.phone, "pin": self.pin})
            assert challenge.status_code == 202, challenge.text
            code = self.web.code_for(self.phone)
            tokens = api.post("/auth/otp/verify", json={"challenge_id": challenge.json()["challenge_id"], "code": code})
        assert tokens.status_code == 200, tokens.text
        return str(tokens.json()["access_token"])

    def proof(self, person: Person) -> None:
        """The counter's identity check: the citizen's QR scanned, the card checked, level 2 recorded."""
        officer = {"Authorization": f"Bearer {self.token()}"}
        with self.web.api() as api:
            qr = api.get("/me/qr", headers={"Authorization": f"Bearer {person.token}"})
            scan = api.post("/verify/qr", json={"token": qr.json()["token"]}, headers=officer)
            assert scan.status_code == 200 and scan.json()["valid"], scan.text
            proofing = api.post(
                "/identity/proofings", json={"presence_id": scan.json()["presence_id"]}, headers=officer
            )
        assert proofing.status_code == 201, proofing.text


def new_officer(web: WebServer, agency: Agency) -> Officer:
    phone, pin = make_phone(), "135790"
    congdanso(
        web, "officer", "create", "--phone", phone, "--name", "Trần Thị Bích", "--agency", agency.code, "--pin", pin
    )
    return Officer(web, agency, phone, pin)


@pytest.fixture(scope="session")
def counter(web: WebServer) -> Officer:
    return new_officer(web, new_agency(web, "Bộ phận một cửa UBND phường Hải Châu"))


@pytest.fixture(scope="session")
def police(web: WebServer) -> Agency:
    return new_agency(web, "Công an thành phố Đà Nẵng", "consent:request", "consent:read")


# -- the citizen's side through the API --
def add_paper(web: WebServer, person: Person, doc_type: str, fields: dict[str, Any], file: tuple[str, bytes]) -> str:
    with web.api() as api:
        answer = api.post(
            "/documents",
            data={"type": doc_type, "fields": json.dumps(fields, ensure_ascii=False)},
            files=[("file", (file[0], file[1], "application/octet-stream"))],
            headers={"Authorization": f"Bearer {person.token}"},
        )
    assert answer.status_code == 201, answer.text
    return str(answer.json()["id"])


def proofed_citizen(web: WebServer, counter: Officer) -> Person:
    """A citizen at level 2 holding a CCCD and two diplomas."""
    person = registered(web)
    counter.proof(person)
    add_paper(web, person, "cccd", cccd_fields(person.data), ("cccd.png", png_bytes("front")))
    add_paper(web, person, "diploma", diploma_fields(), ("bang-cu-nhan.pdf", pdf_bytes("bachelor")))
    master = diploma_fields(title="Bằng thạc sĩ", serial_number="DN-2019-000777", issue_date="2019-06-30")
    add_paper(web, person, "diploma", master, ("bang-thac-si.pdf", pdf_bytes("master")))
    return person


def age_login(web: WebServer, person: Person, minutes: int = 10) -> None:
    """Make the person's login `minutes` old (as if signed in earlier): their next approval needs a fresh code."""
    assert person.tokens is not None
    engine = create_db_engine(sqlite_url(web.data_dir / "wallet.db"), pool_size=1)
    try:
        with transaction(engine) as session:
            query = select(AuthSession).where(col(AuthSession.subject_id) == person.tokens["citizen_id"])
            for login in session.exec(query):
                login.auth_time = datetime.now(UTC) - timedelta(minutes=minutes)
                session.add(login)
    finally:
        engine.dispose()


def enrol_authenticator(web: WebServer, person: Person) -> str:
    """An authenticator app set up through the API (behind an SMS step-up code); its secret."""
    headers = {"Authorization": f"Bearer {person.token}"}
    with web.api() as api:
        challenge = api.post("/auth/otp/send", headers=headers).json()["challenge_id"]
        step_up = {"code": web.code_for(person.phone), "challenge_id": challenge}
        secret = str(api.post("/auth/totp/enroll", json=step_up, headers=headers).json()["secret"])
        confirmed = api.post("/auth/totp/confirm", json={"code": pyotp.TOTP(secret).now()}, headers=headers)
    assert confirmed.status_code == 200, confirmed.text
    return secret


def request_card(page: Page, agency: str) -> Locator:
    return page.get_by_role("listitem").filter(has=page.get_by_role("heading", name=agency, exact=True))


def until_day(days: int) -> str:
    return (datetime.now(UTC) + timedelta(days=days)).astimezone(VIETNAM).strftime("%d/%m/%Y")


# -- the tests --
class TestPendingRequest:
    def test_it_is_worded_exactly_in_vietnamese_and_english(
        self, page: Page, context: BrowserContext, web: WebServer, counter: Officer, police: Agency
    ) -> None:
        person = proofed_citizen(web, counter)
        fields = {"cccd": ["full_name", "date_of_birth"]}
        police.ask(person, document_types=["cccd", "diploma"], fields=fields, valid_days=30)
        signed_in(context, web, person)
        page.goto("/sharing")
        card = request_card(page, police.name)
        expect(card.get_by_text(PURPOSE, exact=True)).to_be_visible()
        expect(card.get_by_text("Căn cước công dân: chỉ Họ và tên, Ngày sinh (không kèm bản quét)")).to_be_visible()
        expect(card.get_by_text("Văn bằng, chứng chỉ: toàn bộ thông tin, kèm bản quét", exact=True)).to_be_visible()
        expect(card.get_by_text(re.compile(rf"30 ngày kể từ khi bạn đồng ý: đến ngày {until_day(30)}"))).to_be_visible()
        expect(card.get_by_text("Trực tuyến")).to_be_visible()
        mine = card.get_by_role("group", name=re.compile("Văn bằng, chứng chỉ"))
        expect(mine.get_by_role("checkbox")).to_have_count(2)  # two diplomas: the citizen chooses
        expect(card.get_by_role("button", name="Đồng ý")).to_be_visible()
        expect(card.get_by_role("button", name="Từ chối")).to_be_visible()
        expect(card.get_by_label("Mã xác thực")).to_have_count(0)  # signed in a moment ago: no code asked
        nav = page.get_by_role("navigation").get_by_role("link", name="Chia sẻ")
        expect(nav).to_have_attribute("aria-current", "page")
        check_page(page, "sharing-pending")
        page.goto("/sharing?lang=en")
        card = request_card(page, police.name)
        expect(card.get_by_text(PURPOSE, exact=True)).to_be_visible()
        expect(card.get_by_text("Citizen identity card: only Full name, Date of birth (no scans)")).to_be_visible()
        expect(card.get_by_text(re.compile(rf"30 days from your approval: until {until_day(30)}"))).to_be_visible()
        expect(card.get_by_role("button", name="Approve")).to_be_visible()
        expect(card.get_by_role("button", name="Deny")).to_be_visible()
        check_page(page, "sharing-pending")

    def test_approve_the_agency_pulls_only_what_was_chosen_then_revoke(
        self, page: Page, context: BrowserContext, web: WebServer, counter: Officer, police: Agency
    ) -> None:
        person = proofed_citizen(web, counter)
        asked = police.ask(person, document_types=["cccd", "diploma"], fields={"cccd": ["full_name"]})
        signed_in(context, web, person)
        page.goto("/sharing")
        card = request_card(page, police.name)
        card.get_by_role("checkbox", name=re.compile("Bằng thạc sĩ")).uncheck()
        card.get_by_role("button", name="Đồng ý").click()
        expect(page.get_by_role("status")).to_contain_text("Bạn đã đồng ý")
        active = request_card(page, police.name)
        expect(active.get_by_role("button", name="Thu hồi")).to_be_visible()
        expect(active.get_by_text(PURPOSE, exact=True)).to_be_visible()
        check_page(page, "sharing-active")

        consent = police.consent_of(asked)
        pulled = police.pull(consent)
        assert pulled.status_code == 200, pulled.text
        papers = {item["type"]: item for item in pulled.json()["items"]}
        assert set(papers) == {"cccd", "diploma"} and len(pulled.json()["items"]) == 2
        assert set(papers["cccd"]["fields"]) == {"full_name"}
        assert papers["diploma"]["fields"]["title"] == "Bằng cử nhân"  # the master's degree was unticked

        active.get_by_role("button", name="Thu hồi").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Thu hồi sự đồng ý?")
        check_page(page, "sharing-revoke")
        page.get_by_role("button", name="Xác nhận").click()
        expect(page.get_by_role("status")).to_contain_text("Bạn đã thu hồi sự đồng ý")
        expect(page.get_by_role("button", name="Thu hồi")).to_have_count(0)
        expect(page.get_by_text("Đã thu hồi", exact=True)).to_be_visible()
        refused = police.pull(consent)
        assert refused.status_code == 403 and refused.json()["code"] == "consent_revoked", refused.text

    def test_deny(self, page: Page, context: BrowserContext, web: WebServer, counter: Officer, police: Agency) -> None:
        person = proofed_citizen(web, counter)
        asked = police.ask(person)
        signed_in(context, web, person)
        page.goto("/sharing")
        request_card(page, police.name).get_by_role("button", name="Từ chối").click()
        expect(page.get_by_role("status")).to_contain_text("Bạn đã từ chối")
        expect(page.get_by_text("Không có cơ quan nào đang đề nghị")).to_be_visible()
        expect(page.get_by_text("Đã từ chối", exact=True)).to_be_visible()
        assert police.call("GET", f"/consent-requests/{asked}").json()["status"] == "denied"


class TestFreshCode:
    def test_an_old_login_approves_with_the_code_sent_by_send_code(
        self, page: Page, context: BrowserContext, web: WebServer, counter: Officer, police: Agency
    ) -> None:
        person = proofed_citizen(web, counter)
        asked = police.ask(person)
        age_login(web, person)
        signed_in(context, web, person)
        page.goto("/sharing")
        card = request_card(page, police.name)
        card.get_by_role("button", name="Đồng ý").click()  # no code yet: refused, and said so
        expect(page).to_have_title(re.compile(r"^Lỗi: "))
        summary = page.get_by_role("alert")
        expect(summary).to_contain_text("Có lỗi cần sửa")
        expect(summary).to_be_focused()
        check_page(page, "sharing-code-error")
        summary.get_by_role("link").click()
        expect(page.get_by_label("Mã xác thực")).to_be_focused()
        request_card(page, police.name).get_by_role("button", name="Gửi mã").click()
        expect(page.get_by_role("status")).to_contain_text("Chúng tôi đã gửi mã")
        card = request_card(page, police.name)
        card.get_by_label("Mã xác thực").fill(web.code_for(person.phone))
        card.get_by_role("button", name="Đồng ý").click()
        expect(page.get_by_role("status")).to_contain_text("Bạn đã đồng ý")
        assert police.pull(police.consent_of(asked)).status_code == 200

    def test_a_wrong_code_is_refused_in_english(
        self, page: Page, context: BrowserContext, web: WebServer, counter: Officer, police: Agency
    ) -> None:
        person = proofed_citizen(web, counter)
        police.ask(person)
        age_login(web, person)
        signed_in(context, web, person)
        page.goto("/sharing?lang=en")
        request_card(page, police.name).get_by_role("button", name="Send code").click()
        expect(page.get_by_role("status")).to_contain_text("We sent a 6-digit code")
        card = request_card(page, police.name)
        card.get_by_label("Verification code").fill("000000" if web.code_for(person.phone) != "000000" else "111111")
        card.get_by_role("button", name="Approve").click()
        expect(page).to_have_title(re.compile(r"^Error: "))
        expect(page.get_by_role("alert")).to_contain_text("The code is not right")
        check_page(page, "sharing-code-error")

    def test_with_an_authenticator_app_the_code_comes_from_it(
        self, page: Page, context: BrowserContext, web: WebServer, counter: Officer, police: Agency
    ) -> None:
        person = proofed_citizen(web, counter)
        secret = enrol_authenticator(web, person)
        asked = police.ask(person)
        age_login(web, person)
        signed_in(context, web, person)
        page.goto("/sharing")
        card = request_card(page, police.name)
        expect(card.get_by_text("Tài khoản của bạn dùng ứng dụng xác thực")).to_be_visible()
        expect(card.get_by_role("button", name="Gửi mã")).to_have_count(0)  # no SMS: the app has the code
        totp = pyotp.TOTP(secret)
        card.get_by_label("Mã xác thực").fill(totp.generate_otp(totp.timecode(datetime.now(UTC)) + 1))
        card.get_by_role("button", name="Đồng ý").click()
        expect(page.get_by_role("status")).to_contain_text("Bạn đã đồng ý")
        assert police.pull(police.consent_of(asked)).status_code == 200


class TestIdentityLevel:
    def test_a_level_1_citizen_learns_how_to_reach_level_2(
        self, page: Page, context: BrowserContext, web: WebServer, police: Agency
    ) -> None:
        person = registered(web)
        add_paper(web, person, "cccd", cccd_fields(person.data), ("cccd.png", png_bytes("front")))
        asked = police.ask(person)
        signed_in(context, web, person)
        page.goto("/sharing")
        request_card(page, police.name).get_by_role("button", name="Đồng ý").click()
        alert = page.get_by_role("alert")
        expect(alert).to_contain_text("xác thực danh tính")
        expect(alert).to_contain_text("bộ phận một cửa")
        expect(alert).to_contain_text("VNeID")
        expect(alert.get_by_role("link")).to_have_attribute("href", "/account")
        check_page(page, "sharing-level-1")
        assert police.call("GET", f"/consent-requests/{asked}").json()["status"] == "pending"
        page.goto("/sharing?lang=en")
        request_card(page, police.name).get_by_role("button", name="Approve").click()
        expect(page.get_by_role("alert")).to_contain_text("one-stop counter")
        check_page(page, "sharing-level-1")


class TestWithoutJavaScript:
    def test_approve_with_a_code_and_revoke(
        self, browser: Browser, web: WebServer, counter: Officer, police: Agency
    ) -> None:
        person = proofed_citizen(web, counter)
        asked = police.ask(person, document_types=["diploma"])
        age_login(web, person)
        context = new_context(browser, web, javascript=False)
        try:
            signed_in(context, web, person)
            page = context.new_page()
            page.goto("/sharing")
            request_card(page, police.name).get_by_role("button", name="Gửi mã").click()
            expect(page.get_by_role("status")).to_contain_text("Chúng tôi đã gửi mã")
            card = request_card(page, police.name)
            card.get_by_label("Mã xác thực").fill(web.code_for(person.phone))
            card.get_by_role("button", name="Đồng ý").click()
            expect(page.get_by_role("status")).to_contain_text("Bạn đã đồng ý")
            consent = police.consent_of(asked)
            assert len(police.pull(consent).json()["items"]) == 2  # both diplomas: the default
            request_card(page, police.name).get_by_role("button", name="Thu hồi").click()
            page.get_by_role("button", name="Xác nhận").click()
            expect(page.get_by_role("status")).to_contain_text("Bạn đã thu hồi")
            assert police.pull(consent).json()["code"] == "consent_revoked"
        finally:
            context.close()
