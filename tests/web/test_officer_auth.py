"""Staff sign-in at /officer: phone, PIN and the SMS code; a session of its own (cookies sent to /officer only), the
staff navigation by its names, sign-out (UI.md "One-stop counter and agency staff")."""

from __future__ import annotations

import re

from playwright.sync_api import BrowserContext, Page, expect

from tests.web.conftest import check_page, registered, signed_in
from tests.web.server import WebServer
from tests.web.world import new_agency, new_staff, staff_signed_in

STAFF_NAV = ("Quét mã QR", "Hồ sơ", "Yêu cầu chia sẻ", "Thống kê")
STAFF_NAV_EN = ("Scan QR", "Dossiers", "Data requests", "Statistics")


class TestStaffSignIn:
    def test_phone_pin_and_code(self, page: Page, context: BrowserContext, web: WebServer) -> None:
        staff = new_staff(web, new_agency(web, "consent:request"))
        page.goto("/officer")
        expect(page.get_by_role("heading", level=1)).to_have_text("Đăng nhập cán bộ")
        check_page(page, "officer-sign-in")
        page.get_by_label("Số điện thoại").fill(staff.phone)
        page.get_by_label("Mã PIN").fill(staff.pin)
        page.get_by_role("button", name="Đăng nhập").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Mã xác thực")
        page.get_by_label("Mã xác thực").fill(web.code_for(staff.phone))
        page.get_by_role("button", name="Xác nhận").click()
        expect(page).to_have_url(re.compile(r"/officer/scan$"))
        cookies = {c["name"]: c for c in context.cookies()}
        assert cookies["cds_staff_at"]["path"] == "/officer" and cookies["cds_staff_at"]["httpOnly"]
        assert "cds_at" not in cookies  # a staff sign-in gives no citizen session

    def test_a_wrong_pin_says_so(self, page: Page, web: WebServer) -> None:
        staff = new_staff(web, new_agency(web))
        page.goto("/officer/sign-in?lang=en")
        page.get_by_label("Phone number").fill(staff.phone)
        page.get_by_label("PIN").fill("000000")
        page.get_by_role("button", name="Sign in").click()
        expect(page).to_have_title(re.compile("^Error: "))
        expect(page.get_by_role("alert")).to_contain_text("The phone number or the PIN is not right")
        check_page(page, "officer-sign-in-error")

    def test_a_citizen_session_opens_no_staff_page(self, context: BrowserContext, web: WebServer) -> None:
        signed_in(context, web, registered(web))
        page = context.new_page()
        page.goto("/officer/scan")
        expect(page.get_by_role("heading", level=1)).to_have_text("Đăng nhập cán bộ")


class TestStaffNavigation:
    def test_the_navigation_by_its_names_and_who_is_signed_in(self, context: BrowserContext, web: WebServer) -> None:
        staff = new_staff(web, new_agency(web, name="Bộ phận một cửa phường Hải Châu"), name="Lê Thị Hoa")
        staff_signed_in(context, web, staff)
        page = context.new_page()
        page.goto("/officer/sign-in")  # any staff page shows the navigation once signed in
        page.goto("/officer")
        navigation = page.get_by_role("navigation", name="Điều hướng cán bộ")
        for name in STAFF_NAV:
            expect(navigation.get_by_role("link", name=name, exact=True)).to_be_visible()
        expect(navigation.get_by_role("button", name="Đăng xuất")).to_be_visible()
        expect(page.get_by_text("Lê Thị Hoa, Bộ phận một cửa phường Hải Châu")).to_be_visible()
        page.goto("/officer/scan?lang=en")
        navigation = page.get_by_role("navigation", name="Staff")
        for name in STAFF_NAV_EN:
            expect(navigation.get_by_role("link", name=name, exact=True)).to_be_visible()

    def test_sign_out_ends_the_staff_session(self, context: BrowserContext, web: WebServer) -> None:
        staff = new_staff(web, new_agency(web))
        staff_signed_in(context, web, staff)
        page = context.new_page()
        page.goto("/officer/scan")
        page.get_by_role("button", name="Đăng xuất").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Đăng nhập cán bộ")
        with web.api() as api:
            assert api.get("/me", headers={"Authorization": f"Bearer {staff.token}"}).status_code == 401
