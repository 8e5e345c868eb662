"""The published schema tells the truth: problem answers documented as problem+json, scopes from the policy, the
constraints the server enforces; and OPTIONS names the same methods as a 405's Allow."""

from __future__ import annotations

from typing import Any

import pytest

from api.policy import POLICY
from identity.scopes import SCOPES
from tests.integration.conftest import Wallet

sqlite_only = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
PROBLEM = "application/problem+json"


def _operations(schema: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [(m.upper(), p, op) for p, item in schema["paths"].items() for m, op in item.items() if m != "parameters"]


@sqlite_only
def test_every_failure_answer_is_a_documented_problem(wallet: Wallet) -> None:
    schema = wallet.client.get("/schema/openapi.json").json()
    assert "Problem" in schema["components"]["schemas"]
    for method, path, op in _operations(schema):
        rule = POLICY.rule(method, path)
        failures = {code: r for code, r in op["responses"].items() if int(code) >= 400}
        assert "503" in failures, (method, path)
        assert all(PROBLEM in r["content"] and "application/json" not in r["content"] for r in failures.values())
        if rule is not None and not rule.public:
            assert {"401", "403"} <= failures.keys(), (method, path)
        elif rule is not None:
            assert "403" not in failures or (method in ("GET", "POST") and "eid" in path), (method, path)
        if "{" in path:
            assert "404" in failures, (method, path)
        if "requestBody" in op:
            assert {"400", "413", "422"} <= failures.keys(), (method, path)


@sqlite_only
def test_security_names_the_scopes_the_policy_needs(wallet: Wallet) -> None:
    schema = wallet.client.get("/schema/openapi.json").json()
    bearer = schema["components"]["securitySchemes"]["BearerToken"]
    assert all(f"`{scope}`" in bearer["description"] for scope in SCOPES)
    ops = {(m, p): op for m, p, op in _operations(schema)}
    assert ops[("POST", "/api/v1/agency/applications/{application_id}/result")]["security"] == [
        {"BearerToken": ["applications:process", "documents:issue"]}
    ]
    assert ops[("GET", "/api/v1/stats")]["security"] == [{"BearerToken": ["admin"]}, {"BearerToken": ["stats:read"]}]
    assert ops[("POST", "/api/v1/auth/login")]["security"] == []
    assert "403" not in ops[("POST", "/api/v1/auth/login")]["responses"]


@sqlite_only
def test_enforced_constraints_are_in_the_schema(wallet: Wallet) -> None:
    components = wallet.client.get("/schema/openapi.json").json()["components"]["schemas"]
    assert components["RegisterRequest"]["properties"]["pin"]["pattern"] == "^[0-9]{6}$"
    assert components["RegisterRequest"]["additionalProperties"] is False
    assert components["ConsentRequestCreate"]["additionalProperties"] is False
    extra = wallet.post("/auth/register", json={"surprise": 1})
    assert extra.status_code == 422


@sqlite_only
def test_options_names_every_method_of_the_route_as_405_does(wallet: Wallet) -> None:
    for path in ("/api/v1/documents", "/api/v1/documents/some-id", "/api/v1/me", "/api/v1/applications/x"):
        options = wallet.client.options(path)
        refused = wallet.client.request("TRACE", path)
        assert options.status_code == 204 and refused.status_code == 405, path
        allow = {m.strip() for m in options.headers["allow"].split(",")}
        assert allow == {m.strip() for m in refused.headers["allow"].split(",")}, path
        assert refused.headers["content-type"].startswith(PROBLEM)
    assert {"GET", "POST"} <= {
        m.strip() for m in wallet.client.options("/api/v1/documents").headers["allow"].split(",")
    }
