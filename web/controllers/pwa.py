"""The app as an installable PWA: its manifest, its service worker (served from the root so it controls every page),
and the page shown for a page not kept offline when the network is gone."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from litestar import Controller, Response, get
from litestar.response import Template

from web import i18n
from web.pages import page
from web.templating import TEMPLATES, asset_version, environment, static

OFFLINE_CACHE = "cds-offline-v1"  # the papers the citizen keeps offline (and the list of papers)
# The app shell, kept by the service worker from its installation on.
SHELL = ("css/app.css", "vendor/htmx/htmx.min.js", "js/pwa.js", "icons/icon.svg", "icons/icon-192.png")


def shell_urls() -> list[str]:
    return [static(path) for path in SHELL]


def worker_version() -> str:
    """Changes whenever the shell or the worker itself does, so browsers install the new worker."""
    parts = [asset_version(path) for path in SHELL] + [(TEMPLATES / "pwa" / "sw.js").read_text(encoding="utf-8")]
    return hashlib.sha256("".join(parts).encode()).hexdigest()[:12]


class PwaPages(Controller):
    include_in_schema = False

    @get("/manifest.webmanifest")
    async def manifest(self) -> Response[bytes]:
        body = {
            "name": i18n.gettext("Citizen Wallet"),
            "short_name": i18n.gettext("Citizen Wallet"),
            "description": i18n.gettext("Your papers, given once"),
            "lang": i18n.current(),
            "start_url": "/papers",
            "scope": "/",
            "display": "standalone",
            "theme_color": "#0b4f8a",
            "background_color": "#ffffff",
            "icons": [
                {"src": static("icons/icon-192.png"), "sizes": "192x192", "type": "image/png"},
                {"src": static("icons/icon-512.png"), "sizes": "512x512", "type": "image/png"},
                {
                    "src": static("icons/icon-maskable-512.png"),
                    "sizes": "512x512",
                    "type": "image/png",
                    "purpose": "maskable",
                },
            ],
        }
        return Response(json.dumps(body, ensure_ascii=False).encode(), media_type="application/manifest+json")

    @get("/sw.js")
    async def service_worker(self) -> Response[str]:
        script = (
            environment()
            .get_template("pwa/sw.js")
            .render(version=worker_version(), shell=shell_urls(), offline_cache=OFFLINE_CACHE)
        )
        headers = {"cache-control": "no-cache", "service-worker-allowed": "/"}
        return Response(script, media_type="text/javascript", headers=headers)

    @get("/offline")
    async def offline(self) -> Template:
        return page("pwa/offline.html")


ROUTES: list[Any] = [PwaPages]
