"""`OPTIONS` answers name every method the route serves. Litestar makes a route's OPTIONS handler with its first
handler and keeps it when later handlers of the same path join the route, so its `Allow` named only some methods
(OPTIONS /documents said "OPTIONS, POST"); this `before_send` hook writes the route's whole set, as the 405 problem
already carries it."""

from __future__ import annotations

from typing import Any

from litestar.datastructures import MutableScopeHeaders
from litestar.types import Message, Scope

_ALLOWED: dict[int, dict[str, str]] = {}


def _allowed(app: Any) -> dict[str, str]:
    """Path template → the `Allow` value of its route, once per app."""
    if id(app) not in _ALLOWED:
        _ALLOWED[id(app)] = {
            route.path_format: ", ".join(sorted(route.methods)) for route in app.routes if hasattr(route, "methods")
        }
    return _ALLOWED[id(app)]


async def allow_matches_route(message: Message, scope: Scope) -> None:
    if message["type"] != "http.response.start" or scope.get("method") != "OPTIONS" or message["status"] != 204:
        return
    allowed = _allowed(scope["app"]).get(scope.get("path_template", ""))
    if allowed is not None:
        MutableScopeHeaders.from_message(message)["allow"] = allowed
