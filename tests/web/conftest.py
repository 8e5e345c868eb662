"""Browser tests: Debian's Chromium driven by Playwright (no browser download), against the service running as a real
server process. Pages are found as a person finds them: by role and accessible name, on a 390×844 phone screen.

Screenshots of the pages go to `test-output/screenshots/` (git-ignored) for people to look at."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Browser, BrowserContext, Page, Playwright, sync_playwright

from tests.factories import registration
from tests.web.server import REPO, WebServer

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
PHONE = {"width": 390, "height": 844}
SHOTS = REPO / "test-output" / "screenshots"
SERIOUS = {"serious", "critical"}


@pytest.fixture(scope="session")
def web() -> Iterator[WebServer]:
    with WebServer() as server:
        yield server


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="session")
def browser(playwright: Playwright) -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.fail("Chromium is missing: `make test` installs Debian's chromium package")
    launched = playwright.chromium.launch(
        executable_path=CHROMIUM,
        args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"],
    )
    yield launched
    launched.close()


def new_context(browser: Browser, web: WebServer, *, javascript: bool = True, **options: Any) -> BrowserContext:
    options.setdefault("viewport", PHONE)
    context = browser.new_context(base_url=web.base_url, java_script_enabled=javascript, locale="vi-VN", **options)
    context.set_default_timeout(10_000)
    return context


@pytest.fixture
def context(browser: Browser, web: WebServer) -> Iterator[BrowserContext]:
    ctx = new_context(browser, web)
    yield ctx
    ctx.close()


@pytest.fixture
def page(context: BrowserContext) -> Page:
    return context.new_page()


@dataclass
class Person:
    """A citizen of the tests: their registration data and, once signed in, their API tokens."""

    data: dict[str, Any]
    tokens: dict[str, Any] | None = None

    @property
    def national_id(self) -> str:
        return str(self.data["national_id"])

    @property
    def phone(self) -> str:
        return str(self.data["phone"])

    @property
    def token(self) -> str:
        assert self.tokens is not None
        return str(self.tokens["access_token"])


def registered(web: WebServer, **overrides: Any) -> Person:
    """A citizen registered through the API (the quick way to a test's starting point)."""
    person = Person(registration(**overrides))
    with web.api() as api:
        challenge = api.post("/auth/register", json=person.data)
        assert challenge.status_code == 202, challenge.text
        code = web.code_for(person.phone)
        tokens = api.post("/auth/otp/verify", json={"challenge_id": challenge.json()["challenge_id"], "code": code})
        assert tokens.status_code == 200, tokens.text
    person.tokens = tokens.json()
    return person


def signed_in(context: BrowserContext, web: WebServer, person: Person) -> None:
    """Give the browser the person's session: the same cookies a sign-in through the pages sets."""
    assert person.tokens is not None
    context.add_cookies(
        [
            {"name": "cds_at", "value": person.tokens["access_token"], "url": web.base_url, "httpOnly": True},
            {"name": "cds_rt", "value": person.tokens["refresh_token"], "url": web.base_url, "httpOnly": True},
        ]
    )


def check_page(page: Page, name: str) -> None:
    """What every page must hold: one h1, a title, no horizontal scroll at 390 px, no serious axe violation; and a
    screenshot for people to look at."""
    assert page.locator("h1").count() == 1, f"{name}: {page.locator('h1').count()} h1"
    assert page.title(), name
    width = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert width[0] <= width[1], f"{name}: horizontal scroll ({width[0]} > {width[1]})"
    results = Axe().run(page)
    bad = [v for v in results.response["violations"] if v.get("impact") in SERIOUS]
    assert not bad, f"{name}: " + "; ".join(f"{v['id']}: {v['help']} ({len(v['nodes'])})" for v in bad)
    shot(page, name)


def shot(page: Page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    lang = page.locator("html").get_attribute("lang") or "xx"
    safe = re.sub(r"[^a-z0-9_-]+", "-", name.lower())
    page.screenshot(path=str(SHOTS / f"{safe}-{lang}.png"), full_page=True)
