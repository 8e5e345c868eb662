"""The web foundation in a real browser: landing, register and sign in with the code, sign out, languages, errors,
CSRF, cookies and CSP, with and without JavaScript, by keyboard (UI.md: "Everywhere", "Citizen app")."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from tests.factories import registration
from tests.web.conftest import check_page, new_context, registered, signed_in
from tests.web.server import WebServer


def fill_registration(page: Page, data: dict[str, str], *, english: bool = False) -> None:
    labels = (
        ("ID card number", "Full name", "Date of birth", "Phone number", "PIN")
        if english
        else ("Số CCCD", "Họ và tên", "Ngày sinh", "Số điện thoại", "Mã PIN")
    )
    dob = "/".join(reversed(data["date_of_birth"].split("-")))
    for label, value in zip(
        labels, (data["national_id"], data["full_name"], dob, data["phone"], data["pin"]), strict=True
    ):
        page.get_by_label(label, exact=True).fill(value)


def enter_code(page: Page, web: WebServer, phone: str) -> None:
    expect(page.get_by_role("heading", level=1)).to_have_text("Mã xác thực")
    page.get_by_label("Mã xác thực").fill(web.code_for(phone))
    page.get_by_role("button", name="Xác nhận").click()


class TestLanding:
    @pytest.mark.parametrize(
        ("lang", "sign_in", "register"), [("vi", "Đăng nhập", "Đăng ký"), ("en", "Sign in", "Register")]
    )
    def test_signed_out_it_offers_sign_in_and_register(
        self, page: Page, lang: str, sign_in: str, register: str
    ) -> None:
        page.goto(f"/?lang={lang}")
        expect(page.locator("html")).to_have_attribute("lang", lang)
        expect(page.get_by_role("link", name=sign_in, exact=True)).to_be_visible()
        expect(page.get_by_role("link", name=register, exact=True)).to_be_visible()
        check_page(page, "landing")

    def test_the_language_link_switches_and_is_remembered(self, page: Page) -> None:
        page.goto("/")
        page.get_by_role("link", name="English").click()
        expect(page.locator("html")).to_have_attribute("lang", "en")
        page.goto("/sign-in")
        expect(page.get_by_role("heading", level=1)).to_have_text("Sign in")
        page.get_by_role("link", name="Tiếng Việt").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Đăng nhập")


class TestRegister:
    def test_register_enter_the_code_and_arrive_in_the_wallet(self, page: Page, web: WebServer) -> None:
        data = registration()
        page.goto("/")
        page.get_by_role("link", name="Đăng ký", exact=True).click()
        check_page(page, "register")
        fill_registration(page, data)
        page.get_by_label("Email").fill("an@example.vn")
        page.get_by_role("button", name="Đăng ký").click()
        check_page(page, "code")
        enter_code(page, web, data["phone"])
        expect(page.get_by_role("heading", level=1)).to_have_text("Giấy tờ")
        expect(page).to_have_url(re.compile(r"/papers$"))  # the address bar follows the redirect
        expect(page.get_by_role("navigation", name="Điều hướng chính")).to_be_visible()

    def test_errors_are_summarised_focused_and_shown_by_each_field(self, page: Page) -> None:
        page.goto("/register")
        data = registration() | {"national_id": "048123", "phone": "12345"}
        fill_registration(page, data)
        page.get_by_role("button", name="Đăng ký").click()
        expect(page).to_have_title(re.compile(r"^Lỗi: "))
        summary = page.get_by_role("alert")
        expect(summary).to_contain_text("Có lỗi cần sửa")
        expect(summary).to_be_focused()
        summary.get_by_role("link", name="Nhập đủ 12 chữ số của số CCCD").click()
        expect(page.get_by_label("Số CCCD")).to_be_focused()
        expect(page.locator("#phone-error")).to_contain_text("số điện thoại di động")
        expect(page.get_by_label("Mã PIN")).to_have_value("")  # a PIN is never sent back
        check_page(page, "register-errors")

    def test_errors_in_english(self, page: Page) -> None:
        page.goto("/register?lang=en")
        fill_registration(page, registration() | {"national_id": "1"}, english=True)
        page.get_by_role("button", name="Register").click()
        expect(page).to_have_title(re.compile(r"^Error: "))
        expect(page.get_by_role("alert")).to_contain_text("There is a problem")
        check_page(page, "register-errors")


class TestSignIn:
    def test_sign_in_with_pin_and_code(self, page: Page, web: WebServer) -> None:
        person = registered(web)
        page.goto("/sign-in")
        check_page(page, "sign-in")
        page.get_by_label("Số CCCD").fill(person.national_id)
        page.get_by_label("Mã PIN").fill(person.data["pin"])
        page.get_by_role("button", name="Đăng nhập").click()
        enter_code(page, web, person.phone)
        expect(page.get_by_role("heading", level=1)).to_have_text("Giấy tờ")

    def test_a_wrong_pin_and_a_wrong_code_say_so(self, page: Page, web: WebServer) -> None:
        person = registered(web)
        page.goto("/sign-in")
        page.get_by_label("Số CCCD").fill(person.national_id)
        page.get_by_label("Mã PIN").fill("000000")
        page.get_by_role("button", name="Đăng nhập").click()
        expect(page.get_by_role("alert")).to_contain_text("Số CCCD hoặc mã PIN không đúng")
        page.get_by_label("Mã PIN").fill(person.data["pin"])
        page.get_by_role("button", name="Đăng nhập").click()
        page.get_by_label("Mã xác thực").fill("000000")
        page.get_by_role("button", name="Xác nhận").click()
        expect(page.get_by_role("alert")).to_contain_text("Mã không đúng")
        check_page(page, "code-error")

    def test_a_page_asked_signed_out_comes_back_after_sign_in(self, page: Page, web: WebServer) -> None:
        person = registered(web)
        page.goto("/papers")
        expect(page.get_by_role("heading", level=1)).to_have_text("Đăng nhập")
        page.get_by_label("Số CCCD").fill(person.national_id)
        page.get_by_label("Mã PIN").fill(person.data["pin"])
        page.get_by_role("button", name="Đăng nhập").click()
        enter_code(page, web, person.phone)
        expect(page).to_have_url(re.compile(r"/papers$"))

    def test_sign_in_by_keyboard_alone(self, page: Page, web: WebServer) -> None:
        person = registered(web)
        page.goto("/sign-in")
        page.keyboard.press("Tab")  # the skip link
        for _ in range(10):
            page.keyboard.press("Tab")
            if page.evaluate("document.activeElement.id") == "national_id":
                break
        page.keyboard.type(person.national_id)
        page.keyboard.press("Tab")
        page.keyboard.type(person.data["pin"])
        page.keyboard.press("Enter")
        expect(page.get_by_label("Mã xác thực")).to_be_visible()
        page.get_by_label("Mã xác thực").focus()
        page.keyboard.type(web.code_for(person.phone))
        page.keyboard.press("Enter")
        expect(page.get_by_role("heading", level=1)).to_have_text("Giấy tờ")


class TestSession:
    def test_cookies_are_http_only_and_same_site(self, page: Page, context: BrowserContext, web: WebServer) -> None:
        person = registered(web)
        page.goto("/sign-in")
        page.get_by_label("Số CCCD").fill(person.national_id)
        page.get_by_label("Mã PIN").fill(person.data["pin"])
        page.get_by_role("button", name="Đăng nhập").click()
        enter_code(page, web, person.phone)
        expect(page).to_have_url(re.compile(r"/papers$"))
        cookies = {c["name"]: c for c in context.cookies()}
        for name in ("cds_at", "cds_rt", "cds_csrf"):
            assert cookies[name]["httpOnly"] is True, name
            assert cookies[name]["sameSite"] == "Lax", name
        assert page.evaluate("document.cookie") == ""  # nothing of the session is readable by script

    def test_sign_out_ends_the_server_session_and_clears_the_site(
        self, page: Page, context: BrowserContext, web: WebServer
    ) -> None:
        person = registered(web)
        signed_in(context, web, person)
        page.goto("/papers")
        with page.expect_response(lambda r: r.url.endswith("/sign-out")) as answer:
            page.get_by_role("button", name="Đăng xuất").click()
        assert "cookies" in (answer.value.all_headers().get("clear-site-data") or "")
        expect(page.get_by_role("link", name="Đăng nhập", exact=True)).to_be_visible()
        with web.api() as api:  # the API's session died too: the same server-side session
            assert api.get("/me", headers={"Authorization": f"Bearer {person.token}"}).status_code == 401

    def test_an_expired_access_cookie_is_renewed_from_the_refresh_cookie(
        self, page: Page, context: BrowserContext, web: WebServer
    ) -> None:
        person = registered(web)
        assert person.tokens is not None
        person.tokens["access_token"] = "expired.or.forged"
        signed_in(context, web, person)
        page.goto("/papers")
        expect(page.get_by_role("heading", level=1)).to_have_text("Giấy tờ")
        assert {c["name"]: c["value"] for c in context.cookies()}["cds_at"] != "expired.or.forged"


class TestSecurityHeaders:
    def test_pages_have_a_strict_csp(self, page: Page) -> None:
        answer = page.goto("/")
        assert answer is not None
        csp = answer.headers["content-security-policy"]
        script_src = next(part for part in csp.split(";") if part.strip().startswith("script-src"))
        assert "'unsafe-inline'" not in script_src and "'unsafe-eval'" not in script_src
        assert "'unsafe-inline'" not in csp
        assert answer.headers["cache-control"] == "no-store"

    def test_a_form_without_its_csrf_token_is_refused(
        self, page: Page, context: BrowserContext, web: WebServer
    ) -> None:
        page.goto("/register")
        answer = context.request.post(f"{web.base_url}/register", form=registration())
        assert answer.status == 403
        page.set_content(answer.text())
        expect(page.get_by_role("heading", level=1)).to_have_text("Bạn không thể thực hiện thao tác này")

    def test_an_unknown_page_is_a_page(self, page: Page) -> None:
        answer = page.goto("/no-such-page")
        assert answer is not None and answer.status == 404
        expect(page.get_by_role("heading", level=1)).to_have_text("Không tìm thấy trang")
        check_page(page, "not-found")


class TestWithoutJavaScript:
    def test_register_and_sign_in_work_without_javascript(self, browser: Browser, web: WebServer) -> None:
        context = new_context(browser, web, javascript=False)
        try:
            page = context.new_page()
            data = registration()
            page.goto("/register")
            fill_registration(page, data)
            page.get_by_role("button", name="Đăng ký").click()
            enter_code(page, web, data["phone"])
            expect(page.get_by_role("heading", level=1)).to_have_text("Giấy tờ")
            page.get_by_role("button", name="Đăng xuất").click()
            page.goto("/sign-in")
            page.get_by_label("Số CCCD").fill(data["national_id"])
            page.get_by_label("Mã PIN").fill(data["pin"])
            page.get_by_role("button", name="Đăng nhập").click()
            enter_code(page, web, data["phone"])
            expect(page.get_by_role("heading", level=1)).to_have_text("Giấy tờ")
        finally:
            context.close()
