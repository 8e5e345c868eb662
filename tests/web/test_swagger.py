"""/schema/swagger loads only the service's own files, under a CSP without inline scripts, and shows the API."""

from __future__ import annotations

import re

import httpx
from playwright.sync_api import Page, expect

from tests.web.server import WebServer


def test_the_swagger_page_loads_only_same_origin_assets(web: WebServer) -> None:
    answer = httpx.get(f"{web.base_url}/schema/swagger")
    assert answer.status_code == 200
    script_src = re.search(r"script-src ([^;]*)", answer.headers["content-security-policy"])
    assert script_src is not None and script_src.group(1).strip() == "'self'"
    references = re.findall(r'(?:src|href)="([^"]+)"', answer.text)
    assert references and all(ref.startswith("/") and not ref.startswith("//") for ref in references), references
    assert "<script>" not in answer.text  # every script is a file of ours
    for ref in references:
        assert httpx.get(f"{web.base_url}{ref}").status_code == 200, ref


def test_swagger_ui_renders_the_operations(page: Page, web: WebServer) -> None:
    foreign: list[str] = []
    page.on("request", lambda r: foreign.append(r.url) if not r.url.startswith(web.base_url) else None)
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.goto("/schema/swagger")
    expect(page.locator(".opblock").first).to_be_visible(timeout=15_000)
    assert page.locator(".opblock").count() > 60
    assert page.get_by_text("/api/v1/auth/login").first.is_visible()
    assert not foreign, foreign
    assert not [e for e in errors if "Content Security Policy" in e], errors
