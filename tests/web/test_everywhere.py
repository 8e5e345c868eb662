"""UI.md "Everywhere" across the app: the signed-in navigation by its names, visible focus, nothing of the session
in script storage, the desktop width, a procedure submitted by keyboard alone, and the core flows without JavaScript
from registration to a submitted dossier."""

from __future__ import annotations

import re

from playwright.sync_api import Browser, BrowserContext, Page, expect

from tests.factories import registration
from tests.web.conftest import Person, new_context, registered, signed_in
from tests.web.server import WebServer
from tests.web.test_foundation import enter_code, fill_registration
from tests.web.test_papers import add_cccd_through_the_pages, png
from tests.web.test_services import PASSPORT_VI, Agencies, agencies, citizen  # noqa: F401 - the fixture

NAVIGATION = ("Giấy tờ", "Mã QR", "Dịch vụ công", "Chia sẻ", "Nhật ký truy cập", "Thông báo", "Tài khoản")
NAVIGATION_EN = ("Papers", "QR code", "Public services", "Sharing", "Access log", "Notifications", "Account")


def tab_to(page: Page, name: str, *, limit: int = 80) -> None:
    """Press Tab until the focused element is the one with this accessible name (a person's keyboard path)."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        focused = page.evaluate(
            "(() => { const e = document.activeElement; return (e.labels && e.labels[0] ? e.labels[0].innerText : "
            "e.innerText || e.value || '').trim(); })()"
        )
        if focused.startswith(name):
            return
    raise AssertionError(f"{name!r} is not reachable with Tab")


class TestNavigation:
    def test_every_link_of_the_navigation_and_the_sign_out_button(
        self, context: BrowserContext, web: WebServer
    ) -> None:
        signed_in(context, web, registered(web))
        page = context.new_page()
        page.goto("/papers")
        navigation = page.get_by_role("navigation", name="Điều hướng chính")
        for name in NAVIGATION:
            expect(navigation.get_by_role("link", name=re.compile(f"^{name}"))).to_be_visible()
        expect(navigation.get_by_role("button", name="Đăng xuất")).to_be_visible()
        page.goto("/papers?lang=en")
        navigation = page.get_by_role("navigation", name="Main")
        for name in NAVIGATION_EN:
            expect(navigation.get_by_role("link", name=re.compile(f"^{name}"))).to_be_visible()
        expect(navigation.get_by_role("button", name="Sign out")).to_be_visible()

    def test_focus_is_visible(self, page: Page) -> None:
        page.goto("/")
        page.keyboard.press("Tab")
        page.keyboard.press("Tab")
        outline = page.evaluate(
            "(() => { const s = getComputedStyle(document.activeElement); "
            "return [s.outlineStyle, s.backgroundColor, s.boxShadow]; })()"
        )
        assert outline[0] != "none" or outline[2] != "none", outline

    def test_nothing_of_the_session_in_script_storage(self, context: BrowserContext, web: WebServer) -> None:
        signed_in(context, web, registered(web))
        page = context.new_page()
        page.goto("/papers")
        assert page.evaluate("document.cookie") == ""
        assert page.evaluate("localStorage.length") == 0
        # htmx keeps no snapshot of pages (historyCacheSize 0): at most the current path, never a page's content
        assert set(page.evaluate("Object.keys(sessionStorage)")) <= {"htmx-current-path-for-history"}

    def test_the_pages_fit_a_desktop_too(self, browser: Browser, web: WebServer) -> None:
        context = new_context(browser, web, viewport={"width": 1280, "height": 800})
        try:
            signed_in(context, web, registered(web))
            page = context.new_page()
            for path in ("/", "/papers", "/services", "/sharing", "/access-log", "/account"):
                page.goto(path)
                width = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
                assert width[0] <= width[1], path
        finally:
            context.close()


class TestKeyboard:
    def test_a_procedure_is_submitted_by_keyboard_alone(
        self,
        context: BrowserContext,
        web: WebServer,
        agencies: Agencies,  # noqa: F811
    ) -> None:
        person: Person = citizen(web, agencies)
        signed_in(context, web, person)
        page = context.new_page()
        page.goto("/services")
        tab_to(page, PASSPORT_VI)
        page.keyboard.press("Enter")
        expect(page.get_by_role("heading", level=1)).to_have_text(PASSPORT_VI)
        tab_to(page, "Bắt đầu")
        page.keyboard.press("Enter")
        expect(page.get_by_role("button", name="Nộp hồ sơ")).to_be_visible()
        tab_to(page, "Cấp hộ chiếu lần đầu")
        page.keyboard.press("Space")
        tab_to(page, "Nộp hồ sơ")
        page.keyboard.press("Enter")
        expect(page.get_by_text("Mã hồ sơ").first).to_be_visible()


class TestWithoutJavaScript:
    def test_register_sign_in_add_a_paper_start_and_submit(
        self,
        browser: Browser,
        web: WebServer,
        agencies: Agencies,  # noqa: F811
    ) -> None:
        context = new_context(browser, web, javascript=False)
        try:
            page = context.new_page()
            data = registration()
            page.goto("/register")
            fill_registration(page, data)
            page.get_by_role("button", name="Đăng ký").click()
            enter_code(page, web, data["phone"])
            expect(page.get_by_role("heading", level=1)).to_have_text("Giấy tờ")
            add_cccd_through_the_pages(page, png())
            expect(page.get_by_role("heading", level=1)).to_have_text(re.compile("Căn cước"))
            page.goto("/services")
            page.get_by_role("link", name=PASSPORT_VI, exact=True).click()
            page.get_by_role("button", name="Bắt đầu").click()
            expect(page.get_by_role("button", name="Nộp hồ sơ")).to_be_visible()
            page.get_by_label("Cấp hộ chiếu lần đầu").check()
            page.get_by_role("button", name="Nộp hồ sơ").click()
            # A wallet with only the ID card: the two values a birth certificate would give are asked, then it goes.
            expect(page.get_by_role("alert")).to_contain_text("Nơi sinh")
            expect(page.get_by_role("alert")).to_contain_text("Dân tộc")
            page.get_by_label("Nơi sinh", exact=True).fill("Bệnh viện Phụ sản Đà Nẵng")
            page.get_by_label("Dân tộc", exact=True).fill("Kinh")
            page.get_by_role("button", name="Nộp hồ sơ").click()
            expect(page.get_by_text("Mã hồ sơ").first).to_be_visible()
        finally:
            context.close()
