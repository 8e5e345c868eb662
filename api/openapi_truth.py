"""The published OpenAPI schema, completed so that it tells the truth: Litestar builds it from the handlers'
signatures, which know neither the route policy, nor the problem answers the guards, middleware and services give,
nor the constraints the models' validators enforce. One pass over the generated schema adds them, from the policy
table (api/policy.py) and the table of answers (api/openapi_codes.py)."""

from __future__ import annotations

import copy
import itertools
from typing import Any

from litestar import Request
from litestar.openapi.plugins import JsonRenderPlugin
from pydantic import BaseModel

from api.openapi_codes import CODES_OF, DOMAIN, LINKS, PATTERNS, THROTTLED
from api.policy import Policy, Rule
from identity.scopes import SCOPES

PROBLEM_JSON = "application/problem+json"
_METHODS = ("get", "put", "post", "delete", "patch", "head", "options", "trace")
_PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}

PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "title": "Problem",
    "description": "RFC 9457 problem details with a stable `code`; `title` follows Accept-Language (vi, en).",
    "required": ["type", "title", "status", "detail", "code", "request_id"],
    "properties": {
        "type": {"type": "string", "description": "urn:congdanso:problem:CODE"},
        "title": {"type": "string"},
        "status": {"type": "integer", "minimum": 400, "maximum": 599},
        "detail": {"type": "string"},
        "code": {"type": "string", "description": "stable machine-readable code"},
        "instance": {"type": "string"},
        "request_id": {"type": "string", "description": "the request's X-Request-ID"},
        "errors": {
            "type": "array",
            "description": "the offending fields (validation_failed)",
            "items": {
                "type": "object",
                "required": ["field", "messages"],
                "properties": {"field": {"type": "string"}, "messages": {"type": "array", "items": {"type": "string"}}},
            },
        },
        "error": {"type": "string", "description": "the OAuth 2.0 error code (POST /oauth/token)"},
    },
}


def truthful_schema(generated: dict[str, Any], policy: Policy) -> dict[str, Any]:
    """A completed copy of the schema Litestar generated."""
    schema = copy.deepcopy(generated)
    components = schema.setdefault("components", {})
    components.setdefault("schemas", {})["Problem"] = PROBLEM_SCHEMA
    _describe_scopes(components)
    for path, item in schema.get("paths", {}).items():
        for method, operation in item.items():
            if method not in _METHODS:
                continue
            rule = policy.rule(method.upper(), path)
            if rule is not None:
                operation["security"] = _security(rule)
            _add_problems(operation, method.upper(), path, rule)
    _add_links(schema.get("paths", {}))
    _forbid_extras(components.get("schemas", {}))
    _add_patterns(components.get("schemas", {}))
    return schema


def _describe_scopes(components: dict[str, Any]) -> None:
    bearer = components.setdefault("securitySchemes", {}).setdefault("BearerToken", {"type": "http"})
    bearer.update(scheme="bearer", bearerFormat="JWT")
    lines = "\n".join(f"- `{name}`: {text}" for name, text in SCOPES.items())
    bearer["description"] = (
        "A citizen's or officer's access token (POST /auth/otp/verify) or an agency's (POST /oauth/token). "
        "An agency holds scopes, and an officer acts with their agency's; an operation's `security` names the "
        f"scopes it needs (a missing one answers 403 insufficient_scope):\n{lines}"
    )


def _security(rule: Rule) -> list[dict[str, list[str]]]:
    """No credential for anonymous routes; else the bearer token with the scopes, one requirement per choice."""
    if rule.public:
        return []
    choices = [sorted(word.split("|")) for word in sorted(rule.scopes)]
    return [{"BearerToken": sorted(combo)} for combo in itertools.product(*choices)] or [{"BearerToken": []}]


def _statuses(operation: dict[str, Any], method: str, path: str, rule: Rule | None) -> set[int]:
    statuses = {431, 503}
    if rule is not None and not rule.public:
        statuses |= {401, 403}
    content = operation.get("requestBody", {}).get("content", {})
    if content:
        statuses |= {400, 413, 422}
        if any(kind != "application/json" for kind in content):
            statuses.add(415)
    parameters = operation.get("parameters", [])
    if any(p.get("in") in ("query", "path") for p in parameters):
        statuses |= {400, 422}
    if "{" in path:
        statuses.add(404)
    if (method, path) in THROTTLED:
        statuses.add(429)
    statuses.update(DOMAIN.get((method, path), ()))
    return statuses


def _add_problems(operation: dict[str, Any], method: str, path: str, rule: Rule | None) -> None:
    responses = operation.setdefault("responses", {})
    for status in sorted(_statuses(operation, method, path, rule)):
        described = responses.get(str(status), {}).get("description", "")
        if described and "content" not in responses[str(status)]:
            continue  # a handler's own non-problem answer (e.g. a redirect) stays as the handler declared it
        responses[str(status)] = {
            "description": CODES_OF.get(status, "problem"),
            "content": {PROBLEM_JSON: {"schema": _PROBLEM_REF}},
        }
    for status, response in responses.items():
        if status.isdigit() and int(status) >= 400 and PROBLEM_JSON not in response.get("content", {PROBLEM_JSON: 0}):
            response["content"] = {PROBLEM_JSON: {"schema": _PROBLEM_REF}}


def _add_links(paths: dict[str, Any]) -> None:
    for (method, path, status), targets in LINKS.items():
        response = paths.get(path, {}).get(method.lower(), {}).get("responses", {}).get(status)
        if response is None:
            continue
        links = response.setdefault("links", {})
        for target_method, target_path, parameter, expression in targets:
            target = paths.get(target_path, {}).get(target_method.lower())
            if target is not None and "operationId" in target:
                links[target["operationId"]] = {
                    "operationId": target["operationId"],
                    "parameters": {parameter: expression},
                }


def _models_forbidding_extras() -> dict[str, type[BaseModel]]:
    found: dict[str, type[BaseModel]] = {}
    pending: list[type[BaseModel]] = [BaseModel]
    while pending:
        cls = pending.pop()
        pending.extend(cls.__subclasses__())
        if cls.model_config.get("extra") == "forbid":
            found[cls.__name__] = cls
    return found


def _forbid_extras(schemas: dict[str, Any]) -> None:
    """`additionalProperties: false` on the bodies whose models refuse unknown members (pydantic extra="forbid")."""
    strict = _models_forbidding_extras()
    for name, schema in schemas.items():
        if name in strict and schema.get("type") == "object":
            schema["additionalProperties"] = False


def _add_patterns(schemas: dict[str, Any]) -> None:
    for (model, field), pattern in PATTERNS.items():
        prop = schemas.get(model, {}).get("properties", {}).get(field)
        if prop is not None:
            prop["pattern"] = pattern


class TruthfulJsonPlugin(JsonRenderPlugin):
    """/schema/openapi.json: the completed schema, built once per app from the policy the app enforces."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._done: tuple[int, dict[str, Any]] | None = None

    def completed(self, request: Request[Any, Any, Any], generated: dict[str, Any]) -> dict[str, Any]:
        if self._done is None or self._done[0] != id(generated):
            self._done = (id(generated), truthful_schema(generated, request.app.state["policy"]))
        return self._done[1]

    def render(self, request: Request[Any, Any, Any], openapi_schema: dict[str, Any]) -> bytes:
        return self.render_json(request, self.completed(request, openapi_schema))
