"""The citizen's QR code in a real browser (UI.md: "QR code"): the signed QR as an image named "Mã QR định danh" that
a camera reads, when it expires, "Làm mới" without JavaScript, and renewal by itself with JavaScript."""

from __future__ import annotations

import base64
import io
import json
import re
from datetime import UTC, datetime, timedelta

import pytest
import zxingcpp
from PIL import Image
from playwright.sync_api import Browser, BrowserContext, Locator, Page, expect

from identity.notices import VIETNAM
from tests.web.conftest import check_page, new_context, registered, signed_in
from tests.web.server import WebServer

NAMES = {"vi": "Mã QR định danh", "en": "Identity QR code"}


def qr_image(page: Page, lang: str = "vi") -> Locator:
    return page.get_by_role("img", name=NAMES[lang], exact=True)


def scanned(image: Locator) -> str:
    """What a camera reads from the QR as the page shows it."""
    found = zxingcpp.read_barcodes(Image.open(io.BytesIO(image.screenshot())))
    assert len(found) == 1, "the QR on the page does not scan"
    return str(found[0].text)


def claims(token: str) -> dict[str, object]:
    payload = token.split(".")[1]
    decoded: dict[str, object] = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    return decoded


class TestQrPage:
    @pytest.mark.parametrize(("lang", "expires"), [("vi", "Hết hạn lúc"), ("en", "Expires at")])
    def test_it_shows_a_scannable_qr_and_when_it_expires(
        self, page: Page, context: BrowserContext, web: WebServer, lang: str, expires: str
    ) -> None:
        person = registered(web)
        signed_in(context, web, person)
        page.goto(f"/qr?lang={lang}")
        image = qr_image(page, lang)
        expect(image).to_be_visible()
        box = image.bounding_box()
        assert box is not None and box["width"] >= 280, box  # big enough for a phone camera across a counter
        soon = [(datetime.now(UTC) + timedelta(minutes=m)).astimezone(VIETNAM).strftime("%H:%M") for m in (4, 5, 6)]
        expect(page.get_by_text(re.compile(rf"{expires} ({'|'.join(soon)})$"))).to_be_visible()
        token = scanned(image)
        assert claims(token)["typ"] == "qr" and person.national_id not in token + json.dumps(claims(token))
        nav = page.get_by_role("navigation").get_by_role("link", name="Mã QR" if lang == "vi" else "QR code")
        expect(nav).to_have_attribute("aria-current", "page")
        check_page(page, "qr")

    def test_a_level_1_citizen_learns_it_also_verifies_them_at_a_counter(
        self, page: Page, context: BrowserContext, web: WebServer
    ) -> None:
        signed_in(context, web, registered(web))
        page.goto("/qr")
        expect(page.get_by_role("heading", name="Mã này cũng dùng để xác thực danh tính")).to_be_visible()
        expect(page.get_by_text(re.compile("mang thẻ CCCD đến Bộ phận một cửa"))).to_be_visible()


class TestRenewal:
    def test_without_javascript_renew_gives_a_new_qr(self, browser: Browser, web: WebServer) -> None:
        context = new_context(browser, web, javascript=False)
        try:
            signed_in(context, web, registered(web))
            page = context.new_page()
            page.goto("/qr")
            before = scanned(qr_image(page))
            page.get_by_role("button", name="Làm mới").click()
            expect(page.get_by_role("heading", level=1)).to_have_text("Mã QR của bạn")
            after = scanned(qr_image(page))
            assert after != before and claims(after)["jti"] != claims(before)["jti"]
        finally:
            context.close()

    def test_with_javascript_it_renews_itself_before_it_expires(
        self, page: Page, context: BrowserContext, web: WebServer
    ) -> None:
        signed_in(context, web, registered(web))
        page.clock.install()
        page.goto("/qr")
        image = qr_image(page)
        before, token = image.get_attribute("src"), scanned(image)
        assert before
        page.clock.fast_forward("03:50")
        page.wait_for_timeout(300)
        expect(image).to_have_attribute("src", before)  # not before its time
        with page.expect_response(
            lambda r: r.url.endswith("/qr") and r.request.headers.get("hx-request") == "true"
        ) as polled:
            page.clock.fast_forward("00:15")
        assert "<h1" not in polled.value.text()  # the block alone, not the page
        expect(image).not_to_have_attribute("src", before)
        expect(page).to_have_url(re.compile(r"/qr$"))  # the block was swapped, the page stayed
        expect(page.get_by_role("heading", level=1)).to_have_count(1)
        assert scanned(image) != token

    def test_with_javascript_renew_swaps_the_qr_alone(
        self, page: Page, context: BrowserContext, web: WebServer
    ) -> None:
        signed_in(context, web, registered(web))
        page.goto("/qr?lang=en")
        image = qr_image(page, "en")
        before = image.get_attribute("src")
        page.get_by_role("button", name="Renew").click()
        expect(image).not_to_have_attribute("src", before or "")
        check_page(page, "qr-renewed")
