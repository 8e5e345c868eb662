"""Security headers, request ids and structured access logs (never bodies, tokens or codes)."""

from __future__ import annotations

import re
import time
import uuid
from typing import Any

import structlog
from litestar.enums import ScopeType
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from api.unit import close_unit

log = structlog.get_logger("api.access")

_SECURITY_HEADERS = {
    "strict-transport-security": "max-age=63072000; includeSubDomains",
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
    "cross-origin-opener-policy": "same-origin",
}
_API_CSP = "default-src 'none'; frame-ancestors 'none'"
# An incoming id is kept only if it could not smuggle anything into a log line or a header.
_WELL_FORMED_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{7,63}")


def _trusted_proxies(scope: Scope) -> frozenset[str]:
    app = scope.get("litestar_app")
    container = getattr(getattr(app, "state", None), "container", None)
    return frozenset(getattr(getattr(container, "settings", None), "trusted_proxies", ()))


def _incoming_id(scope: Scope) -> str | None:
    """The `X-Request-ID` a trusted proxy set (the same trust rule as `api.deps.client_ip`); none from anyone else."""
    client = scope.get("client")
    if not client or client[0] not in _trusted_proxies(scope):
        return None
    for name, value in scope.get("headers", ()):
        if name.lower() == b"x-request-id":
            text = value.decode("latin-1").strip()
            return text if _WELL_FORMED_ID.fullmatch(text) else None
    return None


def request_id_of(scope: Scope) -> str:
    """The request's id, chosen once and kept in the scope, so the access line, every log line emitted while the
    request runs, its problem body and its `X-Request-ID` header all agree, even for answers given outside the
    route's middleware (an unknown path)."""
    state: dict[str, Any] = scope.setdefault("state", {})
    request_id = state.get("request_id")
    if not isinstance(request_id, str):
        request_id = _incoming_id(scope) or uuid.uuid4().hex
        state["request_id"] = request_id
    return request_id


async def add_security_headers(message: Message, scope: Scope) -> None:
    """A `before_send` hook, so even answers for unknown routes carry the headers: HSTS, nosniff and
    friends everywhere, and `Cache-Control: no-store` on API answers, which carry personal data that
    no shared or browser cache may keep."""
    if message["type"] != "http.response.start":
        return
    path: str = scope.get("path", "")
    api = path.startswith("/api/") or path == "/health"
    # One pass over the answer's raw headers (each name set here replaces the answer's own; the API's CSP only
    # where the answer has none): setting them one by one through `MutableScopeHeaders` scanned the list for each.
    replaced = _API_REPLACED if api else _REPLACED
    headers = [(name, value) for name, value in message.get("headers", ()) if name.lower() not in replaced]
    has_csp = any(name.lower() == b"content-security-policy" for name, _ in headers)
    headers.extend(_SECURITY_RAW)
    if scope.get("type") == ScopeType.HTTP:
        headers.append((b"x-request-id", request_id_of(scope).encode("latin-1")))
    if api:
        headers.append((b"cache-control", b"no-store"))
        if not has_csp:
            headers.append((b"content-security-policy", _API_CSP.encode()))
    message["headers"] = headers


_SECURITY_RAW = [(name.encode(), value.encode()) for name, value in _SECURITY_HEADERS.items()]
_REPLACED = frozenset({*(name for name, _ in _SECURITY_RAW), b"x-request-id"})
_API_REPLACED = _REPLACED | {b"cache-control"}


def access_log_middleware(app: ASGIApp) -> ASGIApp:
    """One structured line per request: method, route path, status, duration, request id. The id is bound into
    structlog's context for the request, so every line logged while it runs carries it too (handlers run in worker
    threads, which start with a copy of this context)."""

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_logged(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        with structlog.contextvars.bound_contextvars(request_id=request_id_of(scope)):
            try:
                await app(scope, receive, send_logged)
            finally:
                await close_unit(scope)
                log.info(
                    "request",
                    method=scope.get("method"),
                    path=scope["path"],
                    status=status,
                    ms=round((time.perf_counter() - started) * 1000, 2),
                )

    return middleware
