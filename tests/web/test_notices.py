"""Notifications in a real browser (UI.md: "Notifications"): newest first, the unread ones marked in words (a tag a
screen reader reads, not colour alone), the unread count in the navigation ("Thông báo (2)"), one marked read, all
marked read, a page at a time. Also without JavaScript.

The notices come from the domain as a person meets them: an agency (made with the CLI) issues a paper to a level-1
citizen, who is told it waits for them; then a counter officer verifies them, and they are told that too."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Locator, Page, expect

from tests.integration.wallet_helpers import diploma_fields
from tests.web.conftest import Person, check_page, new_context, registered, signed_in
from tests.web.server import WebServer
from tests.web.test_sharing import Agency, Officer, new_agency, new_officer

HELD = "Có giấy tờ đang chờ bạn"
LEVEL_2 = "Tài khoản đã được xác thực danh tính mức 2"


@pytest.fixture(scope="session")
def counter(web: WebServer) -> Officer:
    return new_officer(web, new_agency(web, "Bộ phận một cửa UBND phường Hòa Cường Bắc"))


@pytest.fixture(scope="session")
def university(web: WebServer) -> Agency:
    return new_agency(web, "Đại học Đà Nẵng", "documents:issue")


def issue(university: Agency, person: Person, **fields: Any) -> None:
    body = {"national_id": person.national_id, "type": "diploma", "fields": diploma_fields(**fields)}
    answer = university.call("POST", "/issuer/documents", json=body)
    assert answer.status_code == 201, answer.text


def told_twice(web: WebServer, counter: Officer, university: Agency) -> Person:
    """A paper held for a level-1 citizen (first notice), then their identity verified (second notice)."""
    person = registered(web)
    issue(university, person)
    counter.proof(person)
    return person


def notices(page: Page) -> Locator:
    return page.get_by_role("main").get_by_role("listitem")


def nav_link(page: Page, name: str) -> Locator:
    return page.get_by_role("navigation", name="Điều hướng chính").get_by_role("link", name=name, exact=True)


class TestInbox:
    def test_newest_first_unread_marked_and_counted_in_the_navigation(
        self, page: Page, context: BrowserContext, web: WebServer, counter: Officer, university: Agency
    ) -> None:
        person = told_twice(web, counter, university)
        signed_in(context, web, person)
        page.goto("/papers")
        nav_link(page, "Thông báo (2)").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Thông báo")
        expect(nav_link(page, "Thông báo (2)")).to_have_attribute("aria-current", "page")
        expect(notices(page)).to_have_count(2)
        expect(notices(page).get_by_role("heading")).to_have_text([f"Chưa đọc {LEVEL_2}", f"Chưa đọc {HELD}"])
        expect(notices(page).first).to_contain_text("bộ phận một cửa")
        expect(notices(page).last).to_contain_text("VNeID")
        check_page(page, "notifications")
        page.goto("/notifications?lang=en")
        expect(page.get_by_role("main").get_by_text("Unread", exact=True)).to_have_count(2)
        expect(page.get_by_role("button", name="Mark all as read")).to_be_visible()
        check_page(page, "notifications")

    def test_mark_one_then_all_as_read(
        self, page: Page, context: BrowserContext, web: WebServer, counter: Officer, university: Agency
    ) -> None:
        person = told_twice(web, counter, university)
        signed_in(context, web, person)
        page.goto("/notifications")
        held = notices(page).filter(has=page.get_by_role("heading", name=HELD))
        held.get_by_role("button", name="Đánh dấu đã đọc").click()
        expect(nav_link(page, "Thông báo (1)")).to_be_visible()
        held = notices(page).filter(has=page.get_by_role("heading", name=HELD))
        expect(held.get_by_text("Chưa đọc", exact=True)).to_have_count(0)
        expect(held.get_by_role("button")).to_have_count(0)
        expect(notices(page).first.get_by_text("Chưa đọc", exact=True)).to_be_visible()
        page.get_by_role("button", name="Đánh dấu tất cả đã đọc").click()
        expect(page.get_by_role("status")).to_contain_text("Tất cả thông báo đã được đánh dấu là đã đọc")
        expect(nav_link(page, "Thông báo")).to_be_visible()
        expect(page.get_by_role("main").get_by_text("Chưa đọc", exact=True)).to_have_count(0)
        expect(notices(page)).to_have_count(2)  # read, and still there
        check_page(page, "notifications-read")

    def test_nothing_yet(self, page: Page, context: BrowserContext, web: WebServer) -> None:
        signed_in(context, web, registered(web))
        page.goto("/notifications")
        expect(page.get_by_text("Bạn chưa có thông báo nào.")).to_be_visible()
        expect(nav_link(page, "Thông báo")).to_be_visible()
        check_page(page, "notifications-empty")


class TestPages:
    def test_next_page_then_back_to_the_first(
        self, page: Page, context: BrowserContext, web: WebServer, university: Agency
    ) -> None:
        person = registered(web)
        for n in range(21):  # each held paper is a notice: a page of 20, then 1
            issue(university, person, serial_number=f"DN-2017-{n:06d}")
        signed_in(context, web, person)
        page.goto("/notifications")
        expect(notices(page)).to_have_count(20)
        expect(nav_link(page, "Thông báo (21)")).to_be_visible()
        page.get_by_role("link", name="Trang sau").click()
        expect(notices(page)).to_have_count(1)
        notices(page).first.get_by_role("button", name="Đánh dấu đã đọc").click()
        expect(nav_link(page, "Thông báo (20)")).to_be_visible()
        expect(notices(page)).to_have_count(1)  # back on the same page
        check_page(page, "notifications-page-2")
        page.get_by_role("link", name="Trang đầu").click()
        expect(notices(page)).to_have_count(20)


class TestWithoutJavaScript:
    def test_mark_all_as_read(self, browser: Browser, web: WebServer, counter: Officer, university: Agency) -> None:
        person = told_twice(web, counter, university)
        context = new_context(browser, web, javascript=False)
        try:
            signed_in(context, web, person)
            page = context.new_page()
            page.goto("/notifications")
            notices(page).first.get_by_role("button", name="Đánh dấu đã đọc").click()
            expect(nav_link(page, "Thông báo (1)")).to_be_visible()
            page.get_by_role("button", name="Đánh dấu tất cả đã đọc").click()
            expect(nav_link(page, "Thông báo")).to_be_visible()
        finally:
            context.close()
