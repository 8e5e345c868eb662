"""/schema/swagger from the service's own files: Swagger UI (npm `swagger-ui-dist`, pinned in scripts/swagger-ui/,
copied by `make deps` under /static/vendor/swagger-ui/) started by a small script of ours, no inline script and
nothing from another origin, under a CSP that allows only this origin's scripts."""

from __future__ import annotations

from html import escape
from typing import Any

from litestar import Request
from litestar.datastructures import MutableScopeHeaders
from litestar.openapi.plugins import OpenAPIRenderPlugin
from litestar.types import Message, Scope

ASSETS = "/static/vendor/swagger-ui"
SWAGGER_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)


class LocalSwaggerPlugin(OpenAPIRenderPlugin):
    def render(self, request: Request[Any, Any, Any], openapi_schema: dict[str, Any]) -> bytes:
        title = escape(str(openapi_schema["info"]["title"]))
        spec = escape(self.get_openapi_json_route(request))
        return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<link rel="stylesheet" href="{ASSETS}/swagger-ui.css">
</head>
<body>
<div id="swagger-ui" data-spec="{spec}"></div>
<script src="{ASSETS}/swagger-ui-bundle.js"></script>
<script src="{ASSETS}/init.js"></script>
</body>
</html>
""".encode()


def swagger_csp(paths: list[str]) -> Any:
    """A `before_send` hook giving the Swagger page its own CSP (the pages' CSP would not name its assets)."""

    async def hook(message: Message, scope: Scope) -> None:
        if message["type"] == "http.response.start" and scope.get("path") in paths:
            MutableScopeHeaders.from_message(message)["content-security-policy"] = SWAGGER_CSP

    return hook
