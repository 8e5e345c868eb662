"""Nothing is fetched from outside the service at run time: every request the pages make, the citizen's and the
staff's, in both languages, goes to the service's own origin (scripts, styles, fonts, icons, WebAssembly, the
service worker and what it fetches)."""

from __future__ import annotations

from urllib.parse import urlsplit

from playwright.sync_api import BrowserContext, Page, Request, expect

from tests.web.conftest import registered, signed_in
from tests.web.server import WebServer
from tests.web.world import new_agency, new_staff, staff_signed_in

LOCAL_SCHEMES = {"data", "blob"}  # made inside the page, never fetched


def recorded(context: BrowserContext) -> list[str]:
    urls: list[str] = []

    def keep(request: Request) -> None:
        urls.append(request.url)

    context.on("request", keep)
    return urls


def foreign(urls: list[str], web: WebServer) -> list[str]:
    own = urlsplit(web.base_url)
    return [
        url
        for url in urls
        if (parts := urlsplit(url)).scheme not in LOCAL_SCHEMES and (parts.scheme, parts.netloc) != own[:2]
    ]


def every_link_of(page: Page, navigation: str) -> None:
    """Open each page the navigation names, in its order (the pages load whole, so each one's assets are seen)."""
    links = page.get_by_role("navigation", name=navigation).get_by_role("link")
    hrefs = [links.nth(index).get_attribute("href") for index in range(links.count())]
    assert len(hrefs) >= 4, hrefs
    for href in hrefs:
        assert href is not None
        page.goto(href)
        page.wait_for_load_state("networkidle")
        expect(page.get_by_role("heading", level=1)).to_be_visible()


def test_the_citizen_pages_fetch_only_from_the_service(context: BrowserContext, web: WebServer) -> None:
    urls = recorded(context)
    page = context.new_page()
    page.goto("/")
    page.goto("/sign-in")
    signed_in(context, web, registered(web))
    for lang, navigation in (("vi", "Điều hướng chính"), ("en", "Main")):
        page.goto(f"/papers?lang={lang}")
        every_link_of(page, navigation)
    assert len(urls) > 20  # the pages, their styles, scripts, icons and the service worker were seen
    assert foreign(urls, web) == []


def test_the_staff_pages_fetch_only_from_the_service(context: BrowserContext, web: WebServer) -> None:
    urls = recorded(context)
    page = context.new_page()
    page.goto("/officer/sign-in")
    staff_signed_in(context, web, new_staff(web, new_agency(web)))
    for lang, navigation in (("vi", "Điều hướng cán bộ"), ("en", "Staff")):
        page.goto(f"/officer/scan?lang={lang}")
        every_link_of(page, navigation)
    assert any(url.endswith(".js") for url in urls)
    assert foreign(urls, web) == []
