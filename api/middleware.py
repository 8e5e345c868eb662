"""Security headers and structured access logs (never bodies, tokens or codes)."""

from __future__ import annotations

import time
import uuid

import structlog
from litestar.datastructures import MutableScopeHeaders
from litestar.enums import ScopeType
from litestar.types import ASGIApp, Message, Receive, Scope, Send

log = structlog.get_logger("api.access")

_SECURITY_HEADERS = {
    "strict-transport-security": "max-age=63072000; includeSubDomains",
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
    "cross-origin-opener-policy": "same-origin",
}
_API_CSP = "default-src 'none'; frame-ancestors 'none'"


async def add_security_headers(message: Message, scope: Scope) -> None:
    """A `before_send` hook, so even answers for unknown routes carry the headers: HSTS, nosniff and
    friends everywhere, and `Cache-Control: no-store` on API answers, which carry personal data that
    no shared or browser cache may keep."""
    if message["type"] != "http.response.start":
        return
    headers = MutableScopeHeaders.from_message(message)
    for name, value in _SECURITY_HEADERS.items():
        headers[name] = value
    path: str = scope.get("path", "")
    if path.startswith("/api/") or path == "/health":
        headers["cache-control"] = "no-store"
        headers.setdefault("content-security-policy", _API_CSP)


def access_log_middleware(app: ASGIApp) -> ASGIApp:
    """One structured line per request: method, route path, status, duration, request id."""

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await app(scope, receive, send)
            return
        started = time.perf_counter()
        request_id = uuid.uuid4().hex
        status = 500

        async def send_logged(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                MutableScopeHeaders.from_message(message)["x-request-id"] = request_id
            await send(message)

        try:
            await app(scope, receive, send_logged)
        finally:
            log.info(
                "request",
                method=scope.get("method"),
                path=scope["path"],
                status=status,
                ms=round((time.perf_counter() - started) * 1000, 2),
                request_id=request_id,
            )

    return middleware
