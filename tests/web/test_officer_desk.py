"""The dossier desk at /officer/dossiers (UI.md "One-stop counter and agency staff": Dossiers): the agency's dossiers
with their due dates, filtered by status, procedure and overdue; a dossier's values with their provenance, its papers
and history, opening it written in the citizen's access log with the officer's name; `Đang xử lý`, `Yêu cầu bổ sung`
and `Từ chối` behind a confirmation with a note; `Trả kết quả` issuing the signed result with its fields and a scan,
which lands in the citizen's wallet and verifies at the public verification page, its QR printable. Both languages,
a phone and a desktop, keyboard only for one action, and the actions without JavaScript.

Citizens, their papers and dossiers are made through the API (as test_services does); the officer acts through the
pages. A dossier is made overdue by moving its `due_at` into the past in the server's database: the server runs on the
real clock and has no clock to turn in tests, and waiting out the passport's 8 working days is not an option."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect
from sqlalchemy import create_engine, update

from forms.models import Application
from tests.web import test_services as services
from tests.web.conftest import Person, check_page, new_context, signed_in
from tests.web.server import WebServer
from tests.web.test_everywhere import tab_to
from tests.web.test_papers import png
from tests.web.test_services import (
    PASSPORT,
    PASSPORT_EN,
    PASSPORT_VI,
    Agencies,
    bearer,
    citizen,
    dossier_of,
    ok,
    submitted_by_api,
)
from tests.web.world import AgencyClient, Staff, new_staff, staff_signed_in

agencies = services.agencies  # the fixture: the passport office, an ID card issuer and a counter officer

OFFICER = "Lê Minh Khang"
DESKTOP = {"width": 1280, "height": 800}
NOTE_ASK = "Bổ sung ảnh chân dung nền trắng, chụp trong 6 tháng gần đây."
NOTE_REJECT = "Hồ sơ không thuộc thẩm quyền giải quyết của phòng."


@pytest.fixture(scope="module")
def officer(web: WebServer, agencies: Agencies) -> Staff:
    """An officer of the passport office (the `agencies` fixture made sure the office exists)."""
    return new_staff(web, AgencyClient("ca_xnc", "", "", ""), name=OFFICER)


def overdue(web: WebServer, application_id: str) -> None:
    """The dossier's due date a day ago, in the server's own database (see the module's docstring)."""
    engine = create_engine(f"sqlite:///{web.data_dir / 'wallet.db'}")
    with engine.begin() as connection:
        late = datetime.now(UTC) - timedelta(days=1)
        connection.execute(update(Application).where(Application.id == application_id).values(due_at=late))  # type: ignore[arg-type]
    engine.dispose()


def code_of(web: WebServer, person: Person, application_id: str) -> str:
    return str(dossier_of(web, person, application_id)["dossier_code"])


def access_log(web: WebServer, person: Person) -> list[dict[str, Any]]:
    with web.api() as api:
        return list(ok(api.get("/me/access-log", headers=bearer(person.token)))["items"])


def resubmit(web: WebServer, person: Person, application_id: str) -> None:
    with web.api() as api:
        ok(api.post(f"/applications/{application_id}/submit", headers=bearer(person.token)))


def staff_context(browser: Browser, web: WebServer, staff: Staff, **options: Any) -> BrowserContext:
    context = new_context(browser, web, **options)
    staff_signed_in(context, web, staff)
    return context


def filter_by(page: Page, *, status: str | None = None, procedure: str | None = None, late: bool = False) -> None:
    page.get_by_label("Trạng thái").select_option(label=status or "Mọi trạng thái")
    page.get_by_label("Thủ tục").select_option(label=procedure or "Mọi thủ tục")
    box = page.get_by_role("checkbox", name="Quá hạn")
    box.check() if late else box.uncheck()
    page.get_by_role("button", name="Lọc").click()


def row_of(page: Page, code: str) -> Any:
    return page.get_by_role("row").filter(has=page.get_by_role("link", name=code))


def see_the_list_and_filter(page: Page, web: WebServer, dossier: tuple[Person, str], late_code: str) -> None:
    person, application_id = dossier
    code = code_of(web, person, application_id)
    page.goto("/officer/dossiers")
    expect(page.get_by_role("heading", level=1)).to_have_text("Hồ sơ")
    row = row_of(page, code)
    expect(row).to_contain_text(PASSPORT_VI)
    expect(row).to_contain_text("Đã nộp")
    due = datetime.fromisoformat(str(dossier_of(web, person, application_id)["due_at"]))
    expect(row.locator("time").nth(1)).to_have_attribute("datetime", due.isoformat())
    expect(row).to_contain_text(re.compile(r"\*{8}\d{4}"))  # the citizen's ID number, masked
    expect(row_of(page, late_code)).to_contain_text("Quá hạn")  # overdue said in words
    expect(row).not_to_contain_text("Quá hạn")
    check_page(page, "officer-desk-list")

    filter_by(page, status="Đã có kết quả")
    expect(page.get_by_text("Không có hồ sơ nào khớp với bộ lọc.")).to_be_visible()
    filter_by(page, status="Đã nộp", procedure=PASSPORT_VI)
    expect(row_of(page, code)).to_be_visible()
    expect(page).to_have_url(re.compile(f"status=submitted&procedure={PASSPORT}"))
    filter_by(page, late=True)
    expect(row_of(page, late_code)).to_be_visible()
    expect(row_of(page, code)).to_have_count(0)
    check_page(page, "officer-desk-list-overdue")
    page.goto("/officer/dossiers?procedure=birth_registration")  # another agency's procedure: nothing of it
    expect(page.get_by_text("Không có hồ sơ nào khớp với bộ lọc.")).to_be_visible()


def open_the_dossier(page: Page, web: WebServer, person: Person, code: str) -> None:
    page.goto("/officer/dossiers")
    page.get_by_role("link", name=code).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Hồ sơ {code}")
    expect(page.get_by_text("Lấy từ ví: Căn cước công dân, có chữ ký số của cơ quan cấp").first).to_be_visible()
    expect(page.get_by_text("Công dân tự nhập").first).to_be_visible()
    expect(page.get_by_text("Hạn giải quyết")).to_be_visible()
    check_page(page, "officer-desk-dossier")
    opened = [e for e in access_log(web, person) if e["action"] == "dossier_read"]
    assert opened and opened[0]["actor"]["person"] == OFFICER, opened

    page.get_by_role("link", name="Giấy khai sinh").click()  # uploaded by the citizen, with its scan
    expect(page.get_by_role("heading", level=1)).to_have_text("Giấy khai sinh")
    scan = page.get_by_role("link", name=re.compile(r"^Mở .*\.pdf$"))
    expect(scan).to_be_visible()
    opened_scan = page.request.get(str(scan.get_attribute("href")))  # the officer's session, as the link opens it
    assert opened_scan.status == 200 and opened_scan.body().startswith(b"%PDF"), opened_scan.status
    check_page(page, "officer-desk-paper")
    page.get_by_role("link", name="Quay lại hồ sơ").click()


def move_and_ask_for_more(page: Page, web: WebServer, person: Person, application_id: str, mine: Page) -> None:
    page.get_by_role("button", name="Đang xử lý").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Bắt đầu xử lý hồ sơ này?")
    check_page(page, "officer-desk-confirm")
    page.get_by_role("button", name="Xác nhận").click()
    expect(page.get_by_role("status")).to_contain_text("đang xử lý")
    assert dossier_of(web, person, application_id)["status"] == "processing"

    page.get_by_role("button", name="Yêu cầu bổ sung").click()
    page.get_by_role("button", name="Xác nhận").click()
    expect(page).to_have_title(re.compile("^Lỗi: "))
    expect(page.get_by_role("alert")).to_contain_text("Nhập nội dung công dân cần bổ sung hoặc sửa")
    check_page(page, "officer-desk-confirm-error")
    page.get_by_label("Nội dung công dân cần bổ sung hoặc sửa").fill(NOTE_ASK)
    page.get_by_role("button", name="Xác nhận").click()
    expect(page.get_by_role("status")).to_contain_text("yêu cầu bổ sung")

    mine.goto(f"/applications/{application_id}")
    expect(mine.get_by_text(NOTE_ASK).first).to_be_visible()  # the citizen reads what to add
    resubmit(web, person, application_id)


def issue_the_result(page: Page, code: str) -> str:
    """Trả kết quả with its fields and a scan; the printable QR; returns the verification address."""
    page.reload()
    page.get_by_role("button", name="Trả kết quả").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Trả kết quả hồ sơ {code}")
    check_page(page, "officer-desk-result")
    page.get_by_label("Tên giấy tờ").fill("Quyết định cấp hộ chiếu phổ thông")
    page.get_by_label("Số quyết định").fill("12/QĐ-XNC")
    page.get_by_label("Bản quét kết quả đã ký").set_input_files(
        {"name": "ket-qua.png", "mimeType": "image/png", "buffer": png()}
    )
    page.get_by_role("button", name="Xác nhận").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Kết quả hồ sơ {code}")
    qr = page.get_by_role("img", name="Mã QR xác thực kết quả")
    expect(qr).to_be_visible()
    check_page(page, "officer-desk-issued")
    page.emulate_media(media="print")  # the QR and the code on one sheet, without the header and navigation
    expect(page.locator("header")).to_be_hidden()
    expect(qr).to_be_visible()
    expect(page.get_by_text(code).first).to_be_visible()
    height = page.evaluate("document.documentElement.scrollHeight")
    assert height < 1123, height  # one A4 sheet at 96 dpi
    page.emulate_media(media="screen")
    verify_url = page.get_by_role("link", name="Mở trang xác thực công khai").get_attribute("href")
    assert verify_url and "token=" in verify_url
    return verify_url


class TestDossierDesk:
    def test_list_filters_open_move_and_issue_the_result(
        self, browser: Browser, web: WebServer, agencies: Agencies, officer: Staff
    ) -> None:
        person = citizen(web, agencies)
        application_id = submitted_by_api(web, person)
        code = code_of(web, person, application_id)
        late_person = citizen(web, agencies)
        late_id = submitted_by_api(web, late_person)
        overdue(web, late_id)
        desk = staff_context(browser, web, officer)
        page = desk.new_page()
        home = new_context(browser, web)
        signed_in(home, web, person)
        mine = home.new_page()

        see_the_list_and_filter(page, web, (person, application_id), code_of(web, late_person, late_id))
        open_the_dossier(page, web, person, code)
        mine.goto("/access-log")  # the citizen sees who opened the dossier
        expect(mine.get_by_role("row").filter(has_text="Xem hồ sơ của bạn").first).to_contain_text(OFFICER)
        move_and_ask_for_more(page, web, person, application_id, mine)
        verify_url = issue_the_result(page, code)
        assert dossier_of(web, person, application_id)["status"] == "completed"
        mine.goto("/papers")
        expect(mine.get_by_role("link", name=re.compile("Kết quả giải quyết thủ tục hành chính"))).to_be_visible()
        mine.goto(verify_url)
        expect(mine.get_by_role("status")).to_contain_text("HỢP LỆ")
        expect(mine.get_by_text(code)).to_be_visible()
        home.close()
        desk.close()

    def test_keyboard_and_reject_in_english_on_a_desktop(
        self, browser: Browser, web: WebServer, agencies: Agencies, officer: Staff
    ) -> None:
        person = citizen(web, agencies)
        application_id = submitted_by_api(web, person)
        code = code_of(web, person, application_id)
        desk = staff_context(browser, web, officer, viewport=DESKTOP)
        page = desk.new_page()
        page.goto("/officer/dossiers?lang=en")
        expect(page.get_by_role("heading", level=1)).to_have_text("Dossiers")
        expect(row_of(page, code)).to_contain_text(PASSPORT_EN)
        check_page(page, "officer-desk-list-desktop")
        page.get_by_role("link", name=code).click()
        expect(page.get_by_role("heading", level=1)).to_have_text(f"Dossier {code}")
        check_page(page, "officer-desk-dossier-desktop")
        page.get_by_role("link", name="Birth certificate").click()
        check_page(page, "officer-desk-paper-desktop")

        page.goto(f"/officer/dossiers/{application_id}/result")
        expect(page.get_by_role("heading", level=1)).to_have_text(f"Issue the result of dossier {code}")
        check_page(page, "officer-desk-result-desktop")
        page.get_by_label("Decision number").fill("13/QĐ-XNC")
        page.get_by_role("button", name="Confirm").click()
        expect(page).to_have_title(re.compile("^Error: "))
        expect(page.get_by_role("alert").get_by_role("link", name=re.compile("Title"))).to_be_visible()
        check_page(page, "officer-desk-result-error-desktop")

        page.goto(f"/officer/dossiers/{application_id}")
        tab_to(page, "Processing")  # by keyboard alone: to the button, Enter, to Confirm, Enter
        page.keyboard.press("Enter")
        expect(page.get_by_role("heading", level=1)).to_have_text("Start processing this dossier?")
        check_page(page, "officer-desk-confirm-desktop")
        tab_to(page, "Confirm")
        page.keyboard.press("Enter")
        expect(page.get_by_role("status")).to_contain_text("now being processed")

        page.get_by_role("button", name="Reject").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Reject this dossier?")
        page.get_by_role("button", name="Confirm").click()
        expect(page).to_have_title(re.compile("^Error: "))
        expect(page.get_by_role("alert")).to_contain_text("There is a problem")
        check_page(page, "officer-desk-confirm-error-desktop")
        page.get_by_label("Reason for the refusal").fill(NOTE_REJECT)
        page.get_by_role("button", name="Confirm").click()
        expect(page.get_by_role("status")).to_contain_text("rejected")
        answer = dossier_of(web, person, application_id)
        assert answer["status"] == "rejected"
        assert answer["history"][-1]["note"] == NOTE_REJECT  # the citizen reads the reason
        desk.close()

    def test_the_actions_without_javascript(
        self, browser: Browser, web: WebServer, agencies: Agencies, officer: Staff
    ) -> None:
        """Ask for more, then (after the citizen resubmits) the result with a missing field then complete; in
        English. axe needs script, so the pages are checked in a second context with JavaScript on."""
        person = citizen(web, agencies)
        application_id = submitted_by_api(web, person)
        code = code_of(web, person, application_id)
        desk = staff_context(browser, web, officer, javascript=False)
        page = desk.new_page()
        page.goto(f"/officer/dossiers/{application_id}?lang=en")
        page.get_by_role("button", name="Ask for more").click()
        page.get_by_role("button", name="Confirm").click()
        expect(page).to_have_title(re.compile("^Error: "))
        expect(page.get_by_role("alert")).to_contain_text("Write what the citizen must add or correct")
        page.get_by_label("What the citizen must add or correct").fill(NOTE_ASK)
        page.get_by_role("button", name="Confirm").click()
        expect(page.get_by_role("status")).to_contain_text("asked for more")
        assert dossier_of(web, person, application_id)["history"][-1]["note"] == NOTE_ASK
        resubmit(web, person, application_id)

        page.reload()
        page.get_by_role("button", name="Issue result").click()
        expect(page.get_by_role("heading", level=1)).to_have_text(f"Issue the result of dossier {code}")
        page.get_by_label("Decision number").fill("13/QĐ-XNC")
        page.get_by_label("Scan of the signed result").set_input_files(
            {"name": "ket-qua.txt", "mimeType": "text/plain", "buffer": b"not a scan"}
        )
        page.get_by_role("button", name="Confirm").click()
        expect(page).to_have_title(re.compile("^Error: "))
        expect(page.get_by_role("alert").get_by_role("link", name=re.compile("Title"))).to_be_visible()
        page.get_by_label("Title").fill("Passport issuance decision")
        page.get_by_label("Scan of the signed result").set_input_files(
            {"name": "ket-qua.txt", "mimeType": "text/plain", "buffer": b"not a scan"}
        )
        page.get_by_role("button", name="Confirm").click()
        expect(page.get_by_role("alert")).to_contain_text("The scan must be a PDF, JPEG or PNG file")
        page.get_by_label("Scan of the signed result").set_input_files([])
        page.get_by_role("button", name="Confirm").click()
        expect(page.get_by_role("heading", level=1)).to_have_text(f"Result of dossier {code}")
        expect(page.get_by_role("img", name="Verification QR code of the result")).to_be_visible()
        assert dossier_of(web, person, application_id)["status"] == "completed"
        desk.close()

        seen = staff_context(browser, web, officer)
        issued = seen.new_page()
        issued.goto(f"/officer/dossiers/{application_id}/result/issued?lang=en")
        check_page(issued, "officer-desk-issued")
        seen.close()
