"""The citizen's account in a real browser (UI.md: "Account"): the profile and identity level, level 2 after counter
proofing (an officer of the CLI scans the page's QR through the API) and by national e-ID (a real OpenID Provider),
the authenticator app enrolled, used to sign in and removed, and the account deleted behind a fresh code; the
enrolment and the erasure also without JavaScript."""

from __future__ import annotations

import base64
import json
import os
import re
import secrets
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyotp
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Route, expect

from tests.factories import e164, make_phone
from tests.oidc_provider import OidcProvider
from tests.web.conftest import Person, check_page, new_context, registered, signed_in
from tests.web.server import WebServer
from tests.web.test_qr import qr_image, scanned

OFFICER_PIN = "135790"


# -- helpers -----------------------------------------------------------------------------------------------------------
@pytest.fixture
def no_js(browser: Browser, web: WebServer) -> Iterator[BrowserContext]:
    context = new_context(browser, web, javascript=False)
    yield context
    context.close()


def h1(page: Page) -> Any:
    return expect(page.get_by_role("heading", level=1))


def send_and_enter_code(page: Page, web: WebServer, person: Person) -> None:
    """The fresh SMS code of a page that asks for one: "Gửi mã", then "Mã xác thực"."""
    page.get_by_role("button", name="Gửi mã").click()
    expect(page.get_by_role("status")).to_contain_text(person.phone[-4:])
    page.get_by_label("Mã xác thực").fill(web.code_for(person.phone))


def app_code(secret: str, *, ahead: int = 0) -> str:
    """The authenticator's code; `ahead=1` gives the next step's, which the service still accepts once the current
    one was used (a code is accepted once, and the window is one step either side)."""
    return pyotp.TOTP(secret).at(time.time() + 30 * ahead)


def enrol_through_the_pages(page: Page, web: WebServer, person: Person) -> str:
    """From the account page to a confirmed authenticator; returns its secret as the page shows it."""
    page.goto("/account")
    page.get_by_role("link", name="Cài đặt ứng dụng xác thực").click()
    h1(page).to_have_text("Ứng dụng xác thực")
    send_and_enter_code(page, web, person)
    page.get_by_role("button", name="Tiếp tục").click()
    expect(page.get_by_role("img", name="Mã QR để quét bằng ứng dụng xác thực")).to_be_visible()
    secret = page.locator(".secret code").inner_text().replace(" ", "")
    page.get_by_label("Mã từ ứng dụng").fill(app_code(secret))
    page.get_by_role("button", name="Xác nhận").click()
    h1(page).to_have_text("Tài khoản")
    expect(page.get_by_role("status")).to_contain_text("Đã cài đặt ứng dụng xác thực")
    return secret


def enrol_through_the_api(web: WebServer, person: Person) -> str:
    auth = {"Authorization": f"Bearer {person.token}"}
    with web.api() as api:
        challenge = api.post("/auth/otp/send", headers=auth).json()["challenge_id"]
        factor = {"code": web.code_for(person.phone), "challenge_id": challenge}
        secret = str(api.post("/auth/totp/enroll", json=factor, headers=auth).json()["secret"])
        assert api.post("/auth/totp/confirm", json={"code": app_code(secret)}, headers=auth).status_code == 200
    return secret


def sign_in_through_the_pages(page: Page, person: Person) -> None:
    page.goto("/sign-in")
    page.get_by_label("Số CCCD").fill(person.national_id)
    page.get_by_label("Mã PIN").fill(person.data["pin"])
    page.get_by_role("button", name="Đăng nhập").click()


