"""The app as a PWA: its manifest and icons, the service worker, papers kept offline that open without the network
(the list, the paper's page, its scan), pages not kept answered by the offline page, and signing out wiping every
cache of the device."""

from __future__ import annotations

import io
import json
from typing import Any

from PIL import Image
from playwright.sync_api import Browser, BrowserContext, Page, expect

from tests.integration.wallet_helpers import diploma_fields
from tests.web.conftest import Person, check_page, new_context, registered, signed_in
from tests.web.server import WebServer


def png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (40, 24), "teal").save(out, format="PNG")
    return out.getvalue()


def paper_with_scan(web: WebServer, person: Person, *, name: str) -> dict[str, Any]:
    fields = diploma_fields(
        title=name, holder_name=person.data["full_name"], date_of_birth=person.data["date_of_birth"]
    )
    with web.api() as api:
        answer = api.post(
            "/documents",
            headers={"Authorization": f"Bearer {person.token}"},
            data={"type": "diploma", "fields": json.dumps(fields, ensure_ascii=False)},
            files={"file": ("bang.png", png(), "image/png")},
        )
    assert answer.status_code == 201, answer.text
    return dict(answer.json())


def wait_for_worker(page: Page) -> None:
    page.evaluate("navigator.serviceWorker.ready.then(() => true)")
    page.reload()  # the first page load happened before the worker controlled it


class TestInstallable:
    def test_the_manifest_and_its_icons(self, page: Page, web: WebServer) -> None:
        answer = page.goto("/manifest.webmanifest")
        assert answer is not None and answer.headers["content-type"].startswith("application/manifest+json")
        manifest = answer.json()
        assert manifest["display"] == "standalone" and manifest["start_url"] == "/papers"
        assert manifest["name"] == "Công Dân Số"
        sizes = {icon["sizes"] for icon in manifest["icons"]}
        assert {"192x192", "512x512"} <= sizes
        for icon in manifest["icons"]:
            assert page.request.get(f"{web.base_url}{icon['src']}").status == 200

    def test_the_offline_page(self, page: Page) -> None:
        page.goto("/offline")
        check_page(page, "offline")
        page.goto("/offline?lang=en")
        check_page(page, "offline")


class TestOffline:
    def test_a_paper_kept_offline_opens_without_the_network(self, context: BrowserContext, web: WebServer) -> None:
        person = registered(web)
        kept = paper_with_scan(web, person, name="Bằng cử nhân luật")
        other = paper_with_scan(web, person, name="Bằng thạc sĩ")
        signed_in(context, web, person)
        page = context.new_page()
        page.goto(f"/papers/{kept['id']}")
        wait_for_worker(page)
        page.get_by_role("button", name="Lưu để xem khi không có mạng").click()
        expect(page.get_by_role("button", name="Bỏ lưu ngoại tuyến")).to_be_visible()
        expect(page.get_by_role("button", name="Lưu để xem khi không có mạng")).to_be_hidden()

        context.set_offline(True)
        try:
            page.goto("/papers")
            expect(page.get_by_role("heading", level=1)).to_have_text("Giấy tờ")
            page.goto(f"/papers/{kept['id']}")
            expect(page.get_by_text("Bằng cử nhân luật").first).to_be_visible()
            scan = page.evaluate("fetch(document.querySelector('a[href*=\"/files/\"]').href).then(r => r.status)")
            assert scan == 200
            page.goto(f"/papers/{other['id']}")
            expect(page.get_by_role("heading", level=1)).to_have_text("Bạn đang không có kết nối mạng")
        finally:
            context.set_offline(False)

    def test_signing_out_wipes_every_cache(self, context: BrowserContext, web: WebServer) -> None:
        person = registered(web)
        kept = paper_with_scan(web, person, name="Bằng cử nhân")
        signed_in(context, web, person)
        page = context.new_page()
        page.goto(f"/papers/{kept['id']}")
        wait_for_worker(page)
        page.get_by_role("button", name="Lưu để xem khi không có mạng").click()
        expect(page.get_by_role("button", name="Bỏ lưu ngoại tuyến")).to_be_visible()
        assert "cds-offline-v1" in page.evaluate("caches.keys()")
        page.get_by_role("button", name="Đăng xuất").click()
        expect(page.get_by_role("link", name="Đăng nhập", exact=True)).to_be_visible()
        assert "cds-offline-v1" not in page.evaluate("caches.keys()")
        # The next page may install the worker again: its shell holds the app's files and the offline page, no paper.
        cached = page.evaluate(
            "caches.keys().then(names => Promise.all(names.map(n => caches.open(n).then(c => c.keys()))))"
            ".then(lists => lists.flat().map(r => new URL(r.url).pathname))"
        )
        assert all(path.startswith("/static/") or path == "/offline" for path in cached), cached

    def test_without_javascript_nothing_offers_to_keep_offline(self, browser: Browser, web: WebServer) -> None:
        person = registered(web)
        kept = paper_with_scan(web, person, name="Bằng")
        context = new_context(browser, web, javascript=False)
        try:
            signed_in(context, web, person)
            page = context.new_page()
            page.goto(f"/papers/{kept['id']}")
            expect(page.get_by_role("button", name="Lưu để xem khi không có mạng")).to_be_hidden()
        finally:
            context.close()
