"""Scanning a citizen's QR at the counter (UI.md "One-stop counter and agency staff": Scan): Chromium's fake camera
filming a real token read by the vendored decoder, the typed token, a photo read on the server, expired and forged
codes, counter proofing with its checklist, a recovery, without JavaScript, by keyboard, both languages, phone and
desktop widths."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Playwright, expect

from tests.web.conftest import PHONE, Person, check_page, new_context, registered
from tests.web.scan_world import camera_browser, expired_token, forged_token, qr_png, qr_token, qr_y4m
from tests.web.server import WebServer
from tests.web.world import Staff, bearer, new_agency, new_staff, ok, staff_signed_in

DESKTOP = {"width": 1280, "height": 800}
AGENCY = "Bộ phận một cửa phường Thạch Thang"


@pytest.fixture(scope="module")
def officer(web: WebServer) -> Staff:
    return new_staff(web, new_agency(web, name=AGENCY), name="Phạm Minh Tuấn")


@pytest.fixture
def desk(context: BrowserContext, web: WebServer, officer: Staff) -> Page:
    staff_signed_in(context, web, officer)
    return context.new_page()


def citizen(web: WebServer, name: str = "Nguyễn Thị Lan") -> Person:
    return registered(web, full_name=name)


def type_token(page: Page, token: str, *, lang: str = "vi") -> None:
    page.get_by_label("Mã QR" if lang == "vi" else "QR code", exact=True).fill(token)
    page.get_by_role("button", name="Kiểm tra" if lang == "vi" else "Check", exact=True).click()


def me(web: WebServer, person: Person) -> dict[str, object]:
    with web.api() as api:
        return ok(api.get("/me", headers=bearer(person.token)))


def access_log(web: WebServer, person: Person) -> list[dict[str, object]]:
    with web.api() as api:
        return list(ok(api.get("/me/access-log", headers=bearer(person.token)))["items"])


class TestFakeCamera:
    @pytest.fixture
    def camera(self, playwright: Playwright, tmp_path: Path, web: WebServer) -> Iterator[tuple[Browser, Person, str]]:
        person = citizen(web, "Võ Thị Hồng")
        token = qr_token(web, person)
        browser = camera_browser(playwright, qr_y4m(token, tmp_path / "qr.y4m"))
        yield browser, person, token
        browser.close()

    def test_the_camera_reads_the_qr_with_the_vendored_decoder_and_nothing_leaves_the_service(
        self, camera: tuple[Browser, Person, str], web: WebServer, officer: Staff
    ) -> None:
        browser, person, _token = camera
        context = new_context(browser, web, permissions=["camera"])
        try:
            staff_signed_in(context, web, officer)
            page = context.new_page()
            requests: list[str] = []
            page.on("request", lambda request: requests.append(request.url))
            page.goto("/officer/scan")
            assert page.evaluate("'BarcodeDetector' in window") is False  # Chromium on Linux: the polyfill it is
            expect(page.locator("#scan-camera")).to_have_attribute("data-decoder", "polyfill")
            page.get_by_role("button", name="Bật camera").click()
            expect(page.get_by_role("heading", level=1)).to_have_text("Hợp lệ")
            expect(page.get_by_text("Võ Thị Hồng", exact=True)).to_be_visible()
            assert any(urlsplit(url).path.endswith("/zxing_reader.wasm") for url in requests), requests
            assert any(urlsplit(url).path.endswith("/barcode-detector/ponyfill.js") for url in requests), requests
            origins = {f"{urlsplit(url).scheme}://{urlsplit(url).netloc}" for url in requests}
            assert origins == {web.base_url}, origins
        finally:
            context.close()
        scans = [entry for entry in access_log(web, person) if entry["action"] == "qr_scan"]
        assert scans and scans[0]["actor"] == {  # the citizen sees who scanned them
            "type": "officer",
            "code": officer.agency.code,
            "name": AGENCY,
            "person": "Phạm Minh Tuấn",
        }


class TestTypedToken:
    def test_valid_then_the_checklist_raises_the_level(self, desk: Page, web: WebServer) -> None:
        person = citizen(web)
        desk.goto("/officer/scan")
        expect(desk.get_by_role("heading", level=1)).to_have_text("Quét mã QR của công dân")
        expect(desk.get_by_role("button", name="Bật camera")).to_be_visible()
        check_page(desk, "officer-scan")
        type_token(desk, qr_token(web, person))
        expect(desk.get_by_role("heading", level=1)).to_have_text("Hợp lệ")
        expect(desk).to_have_url(re.compile(r"/officer/scan/[^/?]+$"))  # the presence, never the token
        summary = desk.locator("dl.summary")
        expect(summary).to_contain_text("Nguyễn Thị Lan")
        expect(summary).to_contain_text("02/03/1995")
        expect(summary).to_contain_text("********" + person.national_id[-4:])
        assert person.national_id not in desk.content()
        expect(summary).to_contain_text("Mức 1: tự đăng ký")
        papers = desk.get_by_role("link", name="Yêu cầu giấy tờ cho thủ tục")
        expect(papers).to_have_attribute("href", re.compile(r"^/officer/requests/new\?presence=[\w-]+$"))
        check_page(desk, "officer-scan-valid")

        desk.locator("input[name=checks]").evaluate_all("boxes => boxes.forEach(b => b.required = false)")
        desk.get_by_label("Ảnh trên thẻ đúng là người đang đứng trước bạn").check()
        desk.get_by_role("button", name="Xác nhận danh tính").click()
        expect(desk.get_by_role("alert")).to_contain_text("Có lỗi cần sửa")
        expect(desk).to_have_title(re.compile("^Lỗi: "))
        check_page(desk, "officer-scan-proofing-error")
        assert me(web, person)["assurance"] == 1

        for box in desk.locator("input[name=checks]").all():
            box.check()
        desk.get_by_role("button", name="Xác nhận danh tính").click()
        expect(desk.get_by_role("status")).to_contain_text("mức 2")
        expect(desk.locator("dl.summary")).to_contain_text("Mức 2: đã xác thực danh tính")
        expect(desk.locator("dl.summary")).to_contain_text("Phạm Minh Tuấn")
        expect(desk.get_by_role("button", name="Xác nhận danh tính")).to_have_count(0)
        assert me(web, person)["assurance"] == 2

    def test_by_keyboard_alone(self, desk: Page, web: WebServer) -> None:
        person = citizen(web, "Đặng Văn Khoa")
        desk.goto("/officer/scan")
        tab_to(desk, "token")
        desk.keyboard.type(qr_token(web, person))
        desk.keyboard.press("Enter")
        expect(desk.get_by_role("heading", level=1)).to_have_text("Hợp lệ")
        tab_to(desk, "checks")
        for _ in range(5):
            desk.keyboard.press("Space")
            desk.keyboard.press("Tab")
        desk.keyboard.press("Enter")
        expect(desk.locator("dl.summary")).to_contain_text("Mức 2")
        assert me(web, person)["assurance"] == 2

    def test_an_empty_field_says_so(self, desk: Page) -> None:
        desk.goto("/officer/scan?lang=en")
        desk.get_by_role("button", name="Check", exact=True).click()
        expect(desk.get_by_role("alert")).to_contain_text("Enter the QR code")
        desk.get_by_role("link", name=re.compile("Enter the QR code")).click()
        expect(desk.get_by_label("QR code", exact=True)).to_be_focused()

    def test_another_officers_scan_does_not_open(self, desk: Page, web: WebServer, browser: Browser) -> None:
        person = citizen(web)
        desk.goto("/officer/scan")
        type_token(desk, qr_token(web, person))
        expect(desk.get_by_role("heading", level=1)).to_have_text("Hợp lệ")
        other = new_context(browser, web)
        try:
            staff_signed_in(other, web, new_staff(web, new_agency(web)))
            page = other.new_page()
            page.goto(desk.url)
            expect(page.get_by_role("heading", level=1)).to_have_text("Lượt quét này không còn hiệu lực")
            expect(page.get_by_text("Nguyễn Thị Lan")).to_have_count(0)
        finally:
            other.close()


class TestNotValid:
    @pytest.mark.parametrize(
        ("kind", "reason"),
        [("expired", "Mã QR đã hết hạn"), ("forged", "giả mạo"), ("junk", "không phải mã QR định danh")],
    )
    def test_the_reason_in_words(self, desk: Page, web: WebServer, kind: str, reason: str) -> None:
        token = qr_token(web, citizen(web))
        shown = {"expired": expired_token(web, token), "forged": forged_token(token), "junk": "xin chào"}[kind]
        desk.goto("/officer/scan")
        type_token(desk, shown)
        expect(desk.get_by_role("heading", level=1)).to_have_text("Không hợp lệ")
        expect(desk.locator("main")).to_contain_text(reason)
        expect(desk.get_by_text("Nguyễn Thị Lan")).to_have_count(0)
        if kind == "expired":
            check_page(desk, "officer-scan-invalid")

    def test_in_english(self, desk: Page, web: WebServer) -> None:
        desk.goto("/officer/scan?lang=en")
        type_token(desk, forged_token(qr_token(web, citizen(web))), lang="en")
        expect(desk.get_by_role("heading", level=1)).to_have_text("Not valid")
        expect(desk.locator("main")).to_contain_text("forged")
        check_page(desk, "officer-scan-invalid")


class TestPhoto:
    def test_a_photo_of_the_qr_and_photos_that_are_not(self, desk: Page, web: WebServer, tmp_path: Path) -> None:
        desk.goto("/officer/scan")
        blank = tmp_path / "blank.png"
        blank.write_bytes(qr_png("x")[:60])  # a broken image
        desk.get_by_label("Ảnh mã QR").set_input_files(str(blank))
        desk.get_by_role("button", name="Kiểm tra ảnh").click()
        expect(desk.get_by_role("alert")).to_contain_text("không phải ảnh")
        check_page(desk, "officer-scan-photo-error")
        words = tmp_path / "note.png"
        words.write_bytes(_png_without_qr())
        desk.get_by_label("Ảnh mã QR").set_input_files(str(words))
        desk.get_by_role("button", name="Kiểm tra ảnh").click()
        expect(desk.get_by_role("alert")).to_contain_text("Không tìm thấy mã QR")
        photo = tmp_path / "qr.png"
        photo.write_bytes(qr_png(qr_token(web, citizen(web, "Lý Thị Mai"))))
        desk.get_by_label("Ảnh mã QR").set_input_files(str(photo))
        desk.get_by_role("button", name="Kiểm tra ảnh").click()
        expect(desk.get_by_role("heading", level=1)).to_have_text("Hợp lệ")
        expect(desk.locator("dl.summary")).to_contain_text("Lý Thị Mai")

    def test_a_photo_too_large_is_refused_with_the_error_summary(self, desk: Page, tmp_path: Path) -> None:
        desk.goto("/officer/scan?lang=en")
        big = tmp_path / "big.jpg"
        big.write_bytes(b"\xff\xd8" + b"\x00" * (11 * 1024 * 1024))
        desk.get_by_label("Photo of the QR code").set_input_files(str(big))
        desk.get_by_role("button", name="Check photo").click()
        expect(desk.get_by_role("alert")).to_contain_text("The photo is too large")


class TestWithoutJavaScript:
    def test_typed_token_and_photo_work(self, browser: Browser, web: WebServer, officer: Staff, tmp_path: Path) -> None:
        context = new_context(browser, web, javascript=False)
        try:
            staff_signed_in(context, web, officer)
            page = context.new_page()
            page.goto("/officer/scan")
            expect(page.get_by_role("button", name="Bật camera")).to_be_hidden()
            type_token(page, qr_token(web, citizen(web, "Hồ Văn Nam")))
            expect(page.get_by_role("heading", level=1)).to_have_text("Hợp lệ")
            expect(page.locator("dl.summary")).to_contain_text("Hồ Văn Nam")
            page.goto("/officer/scan")
            photo = tmp_path / "qr.png"
            photo.write_bytes(qr_png(qr_token(web, citizen(web, "Hồ Thị Nga"))))
            page.get_by_label("Ảnh mã QR").set_input_files(str(photo))
            page.get_by_role("button", name="Kiểm tra ảnh").click()
            expect(page.locator("dl.summary")).to_contain_text("Hồ Thị Nga")
        finally:
            context.close()


class TestRecovery:
    def test_a_recovery_sends_a_code_to_the_new_phone(self, desk: Page, web: WebServer) -> None:
        person = citizen(web)
        desk.goto("/officer/scan")
        desk.get_by_role("link", name="Bắt đầu khôi phục tài khoản").click()
        expect(desk.get_by_role("heading", level=1)).to_have_text("Khôi phục tài khoản của công dân")
        desk.get_by_role("button", name="Gửi mã").click()
        expect(desk.get_by_role("alert")).to_contain_text("Có lỗi cần sửa")
        check_page(desk, "officer-recovery-error")
        new_phone = "0987" + person.phone[-6:]
        desk.get_by_label("Số CCCD").fill(person.national_id)
        desk.get_by_label("Số điện thoại mới").fill(new_phone)
        desk.get_by_role("button", name="Gửi mã").click()
        expect(desk.get_by_role("heading", level=1)).to_have_text("Đã bắt đầu khôi phục")
        check_page(desk, "officer-recovery-started")
        assert re.fullmatch(r"\d{6}", web.code_for(new_phone))
        assert any(entry["action"] == "identity_recovery_started" for entry in access_log(web, person))


class TestLanguagesAndWidths:
    @pytest.mark.parametrize("viewport", [None, DESKTOP], ids=["phone", "desktop"])
    def test_every_page_in_english(
        self, browser: Browser, web: WebServer, officer: Staff, viewport: dict[str, int] | None
    ) -> None:
        context = new_context(browser, web, viewport=viewport or PHONE)
        size = "desktop" if viewport else "phone"
        try:
            staff_signed_in(context, web, officer)
            page = context.new_page()
            page.goto("/officer/scan?lang=en")
            expect(page.get_by_role("heading", level=1)).to_have_text("Scan a citizen's QR code")
            expect(page.get_by_role("button", name="Start camera")).to_be_visible()
            check_page(page, f"officer-scan-{size}")
            type_token(page, qr_token(web, citizen(web)), lang="en")
            expect(page.get_by_role("heading", level=1)).to_have_text("Valid")
            expect(page.locator("dl.summary")).to_contain_text("Level 1: self-registered")
            check_page(page, f"officer-scan-valid-{size}")
            page.get_by_role("link", name="Start a recovery (lost phone or forgotten PIN)").click()
            expect(page.get_by_role("heading", level=1)).to_have_text("Recover a citizen's account")
            check_page(page, f"officer-recovery-{size}")
            if viewport:
                page.goto("/officer/scan?lang=vi")
                check_page(page, "officer-scan-desktop")
                type_token(page, qr_token(web, citizen(web)))
                check_page(page, "officer-scan-valid-desktop")
        finally:
            context.close()


def tab_to(page: Page, element_id: str, limit: int = 40) -> None:
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement && document.activeElement.id") == element_id:
            return
    raise AssertionError(f"#{element_id} is not reachable by Tab")


def _png_without_qr() -> bytes:
    import io

    from PIL import Image, ImageDraw

    image = Image.new("RGB", (400, 300), "white")
    ImageDraw.Draw(image).rectangle((50, 50, 350, 250), outline="black", width=8)
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()