def congdanso(web: WebServer, *args: str) -> dict[str, Any]:
    """The operator's CLI on the server's own data directory (bench/qr.py does the same)."""
    cli = Path(sys.executable).with_name("congdanso")
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin")} | web.env
    done = subprocess.run([str(cli), *args], env=env, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    answer: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return answer


def counter_officer(web: WebServer) -> tuple[str, str, str]:
    """An agency and its officer made with the CLI, signed in by phone + PIN + SMS code: (token, officer, agency)."""
    code, agency, officer, phone = (
        f"MC-WEB-{secrets.token_hex(3)}",
        "UBND phường Hải Châu",
        "Trần Thị Bích",
        make_phone(),
    )
    congdanso(web, "agency", "create", "--code", code, "--name", agency, "--json")
    congdanso(
        web, "officer", "create", "--phone", phone, "--name", officer, "--agency", code, "--pin", OFFICER_PIN, "--json"
    )
    with web.api() as api:
        challenge = api.post("/auth/login", json={"phone": phone, "pin": OFFICER_PIN})
        assert challenge.status_code == 202, challenge.text
        verify = {"challenge_id": challenge.json()["challenge_id"], "code": web.code_for(phone)}
        tokens = api.post("/auth/otp/verify", json=verify)
        assert tokens.status_code == 200, tokens.text
    return str(tokens.json()["access_token"]), officer, agency


def push_a_paper(web: WebServer, national_id: str) -> None:
    """An issuing agency (made with the CLI) pushes a procedure's result to the citizen."""
    code = f"STP-WEB-{secrets.token_hex(3)}"
    creds = congdanso(
        web, "agency", "create", "--code", code, "--name", "Sở Tư pháp", "--scopes", "documents:issue", "--json"
    )
    fields = {
        "procedure_code": "1.001612",
        "title": "Giấy chứng nhận hộ kinh doanh",
        "decision_number": "123/QĐ-UBND",
        "issue_date": "2026-11-20",
        "issued_by": "UBND quận Hải Châu",
        "summary": "Cấp giấy chứng nhận",
    }
    pdf = base64.b64encode(b"%PDF-1.7\n%%EOF\n").decode()
    paper = {"filename": "kq.pdf", "content_type": "application/pdf", "content_base64": pdf}
    with web.api() as api:
        grant = {
            "grant_type": "client_credentials",
            "client_id": creds["client_id"],
            "client_secret": creds["client_secret"],
        }
        token = api.post("/oauth/token", data=grant).json()["access_token"]
        body = {"national_id": national_id, "type": "tthc_result", "fields": fields, "file": paper}
        pushed = api.post("/issuer/documents", json=body, headers={"Authorization": f"Bearer {token}"})
        assert pushed.status_code == 201, pushed.text


# -- the account page and identity levels ------------------------------------------------------------------------------
class TestAccountPage:
    @pytest.mark.parametrize("lang", ["vi", "en"])
    def test_level_1_shows_the_details_and_how_to_reach_level_2(
        self, page: Page, context: BrowserContext, web: WebServer, lang: str
    ) -> None:
        person = registered(web, email="an@example.vn")
        signed_in(context, web, person)
        page.goto(f"/account?lang={lang}")
        english = lang == "en"
        h1(page).to_have_text("Account" if english else "Tài khoản")
        details = page.locator("dl")
        expect(details).to_contain_text("Nguyễn Văn An")
        expect(details).to_contain_text(person.national_id[-4:])
        expect(details).not_to_contain_text(person.national_id)  # masked but for its last 4 digits
        expect(details).to_contain_text("02/03/1995")
        expect(details).to_contain_text(person.phone)
        expect(details).to_contain_text("an@example.vn")
        expect(page.get_by_text("Level 1 – self-registered" if english else "Mức 1 – tự đăng ký")).to_be_visible()
        expect(page.get_by_text("bring your ID card (CCCD)" if english else "mang thẻ CCCD")).to_be_visible()
        page.get_by_role("link", name="Open your QR code" if english else "Mở mã QR của bạn").click()
        expect(qr_image(page, lang)).to_be_visible()
        page.go_back()
        h1(page).to_have_text("Account" if english else "Tài khoản")  # the page is back before it is looked at
        # National e-ID is not configured on this server: no button for it.
        expect(page.get_by_role("button", name=re.compile("VNeID"))).to_have_count(0)
        check_page(page, "account-level-1")

    @pytest.mark.parametrize("lang", ["vi", "en"])
    def test_after_counter_proofing_it_shows_level_2_with_the_officer_and_agency(
        self, page: Page, context: BrowserContext, web: WebServer, lang: str
    ) -> None:
        person = registered(web)
        signed_in(context, web, person)
        push_a_paper(web, person.national_id)
        page.goto(f"/account?lang={lang}")
        waiting = "waiting for you to reach level 2: 1" if lang == "en" else "đang chờ bạn đạt mức 2: 1"
        expect(page.get_by_text(re.compile(waiting))).to_be_visible()
        officer_token, officer, agency = counter_officer(web)
        page.goto("/qr")
        qr = scanned(qr_image(page, lang))  # the officer scans the QR the page shows
        with web.api() as api:
            auth = {"Authorization": f"Bearer {officer_token}"}
            scan = api.post("/verify/qr", json={"token": qr}, headers=auth).json()
            assert scan["valid"] is True, scan
            proofed = api.post("/identity/proofings", json={"presence_id": scan["presence_id"]}, headers=auth)
            assert proofed.status_code == 201, proofed.text
        page.goto(f"/account?lang={lang}")
        english = lang == "en"
        expect(page.get_by_text("Level 2 – verified" if english else "Mức 2 – đã xác thực")).to_be_visible()
        said = "Verified at {} by the officer {}" if english else "Xác thực tại {} bởi cán bộ {}"
        expect(page.get_by_text(said.format(agency, officer))).to_be_visible()
        expect(page.get_by_role("link", name="Open your QR code" if english else "Mở mã QR của bạn")).to_have_count(0)
        expect(page.get_by_text(re.compile(waiting))).to_have_count(0)  # released with level 2
        check_page(page, "account-level-2")
        page.goto("/qr")
        expect(page.get_by_role("heading", name=re.compile("xác thực danh tính|verifies your identity"))).to_have_count(
            0
        )

    def test_a_bad_e_id_ticket_is_refused_with_a_page(self, page: Page, web: WebServer) -> None:
        for lang, title in (("en", "Your identity was not verified"), ("vi", "Chưa xác thực được danh tính")):
            answer = page.goto(f"/account/eid/done?eid_ticket=not-a-ticket&lang={lang}")
            assert answer is not None and answer.status == 400
            h1(page).to_have_text(title)
            check_page(page, "account-eid-failed")


# -- the authenticator app -----------------------------------------------------------------------------------------
class TestAuthenticator:
    def test_enrol_then_sign_in_asks_for_the_apps_code(
        self, page: Page, context: BrowserContext, web: WebServer
    ) -> None:
        person = registered(web)
        signed_in(context, web, person)
        page.goto("/account/authenticator?lang=en")
        check_page(page, "account-authenticator")
        page.goto("/account/authenticator?lang=vi")
        check_page(page, "account-authenticator")
        page.get_by_role("button", name="Tiếp tục").click()  # no code yet
        expect(page).to_have_title(re.compile(r"^Lỗi: "))
        expect(page.get_by_role("alert")).to_contain_text("Có lỗi cần sửa")
        expect(page.get_by_role("alert")).to_be_focused()
        send_and_enter_code(page, web, person)
        page.get_by_label("Mã xác thực").fill("000000")
        page.get_by_role("button", name="Tiếp tục").click()
        expect(page.get_by_role("alert")).to_contain_text("Mã không đúng")
        check_page(page, "account-authenticator-error")
        page.get_by_label("Mã xác thực").fill(web.code_for(person.phone))
        page.get_by_role("button", name="Tiếp tục").click()
        expect(page.get_by_role("img", name="Mã QR để quét bằng ứng dụng xác thực")).to_be_visible()
        check_page(page, "account-authenticator-scan")
        secret = page.locator(".secret code").inner_text().replace(" ", "")
        page.get_by_label("Mã từ ứng dụng").fill("000000")
        page.get_by_role("button", name="Xác nhận").click()
        expect(page.get_by_role("alert")).to_contain_text("Mã không đúng")
        expect(page.get_by_role("img", name="Mã QR để quét bằng ứng dụng xác thực")).to_be_visible()  # still there
        assert page.locator(".secret code").inner_text().replace(" ", "") == secret
        page.get_by_label("Mã từ ứng dụng").fill(app_code(secret))
        page.get_by_role("button", name="Xác nhận").click()
        expect(page.get_by_text("Đang bật")).to_be_visible()
        check_page(page, "account-authenticator-on")
        page.get_by_role("button", name="Đăng xuất").click()
        sign_in_through_the_pages(page, person)
        expect(page.get_by_text("Mã 6 chữ số trong ứng dụng xác thực của bạn")).to_be_visible()  # the app, not SMS
        page.get_by_label("Mã xác thực").fill(app_code(secret, ahead=1))
        page.get_by_role("button", name="Xác nhận").click()
        h1(page).to_have_text("Giấy tờ")

    def test_enrol_without_javascript_in_english(self, no_js: BrowserContext, web: WebServer) -> None:
        person = registered(web)
        signed_in(no_js, web, person)
        page = no_js.new_page()
        page.goto("/account?lang=en")
        page.get_by_role("link", name="Set up an authenticator app").click()
        page.get_by_role("button", name="Send code").click()
        expect(page.get_by_role("status")).to_contain_text(person.phone[-4:])
        page.get_by_label("Verification code").fill(web.code_for(person.phone))
        page.get_by_role("button", name="Continue").click()
        expect(page.get_by_role("img", name="QR code to scan with your authenticator app")).to_be_visible()
        secret = page.locator(".secret code").inner_text().replace(" ", "")
        page.get_by_label("Code from the app").fill(app_code(secret))
        page.get_by_role("button", name="Confirm").click()
        h1(page).to_have_text("Account")
        expect(page.get_by_role("status")).to_contain_text("Your authenticator app is set up")
        expect(page.get_by_text("When you sign in, enter the code from your authenticator app.")).to_be_visible()

    def test_removing_it_needs_the_apps_current_code(self, page: Page, context: BrowserContext, web: WebServer) -> None:
        person = registered(web)
        secret = enrol_through_the_api(web, person)
        signed_in(context, web, person)
        page.goto("/account?lang=en")
        check_page(page, "account-authenticator-on")
        page.goto("/account/authenticator/remove")
        check_page(page, "account-authenticator-remove")
        page.goto("/account?lang=vi")
        page.get_by_role("link", name="Gỡ ứng dụng xác thực").click()
        check_page(page, "account-authenticator-remove")
        page.get_by_label("Mã từ ứng dụng").fill("000000")
        page.get_by_role("button", name="Gỡ ứng dụng").click()
        expect(page.get_by_role("alert")).to_contain_text("Mã không đúng")
        check_page(page, "account-authenticator-remove-error")
        page.get_by_label("Mã từ ứng dụng").fill(app_code(secret, ahead=1))
        page.get_by_role("button", name="Gỡ ứng dụng").click()
        expect(page.get_by_role("status")).to_contain_text("Đã gỡ ứng dụng xác thực")
        expect(page.get_by_role("link", name="Cài đặt ứng dụng xác thực")).to_be_visible()
        with web.api() as api:  # sign-in codes come by SMS again
            challenge = api.post("/auth/login", json={"national_id": person.national_id, "pin": person.data["pin"]})
            assert challenge.json()["channel"] == "sms"

    def test_replacing_it_asks_for_the_current_apps_code_not_an_sms(
        self, page: Page, context: BrowserContext, web: WebServer
    ) -> None:
        person = registered(web)
        secret = enrol_through_the_api(web, person)
        signed_in(context, web, person)
        page.goto("/account?lang=en")
        page.get_by_role("link", name="Replace the authenticator app").click()
        expect(page.get_by_role("button", name="Send code")).to_have_count(0)
        page.get_by_label("Verification code").fill(app_code(secret, ahead=1))
        page.get_by_role("button", name="Continue").click()
        expect(page.get_by_role("img", name="QR code to scan with your authenticator app")).to_be_visible()
        check_page(page, "account-authenticator-scan")
        assert page.locator(".secret code").inner_text().replace(" ", "") != secret


# -- deleting the account --------------------------------------------------------------------------------------------
def ready_to_delete(page: Page, web: WebServer, person: Person) -> None:
    """From the account page to the erasure's form filled with a fresh code."""
    page.goto("/account")
    page.get_by_role("link", name="Xóa tài khoản").click()
    h1(page).to_have_text("Xóa tài khoản")
    expect(page.get_by_text("Không thể hoàn tác")).to_be_visible()
    page.get_by_role("button", name="Xóa tài khoản").click()  # no code yet
    expect(page.get_by_role("alert")).to_contain_text("Nhập mã gồm 6 chữ số")
    send_and_enter_code(page, web, person)


def check_erased(page: Page, context: BrowserContext, web: WebServer, person: Person) -> None:
    expect(page.get_by_role("status")).to_contain_text("đã được xóa")
    expect(page.get_by_role("link", name="Đăng nhập", exact=True)).to_be_visible()
    expect(page.get_by_role("navigation", name="Điều hướng chính")).to_have_count(0)
    assert not {"cds_at", "cds_rt"} & {c["name"] for c in context.cookies()}
    with web.api() as api:
        assert api.get("/me", headers={"Authorization": f"Bearer {person.token}"}).status_code == 401
    sign_in_through_the_pages(page, person)
    expect(page.get_by_role("alert")).to_contain_text("Số CCCD hoặc mã PIN không đúng")


class TestDeleteAccount:
    def test_the_page_in_both_languages_and_a_wrong_code(
        self, page: Page, context: BrowserContext, web: WebServer
    ) -> None:
        person = registered(web)
        signed_in(context, web, person)
        page.goto("/account/delete?lang=en")
        check_page(page, "account-delete")
        page.goto("/account/delete?lang=vi")
        check_page(page, "account-delete")
        send_and_enter_code(page, web, person)
        page.get_by_label("Mã xác thực").fill("000000")
        page.get_by_role("button", name="Xóa tài khoản").click()
        expect(page).to_have_title(re.compile(r"^Lỗi: "))
        expect(page.get_by_role("alert")).to_contain_text("Mã không đúng")
        check_page(page, "account-delete-error")
        page.goto("/account")
        h1(page).to_have_text("Tài khoản")  # still there

    def test_delete_with_a_fresh_code(self, page: Page, context: BrowserContext, web: WebServer) -> None:
        person = registered(web)
        signed_in(context, web, person)
        ready_to_delete(page, web, person)
        with page.expect_response(lambda r: r.url.endswith("/account/delete") and r.request.method == "POST") as sent:
            page.get_by_role("button", name="Xóa tài khoản").click()
        assert "cookies" in (sent.value.all_headers().get("clear-site-data") or "")
        check_page(page, "account-deleted")
        check_erased(page, context, web, person)

    def test_delete_without_javascript(self, no_js: BrowserContext, web: WebServer) -> None:
        person = registered(web)
        signed_in(no_js, web, person)
        page = no_js.new_page()
        ready_to_delete(page, web, person)
        page.get_by_role("button", name="Xóa tài khoản").click()
        check_erased(page, no_js, web, person)

    def test_in_english_it_lands_on_the_start_page_in_english(
        self, page: Page, context: BrowserContext, web: WebServer
    ) -> None:
        person = registered(web)
        signed_in(context, web, person)
        page.goto("/account/delete?lang=en")
        page.get_by_role("button", name="Send code").click()
        expect(page.get_by_role("status")).to_contain_text(person.phone[-4:])
        page.get_by_label("Verification code").fill(web.code_for(person.phone))
        page.get_by_role("button", name="Delete account").click()
        expect(page.get_by_role("status")).to_contain_text("have been deleted")
        expect(page.get_by_role("link", name="Sign in", exact=True)).to_be_visible()
        check_page(page, "account-deleted")


# -- level 2 by national e-ID (a second server, configured with a real OpenID Provider) -------------------------------
@pytest.mark.oidc
def test_verify_with_vneid_reaches_level_2(browser: Browser) -> None:
    server = WebServer()  # its port is chosen here: the provider must know the callback before the server starts
    callback = f"{server.base_url}/api/v1/auth/eid/callback"
    with OidcProvider(redirect_uris=[callback]) as provider:
        server.env |= {
            "WALLET_EID_ISSUER": provider.issuer,
            "WALLET_EID_CLIENT_ID": provider.client_id,
            "WALLET_EID_CLIENT_SECRET": provider.client_secret,
        }
        with server:
            person = registered(server)
            context = new_context(browser, server)
            try:
                signed_in(context, server, person)
                page = context.new_page()
                page.goto("/account?lang=en")
                check_page(page, "account-eid")
                page.get_by_role("button", name="Verify with VNeID").click()
                h1(page).to_have_text("Go to VNeID")
                check_page(page, "account-eid-continue")
                page.goto("/account?lang=vi")
                check_page(page, "account-eid")
                authorize = _leave_for_the_provider(page, provider)
                claims = {
                    "personal_id": person.national_id,
                    "identity_level": "2",
                    "name": person.data["full_name"],
                    "birthdate": person.data["date_of_birth"],
                    "phone_number": e164(person.phone),
                }
                page.goto(provider.login(authorize, claims))  # back at the API's callback, with the binding cookie
                expect(page).to_have_url(re.compile(r"/account\?done=eid$"))
                expect(page.get_by_role("status")).to_contain_text("đã được xác thực mức 2")
                expect(page.get_by_text("Mức 2 – đã xác thực")).to_be_visible()
                expect(page.get_by_text(re.compile(r"Xác thực bằng VNeID lúc"))).to_be_visible()
                with server.api() as api:
                    me = api.get("/me", headers={"Authorization": f"Bearer {person.token}"}).json()
                    assert me["assurance"] == 2 and me["proofing"]["method"] == "eid"
            finally:
                context.close()


def _leave_for_the_provider(page: Page, provider: OidcProvider) -> str:
    """Press "Xác thực bằng VNeID", then "Tiếp tục đến VNeID"; the browser goes to the provider's authorization URL,
    which is returned (the provider's pages are played by `OidcProvider.login`; the browser's visit is stubbed)."""

    def stub(route: Route) -> None:
        route.fulfill(status=200, content_type="text/html", body="<!DOCTYPE html><title>VNeID</title><h1>VNeID</h1>")

    page.get_by_role("button", name="Xác thực bằng VNeID").click()
    h1(page).to_have_text("Chuyển sang VNeID")
    check_page(page, "account-eid-continue")
    cookie = [c for c in page.context.cookies() if c["name"] == "eid_binding"]
    assert cookie and cookie[0]["httpOnly"] and cookie[0]["path"] == "/api/v1/auth/eid"
    page.route(f"{provider.issuer}/**", stub)
    with page.expect_request(lambda r: r.url.startswith(provider.issuer + "/")) as leaving:
        page.get_by_role("link", name="Tiếp tục đến VNeID").click()
    page.unroute(f"{provider.issuer}/**")
    return leaving.value.url
