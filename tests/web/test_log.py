"""The access log in a real browser (UI.md: "Access log"): a table of every access by someone else with the time (in
Vietnam's time), who (the agency's name, also for its officers), what in words and the purpose; narrowed by agency
and period with a plain GET form; a page at a time. Also without JavaScript."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import Browser, BrowserContext, Locator, Page, expect

from identity.notices import VIETNAM
from tests.web.conftest import Person, check_page, new_context, signed_in
from tests.web.server import WebServer
from tests.web.test_sharing import PURPOSE, Agency, Officer, new_agency, new_officer, proofed_citizen

PULL_VI = "Xem giấy tờ của bạn theo sự đồng ý của bạn"
PULL_EN = "Read your papers under your consent"


@pytest.fixture(scope="session")
def counter(web: WebServer) -> Officer:
    return new_officer(web, new_agency(web, "Bộ phận một cửa UBND phường Thạch Thang"))


@pytest.fixture(scope="session")
def police(web: WebServer) -> Agency:
    return new_agency(web, "Công an thành phố Đà Nẵng", "consent:request", "consent:read")


def shared_and_pulled(web: WebServer, counter: Officer, police: Agency) -> Person:
    """A proofed citizen (the counter's QR scan and proofing in the log) whose papers the police pulled once."""
    person = proofed_citizen(web, counter)
    asked = police.ask(person)
    with web.api() as api:
        approve = api.post(
            f"/me/consent-requests/{asked}/approve", json={}, headers={"Authorization": f"Bearer {person.token}"}
        )
    assert approve.status_code == 200, approve.text
    assert police.pull(police.consent_of(asked)).status_code == 200
    return person


def rows(page: Page) -> Locator:
    return page.get_by_role("table").get_by_role("row").filter(has=page.get_by_role("cell"))


def vietnam_now() -> list[str]:
    """The minute it is in Vietnam now, give or take one, as the log writes times."""
    now = datetime.now(UTC).astimezone(VIETNAM)
    return [(now + timedelta(minutes=m)).strftime("%d/%m/%Y %H:%M") for m in (-1, 0, 1)]


def today() -> str:
    return datetime.now(UTC).astimezone(VIETNAM).strftime("%d/%m/%Y")


class TestTheLog:
    def test_the_pull_with_the_agency_and_purpose_and_the_counters_visit(
        self, page: Page, context: BrowserContext, web: WebServer, counter: Officer, police: Agency
    ) -> None:
        person = shared_and_pulled(web, counter, police)
        signed_in(context, web, person)
        page.goto("/papers")
        page.get_by_role("navigation").get_by_role("link", name="Nhật ký truy cập").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Nhật ký truy cập")
        table = page.get_by_role("table")
        for header in ("Thời gian", "Ai", "Việc gì", "Mục đích"):
            expect(table.get_by_role("columnheader", name=header)).to_be_visible()
        expect(rows(page)).to_have_count(3)
        pull = rows(page).first  # newest first
        expect(pull.get_by_role("cell").nth(0)).to_have_accessible_name(re.compile(f"^({'|'.join(vietnam_now())})$"))
        expect(pull.get_by_role("cell").nth(1)).to_have_accessible_name(police.name)
        expect(pull.get_by_role("cell").nth(2)).to_have_accessible_name(PULL_VI)
        expect(pull.get_by_role("cell").nth(3)).to_have_accessible_name(PURPOSE)
        # the counter's officer acts in the name of their agency
        expect(rows(page).filter(has_text="Xác thực danh tính của bạn (mức 2)")).to_contain_text(counter.agency.name)
        expect(rows(page).filter(has_text="Quét mã QR định danh của bạn tại quầy")).to_contain_text(counter.agency.name)
        # and the log names the officer too (the audit chain's version 2)
        expect(rows(page).filter(has_text="Quét mã QR định danh của bạn tại quầy")).to_contain_text(
            "cán bộ Trần Thị Bích"
        )
        check_page(page, "access-log")
        page.goto("/access-log?lang=en")
        expect(rows(page).first).to_contain_text(PULL_EN)
        expect(page.get_by_role("table").get_by_role("columnheader", name="Purpose")).to_be_visible()
        check_page(page, "access-log")

    def test_the_agency_and_period_filters_narrow_it(
        self, page: Page, context: BrowserContext, web: WebServer, counter: Officer, police: Agency
    ) -> None:
        person = shared_and_pulled(web, counter, police)
        signed_in(context, web, person)
        page.goto("/access-log")
        agency = page.get_by_label("Cơ quan")
        expect(agency.get_by_role("option")).to_have_text(["Tất cả cơ quan", counter.agency.name, police.name])
        agency.select_option(label=police.name)
        page.get_by_role("button", name="Lọc").click()
        expect(rows(page)).to_have_count(1)
        expect(rows(page).first).to_contain_text(PULL_VI)
        expect(page.get_by_label("Cơ quan")).to_have_value(police.code)  # the form keeps the filter
        check_page(page, "access-log-filtered")
        tomorrow = (datetime.now(UTC).astimezone(VIETNAM) + timedelta(days=1)).strftime("%d/%m/%Y")
        page.get_by_label("Cơ quan").select_option(label="Tất cả cơ quan")
        page.get_by_label("Từ ngày").fill(tomorrow)
        page.get_by_role("button", name="Lọc").click()
        expect(page.get_by_text("Không có lần truy cập nào khớp với bộ lọc.")).to_be_visible()
        page.get_by_label("Từ ngày").fill(today())
        page.get_by_label("Đến ngày").fill(today())
        page.get_by_role("button", name="Lọc").click()
        expect(rows(page)).to_have_count(3)

    def test_a_wrong_date_is_summarised_and_shown_by_its_field(
        self, page: Page, context: BrowserContext, web: WebServer, counter: Officer, police: Agency
    ) -> None:
        person = shared_and_pulled(web, counter, police)
        signed_in(context, web, person)
        page.goto("/access-log")
        page.get_by_label("Từ ngày").fill("31/02/2026")
        page.get_by_label("Đến ngày").fill("01/01/2026")
        page.get_by_role("button", name="Lọc").click()
        expect(page).to_have_title(re.compile(r"^Lỗi: "))
        summary = page.get_by_role("alert")
        expect(summary).to_be_focused()
        summary.get_by_role("link", name="Nhập một ngày có thật, ví dụ 02/03/2026").click()
        expect(page.get_by_label("Từ ngày")).to_be_focused()
        check_page(page, "access-log-errors")
        page.get_by_label("Từ ngày").fill("02/01/2026")
        page.get_by_role("button", name="Lọc").click()
        expect(page.get_by_role("alert")).to_contain_text("Đến ngày phải bằng hoặc sau Từ ngày")
        page.goto("/access-log?lang=en&since=02%2F01%2F2026&until=01%2F01%2F2026")
        expect(page.get_by_role("alert")).to_contain_text("The end date must be the same as or after the start date")
        check_page(page, "access-log-errors")


class TestPages:
    def test_next_page_then_back_to_the_first(
        self, page: Page, context: BrowserContext, web: WebServer, counter: Officer, police: Agency
    ) -> None:
        person = shared_and_pulled(web, counter, police)
        asked = police.ask(person, purpose="Kiểm tra định kỳ")
        with web.api() as api:
            headers = {"Authorization": f"Bearer {person.token}"}
            assert api.post(f"/me/consent-requests/{asked}/approve", json={}, headers=headers).status_code == 200
        consent = police.consent_of(asked)
        for _ in range(25):  # with the first pull, the police's 26 entries
            assert police.pull(consent).status_code == 200
        signed_in(context, web, person)
        page.goto(f"/access-log?agency={police.code}")
        expect(rows(page)).to_have_count(25)
        page.get_by_role("link", name="Trang sau").click()
        expect(rows(page)).to_have_count(1)  # the police's 26 entries: 25, then 1
        expect(rows(page).first).to_contain_text(PURPOSE)  # the oldest: the first pull
        expect(page.get_by_label("Cơ quan")).to_have_value(police.code)
        expect(page.get_by_role("link", name="Trang sau")).to_have_count(0)
        check_page(page, "access-log-page-2")
        page.get_by_role("link", name="Trang đầu").click()
        expect(rows(page)).to_have_count(25)
        expect(rows(page).first).to_contain_text("Kiểm tra định kỳ")


class TestWithoutJavaScript:
    def test_filter_by_agency(self, browser: Browser, web: WebServer, counter: Officer, police: Agency) -> None:
        person = shared_and_pulled(web, counter, police)
        context = new_context(browser, web, javascript=False)
        try:
            signed_in(context, web, person)
            page = context.new_page()
            page.goto("/access-log")
            page.get_by_label("Cơ quan").select_option(label=counter.agency.name)
            page.get_by_role("button", name="Lọc").click()
            expect(rows(page)).to_have_count(2)
            expect(page).to_have_url(re.compile(rf"agency={re.escape(counter.agency.code)}"))
        finally:
            context.close()
