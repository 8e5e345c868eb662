"""Staff sign-in at /officer: phone, PIN and the SMS code; a session of its own (cookies sent to /officer only), the
staff navigation by its names, sign-out (UI.md "One-stop counter and agency staff")."""

from __future__ import annotations

import re

from playwright.sync_api import BrowserContext, Page, expect

from tests.web.conftest import check_page
from tests.web.server import WebServer
from tests.web.world import new_agency, new_staff

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
