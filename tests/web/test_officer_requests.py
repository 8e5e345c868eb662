"""Papers at the counter in a real browser (issue 12, deliverable 3): an officer of the passport office, from a QR
scan, asks for exactly the passport procedure's papers; the citizen approves (or denies) on the phone in another
browser context; the officer's waiting page shows the papers without a reload (htmx polling), or after `Tải lại`
without JavaScript; the officer files the dossier at the counter, which reaches the citizen's dossiers and the
agency's inbox; every read is in the citizen's access log naming the officer. Both languages, phone and desktop.

The passport office (`ca_xnc`, the agency the procedure names) may already exist on this server (other modules make
it too): it is made once with the consent scopes, or given them."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect
from sqlmodel import select

from bench.papers import birth_certificate_fields, cccd_fields, passport_fields, small_pdf
from identity.models import Agency
from storage.db import create_db_engine, sqlite_url, transaction
from tests.integration.wallet_helpers import png_bytes
from tests.web.conftest import Person, check_page, new_context, registered, signed_in
from tests.web.server import WebServer
from tests.web.world import AgencyClient, Staff, bearer, new_staff, ok, staff_signed_in

OFFICE = "ca_xnc"
SCOPES = ("consent:request", "consent:read", "applications:process")
PASSPORT_VI = "Cấp hộ chiếu phổ thông ở trong nước"
PASSPORT_EN = "Issuance of an ordinary passport in Vietnam"
PURPOSE = f"Nộp hồ sơ “{PASSPORT_VI}” (mã thủ tục passport_issue) tại quầy"
OFFICER = "Lê Văn Tâm"
DOSSIER_CODE = re.compile(r"HS-\d{8}-[A-Z0-9]{6}")
DESKTOP = {"width": 1280, "height": 800}


# -- the world ---------------------------------------------------------------------------------------------------------
def passport_office(web: WebServer) -> AgencyClient:
    """The agency the passport procedure names, holding the consent scopes (given them if another module made it)."""
    cli = Path(sys.executable).with_name("congdanso")
    args = ["agency", "create", "--code", OFFICE, "--name", "Phòng Quản lý xuất nhập cảnh", "--scopes", *SCOPES]
    subprocess.run(
        [str(cli), *args, "--json"], env={"PATH": "/usr/bin:/bin"} | web.env, capture_output=True, check=False
    )
    engine = create_db_engine(sqlite_url(web.data_dir / "wallet.db"), pool_size=1)
    try:
        with transaction(engine) as session:
            agency = session.exec(select(Agency).where(Agency.code == OFFICE)).one()
            agency.scopes = " ".join(sorted(set(agency.scopes.split()) | set(SCOPES)))
            session.add(agency)
            name = agency.name
    finally:
        engine.dispose()
    return AgencyClient(OFFICE, name, "", "")


@pytest.fixture(scope="module")
def staff(web: WebServer) -> Staff:
    return new_staff(web, passport_office(web), name=OFFICER)


def api(web: WebServer, method: str, path: str, token: str, status: int = 200, **kw: Any) -> dict[str, Any]:
    with web.api() as client:
        return ok(client.request(method, path, headers=bearer(token), **kw), status)


def upload(web: WebServer, person: Person, type_code: str, fields: dict[str, Any], file: tuple[str, bytes]) -> None:
    data = {"type": type_code, "fields": json.dumps(fields, ensure_ascii=False)}
    files = [("file", (file[0], file[1], "application/octet-stream"))]
    api(web, "POST", "/documents", person.token, 201, data=data, files=files)


def citizen_at_counter(web: WebServer, staff: Staff) -> tuple[Person, str]:
    """A proofed citizen holding the papers the passport form reads, and a fresh scan of their QR (its presence)."""
    person = registered(web)
    upload(web, person, "cccd", cccd_fields(person.data), ("cccd.png", png_bytes("front", size=64)))
    upload(web, person, "birth_certificate", birth_certificate_fields(person.data), ("ks.pdf", small_pdf("ks")))
    upload(web, person, "passport", passport_fields(person.data), ("hc.pdf", small_pdf("hc")))
    qr = api(web, "GET", "/me/qr", person.token)["token"]
    scan = api(web, "POST", "/verify/qr", staff.token, json={"token": qr})
    api(web, "POST", "/identity/proofings", staff.token, 201, json={"presence_id": scan["presence_id"]})
    qr = api(web, "GET", "/me/qr", person.token)["token"]
    return person, str(api(web, "POST", "/verify/qr", staff.token, json={"token": qr})["presence_id"])


def ask_for_passport_papers(page: Page, presence: str, *, english: bool = False, name: str = "") -> str:
    page.goto(f"/officer/requests/new?presence={presence}" + ("&lang=en" if english else ""))
    page.get_by_role("radio", name=PASSPORT_EN if english else PASSPORT_VI).check()
    page.get_by_role("button", name="Send the request" if english else "Gửi yêu cầu").click()
    expect(page).to_have_url(re.compile(r"/officer/requests/[^/?]+$"))
    if name:
        check_page(page, name)
    return page.url.rsplit("/", 1)[1]


def sharing_card(page: Page, agency: str) -> Any:
    return page.get_by_role("listitem").filter(has=page.get_by_role("heading", name=agency, exact=True))


def check_the_papers(page: Page, person: Person) -> None:
    """The shared papers by their catalog labels, the ID card's scan inline, the birth certificate's few fields."""
    expect(page.get_by_role("heading", name="Giấy tờ được chia sẻ")).to_be_visible()
    card_id = page.get_by_role("listitem").filter(has=page.get_by_role("heading", name="Căn cước công dân"))
    expect(card_id.get_by_text(person.data["full_name"], exact=True).first).to_be_visible()
    expect(card_id.get_by_role("img", name=re.compile("Bản quét"))).to_be_visible()
    expect(card_id.get_by_role("link", name=re.compile("Mở bản quét cccd.png"))).to_be_visible()
    birth = page.get_by_role("listitem").filter(has=page.get_by_role("heading", name="Giấy khai sinh"))
    expect(birth.get_by_text("Chỉ một số thông tin của giấy tờ này được chia sẻ")).to_be_visible()
    check_page(page, "officer-requests-approved")
    page.goto(page.url + "?lang=en")  # the same papers in English
    expect(page.get_by_role("heading", name="Papers shared")).to_be_visible()
    expect(page.get_by_role("radio", name="First passport")).to_be_visible()
    check_page(page, "officer-requests-approved")
    page.goto(page.url.split("?")[0] + "?lang=vi")


def check_what_was_filed(web: WebServer, staff: Staff, person: Person, code: str) -> None:
    """The dossier in the citizen's dossiers and the agency's inbox, due, filed by the officer at the counter; the
    officer's reads in the citizen's access log with the officer's name."""
    dossiers = api(web, "GET", "/applications", person.token)["items"]
    filed = next(d for d in dossiers if d["dossier_code"] == code)
    assert filed["status"] == "submitted" and filed["due_at"], filed
    inbox = api(web, "GET", "/agency/applications", staff.token)["items"]
    assert filed["id"] in {d["id"] for d in inbox}
    dossier = api(web, "GET", f"/applications/{filed['id']}", person.token)
    history = dossier["history"]
    assert [(e["status"], e["actor"]["type"]) for e in history] == [("draft", "officer"), ("submitted", "officer")]
    assert OFFICER in history[-1]["note"]
    assert dossier["fields"]["full_name"] == person.data["full_name"] and dossier["fields"]["request_kind"] == "lan_dau"
    log = api(web, "GET", "/me/access-log", person.token)["items"]
    reads = [e for e in log if e["action"] in ("consent_pull", "consent_file")]
    assert {e["action"] for e in reads} == {"consent_pull", "consent_file"}
    assert all(e["actor"]["person"] == OFFICER and e["actor"]["type"] == "officer" for e in reads), reads


