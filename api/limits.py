"""Bounds on what a request may make the service hold before a handler runs: its header fields, in number and in
bytes. The server (uvicorn's h11, see `api.cli`) already drops a head far over the bound before buffering it; this
check answers the rest with 431 problem+json, so a client gets a stable code rather than a closed socket."""

from __future__ import annotations

from litestar.config.cors import CORSConfig
from litestar.enums import ScopeType
from litestar.exceptions import HTTPException
from litestar.middleware._internal.cors import CORSMiddleware
from litestar.types import ASGIApp, Receive, Scope, Send

from api.multipart import MultipartLimits
from api.settings import Settings

HEADERS_TOO_LARGE = 431


class HeadersTooLarge(HTTPException):
    status_code = HEADERS_TOO_LARGE


def header_limits(app: ASGIApp, *, max_headers: int, max_bytes: int) -> ASGIApp:
    """Refuse a request with more than `max_headers` fields or more than `max_bytes` of names and values."""

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == ScopeType.HTTP:
            headers = list(scope["headers"])
            if len(headers) > max_headers:
                raise HeadersTooLarge(detail=f"at most {max_headers} header fields")
            if sum(len(name) + len(value) for name, value in headers) > max_bytes:
                raise HeadersTooLarge(detail=f"header fields exceed {max_bytes // 1024} KB")
        await app(scope, receive, send)

    return middleware


def server_head_bound(max_header_kb: int) -> int:
    """What the HTTP server buffers of a request line and head at most: twice the application's bound, so a head a
    little over it still reaches the app and gets its 431 problem, while a huge one is cut off unread."""
    return 2 * max_header_kb * 1024


def multipart_limits(settings: Settings) -> MultipartLimits:
    return MultipartLimits(
        part_header_bytes=settings.max_part_header_kb * 1024,
        parts=settings.max_parts,
        text_part_bytes=settings.max_text_part_kb * 1024,
    )


def cors_for_api(app: ASGIApp, *, origins: list[str], prefix: str) -> ASGIApp:
    """Cross-origin calls only to the API under `prefix`, and only from the exact `origins` (none unless configured):
    the pages, the metrics and the schema never answer another origin."""
    if not origins:
        return app
    config = CORSConfig(
        allow_origins=origins,
        allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
        allow_headers=["authorization", "content-type", "accept-language"],
        expose_headers=["x-request-id", "retry-after", "location"],
        allow_credentials=False,  # bearer tokens, never the pages' cookies
        max_age=600,
    )
    # Litestar's own CORS handling, applied here rather than app-wide so it stays on the API's paths.
    with_cors = CORSMiddleware(app=app, config=config)

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        path: str = scope.get("path", "")
        if scope["type"] == ScopeType.HTTP and path.startswith(prefix + "/"):
            await with_cors(scope, receive, send)
        else:
            await app(scope, receive, send)

    return middleware
