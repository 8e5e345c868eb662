"""The web package's part of the application: its routes, the language of each request, the browser session's
renewal, CSRF, the pages' headers, and HTML error pages (the API keeps its problem+json)."""

from __future__ import annotations

import importlib
import importlib.util
from typing import Any
from urllib.parse import parse_qs

import structlog
from litestar import Request, Response, Router
from litestar.config.csrf import CSRFConfig
from litestar.datastructures import CacheControlHeader, Cookie, MutableScopeHeaders, State
from litestar.di import Provide
from litestar.exceptions import HTTPException, NotFoundException, PermissionDeniedException
from litestar.response import Template
from litestar.static_files import create_static_files_router
from litestar.types import Message, Scope

from crypto.derive import derive_key
from crypto.keyring import Keyring
from web import i18n
from web.officer.app import officer_router
from web.pages import page
from web.session import RENEWED_SCOPE_KEY, NotSignedIn, require_citizen
from web.templating import STATIC, STATIC_PREFIX, template_config

log = structlog.get_logger(__name__)

LANG_COOKIE = "lang"
ONE_YEAR = 365 * 24 * 3600
# Every path of the pages (the API, the health and metrics endpoints and the static files have their own rules).
NOT_PAGES = ("/api/", "/health", "/metrics", "/schema", "/.well-known/", STATIC_PREFIX + "/")
CSP = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data: blob:",
        "font-src 'self'",
        "connect-src 'self'",
        "manifest-src 'self'",
        "worker-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)


WASM_PAGES = ("/officer/scan",)
CSP_WASM = CSP.replace("script-src 'self'", "script-src 'self' 'wasm-unsafe-eval'")


def is_page(path: str) -> bool:
    return not path.startswith(NOT_PAGES)


async def choose_language(request: Request[Any, Any, State]) -> None:
    """Before every page: the language of this request (`?lang=`, else the remembered choice, else Vietnamese).
    A coroutine on purpose: it runs in the request's own context, so the ContextVar it sets reaches the rendering
    (a plain function would run in a worker thread's copy of the context and be lost)."""
    i18n.activate(i18n.negotiate(request.query_params.get("lang"), request.cookies.get(LANG_COOKIE)))


async def page_headers(message: Message, scope: Scope) -> None:
    """A `before_send` hook for page answers: the strict CSP, no caching of personal pages, a language chosen by
    `?lang=` remembered, and a session renewed during the request carried back to the browser."""
    if message["type"] != "http.response.start" or not is_page(scope.get("path", "")):
        return
    headers = MutableScopeHeaders.from_message(message)
    # The counter's camera page runs the QR decoder's WebAssembly (never `unsafe-eval`); every other page: no wasm.
    path = scope.get("path", "")
    headers["content-security-policy"] = CSP_WASM if path.startswith(WASM_PAGES) else CSP
    headers["cache-control"] = "no-store"
    headers["vary"] = "Cookie, HX-Request"
    request_headers = dict(scope.get("headers", []))
    if scope.get("method") == "GET" and request_headers.get(b"hx-boosted") == b"true":
        # A boosted navigation may have followed a redirect (POST/redirect/GET): the address bar shows where it landed.
        query = scope.get("query_string", b"").decode("latin-1")
        headers["hx-push-url"] = scope.get("path", "/") + (f"?{query}" if query else "")
    chosen = parse_qs(scope.get("query_string", b"").decode("latin-1")).get("lang", [""])[0]
    if chosen in i18n.LOCALES:
        cookie = Cookie(key=LANG_COOKIE, value=chosen, path="/", max_age=ONE_YEAR, samesite="lax")
        headers.add("set-cookie", cookie.to_header(header=""))
    renewed: list[Cookie] = scope.get(RENEWED_SCOPE_KEY) or []  # type: ignore[assignment]
    for cookie in renewed:
        headers.add("set-cookie", cookie.to_header(header=""))


def sign_in_first(request: Request[Any, Any, State], exc: NotSignedIn) -> Response[Any]:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    location = f"{exc.sign_in}?next_page={target}" if request.method == "GET" else exc.sign_in
    if request.headers.get("hx-request") == "true":
        return Response(content=None, status_code=204, headers={"HX-Redirect": location})
    return Response(content=None, status_code=303, headers={"location": location})


def error_page(request: Request[Any, Any, State], exc: Exception) -> Template:
    """A page for refusals and faults on page routes: never a stack trace, never JSON."""
    i18n.activate(i18n.negotiate(request.query_params.get("lang"), request.cookies.get(LANG_COOKIE)))
    if isinstance(exc, PermissionDeniedException):
        return page("errors/error.html", status=403, kind="forbidden")
    if isinstance(exc, NotFoundException):
        return page("errors/error.html", status=404, kind="not_found")
    if isinstance(exc, HTTPException) and exc.status_code < 500:
        return page("errors/error.html", status=exc.status_code, kind="bad_request")
    log.error("unhandled_page_error", error=type(exc).__name__, path=request.url.path, exc_info=exc)
    return page("errors/error.html", status=500, kind="fault")


# One module a part of the app under web/controllers/, each exporting ROUTES; a part not written yet is skipped.
AREAS = ("auth", "papers", "qr", "sharing", "log", "notices", "services", "account", "pwa", "verify")


def area_routes() -> list[Any]:
    routes: list[Any] = []
    for area in AREAS:
        name = f"web.controllers.{area}"
        if importlib.util.find_spec(name) is not None:
            routes += importlib.import_module(name).ROUTES
    return routes


def pages_router() -> Router:
    return Router(
        path="/",
        route_handlers=[*area_routes(), officer_router()],
        dependencies={"citizen": Provide(require_citizen)},
        before_request=choose_language,
        exception_handlers={NotSignedIn: sign_in_first, HTTPException: error_page, Exception: error_page},
        include_in_schema=False,
    )


def static_router() -> Router:
    return create_static_files_router(
        path=STATIC_PREFIX,
        directories=[STATIC],
        cache_control=CacheControlHeader(max_age=ONE_YEAR, public=True),  # URLs carry the content's hash
        include_in_schema=False,
        name="static",
    )


def csrf_config(keyring: Keyring) -> CSRFConfig:
    """Double-submit CSRF tokens on every state-changing page form (the API uses bearer tokens, not cookies)."""
    return CSRFConfig(
        secret=derive_key(keyring.index_key, "csrf").hex(),
        cookie_name="cds_csrf",
        cookie_httponly=True,
        cookie_samesite="lax",
        exclude=[f"^{prefix}" for prefix in NOT_PAGES],
    )


__all__ = [
    "CSP",
    "csrf_config",
    "error_page",
    "is_page",
    "page_headers",
    "pages_router",
    "static_router",
    "template_config",
]