# -- the tests ---------------------------------------------------------------------------------------------------------
class TestPapersAtTheCounter:
    def test_approved_on_the_phone_the_papers_appear_and_the_dossier_is_filed(
        self, browser: Browser, page: Page, context: BrowserContext, web: WebServer, staff: Staff
    ) -> None:
        person, presence = citizen_at_counter(web, staff)
        staff_signed_in(context, web, staff)
        page.goto(f"/officer/requests/new?presence={presence}")
        expect(page.get_by_role("heading", level=1)).to_have_text("Yêu cầu giấy tờ cho thủ tục")
        nav = page.get_by_role("navigation").get_by_role("link", name="Yêu cầu chia sẻ")
        expect(nav).to_have_attribute("aria-current", "page")
        check_page(page, "officer-requests-new")
        ask_for_passport_papers(page, presence)
        expect(page.get_by_text("Đang chờ công dân đồng ý", exact=True)).to_be_visible()
        expect(page.get_by_role("link", name="Tải lại")).to_be_visible()
        check_page(page, "officer-requests-pending")
        page.evaluate("window.stillTheSamePage = true")  # gone if the page reloads

        phone = new_context(browser, web)
        try:
            signed_in(phone, web, person)
            mine = phone.new_page()
            mine.goto("/sharing")
            card = sharing_card(mine, staff.agency.name)
            expect(card.get_by_text(PURPOSE, exact=True)).to_be_visible()
            card.get_by_role("button", name="Đồng ý").click()
            expect(mine.get_by_role("status")).to_contain_text("Bạn đã đồng ý")

            expect(page.get_by_text("Đã đồng ý", exact=True)).to_be_visible(timeout=15_000)
            assert page.evaluate("window.stillTheSamePage === true"), "the page reloaded"
            check_the_papers(page, person)
            page.get_by_role("radio", name="Cấp hộ chiếu lần đầu").check()
            page.get_by_role("button", name="Nộp hồ sơ tại quầy").click()
            expect(page.get_by_role("status")).to_contain_text(DOSSIER_CODE)
            code = DOSSIER_CODE.search(page.get_by_role("status").inner_text())
            assert code is not None
            check_page(page, "officer-requests-filed")

            mine.goto("/services")
            expect(mine.get_by_text(code.group(0))).to_be_visible()
            mine.goto("/access-log")
            expect(mine.get_by_text(f"cán bộ {OFFICER}").first).to_be_visible()
        finally:
            phone.close()

        check_what_was_filed(web, staff, person, code.group(0))
        page.goto("/officer/requests")
        row = page.get_by_role("row").filter(has_text=PASSPORT_VI).first
        expect(row).to_contain_text("Đã đồng ý")
        expect(row).to_contain_text(re.compile(r"\*{8}\d{4}"))
        check_page(page, "officer-requests-list")

    def test_denied_in_english_on_a_desktop(self, browser: Browser, web: WebServer, staff: Staff) -> None:
        person, presence = citizen_at_counter(web, staff)
        desk = new_context(browser, web, viewport=DESKTOP)
        phone = new_context(browser, web)
        try:
            staff_signed_in(desk, web, staff)
            page = desk.new_page()
            page.goto(f"/officer/requests/new?presence={presence}&lang=en")
            expect(page.get_by_role("heading", level=1)).to_have_text("Request papers for a procedure")
            check_page(page, "officer-requests-new-desktop")
            page.get_by_role("button", name="Send the request").click()  # no procedure chosen
            expect(page).to_have_title(re.compile(r"^Error: "))
            summary = page.get_by_role("alert")
            expect(summary).to_contain_text("Choose a procedure")
            expect(summary).to_be_focused()
            check_page(page, "officer-requests-new-error")
            page.get_by_role("radio", name=PASSPORT_EN).focus()  # by keyboard: the choice, then the button
            page.keyboard.press("Space")
            page.get_by_role("button", name="Send the request").focus()
            page.keyboard.press("Enter")
            expect(page.get_by_text("Waiting for the citizen's approval", exact=True)).to_be_visible()
            check_page(page, "officer-requests-pending-desktop")

            signed_in(phone, web, person)
            mine = phone.new_page()
            mine.goto("/sharing")
            sharing_card(mine, staff.agency.name).get_by_role("button", name="Từ chối").click()
            expect(mine.get_by_role("status")).to_contain_text("Bạn đã từ chối")

            expect(page.get_by_text("Denied", exact=True)).to_be_visible(timeout=15_000)
            expect(page.get_by_text("nothing was shared")).to_be_visible()
            check_page(page, "officer-requests-denied-desktop")
            page.goto("/officer/requests")
            expect(page.get_by_role("row").filter(has_text="Denied").first).to_be_visible()
            check_page(page, "officer-requests-list-desktop")
            page.goto("/officer/requests?lang=vi")
            expect(page.get_by_text("Đã từ chối", exact=True).first).to_be_visible()
        finally:
            desk.close()
            phone.close()

    def test_without_javascript_refresh_then_file_with_an_answer_missing(
        self, browser: Browser, web: WebServer, staff: Staff
    ) -> None:
        person, presence = citizen_at_counter(web, staff)
        desk = new_context(browser, web, javascript=False)
        try:
            staff_signed_in(desk, web, staff)
            page = desk.new_page()
            request_id = ask_for_passport_papers(page, presence, english=True)  # axe needs JavaScript: no check_page
            expect(page.get_by_text("Waiting for the citizen's approval", exact=True)).to_be_visible()
            pending = api(web, "GET", "/me/consent-requests?status=pending", person.token)["items"]
            assert [p["purpose"] for p in pending] == [PURPOSE]
            approve = f"/me/consent-requests/{pending[0]['id']}/approve"
            api(web, "POST", approve, person.token, json={})
            page.get_by_role("link", name="Refresh").click()
            expect(page.get_by_text("Approved", exact=True)).to_be_visible()
            expect(page.get_by_role("heading", name="Papers shared")).to_be_visible()

            page.get_by_role("button", name="File the dossier at the counter").click()  # the request not chosen
            expect(page).to_have_title(re.compile(r"^Error: "))
            expect(page.get_by_role("alert")).to_contain_text("Choose “Request”")
            page.get_by_role("radio", name="First passport").check()
            page.get_by_role("button", name="File the dossier at the counter").click()
            expect(page.get_by_role("status")).to_contain_text(DOSSIER_CODE)
            expect(page).to_have_url(re.compile(rf"/officer/requests/{request_id}\?filed="))
        finally:
            desk.close()
        dossiers = api(web, "GET", "/applications", person.token)["items"]
        assert [d["status"] for d in dossiers] == ["submitted"]
