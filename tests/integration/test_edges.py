"""The edges every client meets: health, metrics, the OpenAPI schema, security headers, problem+json
errors for any bad input (never a 500), the language of titles, and the dev outbox format."""

from __future__ import annotations

import json
import logging
import re
import socket
import time
from collections.abc import Callable
from datetime import date, datetime
from typing import Any, ClassVar

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from prometheus_client.parser import text_string_to_metric_families

from identity.validation import PROVINCE_CODES
from tests.factories import e164, outbox_lines, registration
from tests.integration.conftest import Wallet
from tests.integration.forms_helpers import agency_token

PROBLEM_JSON = "application/problem+json"
PROBLEM_MEMBERS = {"type", "title", "status", "detail", "code"}
HSTS = "strict-transport-security"
JSON = {"content-type": "application/json"}
# For behaviour that does not touch the database, one database is enough (keeps the suite fast).
sqlite_only = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


def closed_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def assert_problem(answer: Any, status: int, code: str | None = None) -> dict[str, Any]:
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"].startswith(PROBLEM_JSON)
    body: dict[str, Any] = answer.json()
    assert body.keys() >= PROBLEM_MEMBERS
    assert body["status"] == status
    assert re.fullmatch(r"[a-z][a-z0-9_]*", body["code"]), body["code"]
    assert body["title"] and body["detail"]
    if code is not None:
        assert body["code"] == code
    return body


def assert_security_headers(answer: Any) -> None:
    assert answer.headers.get(HSTS, "").startswith("max-age="), dict(answer.headers)
    assert answer.headers.get("x-content-type-options") == "nosniff", dict(answer.headers)
    assert answer.headers.get("cache-control") == "no-store", dict(answer.headers)


# name -> (request, expected status, expected code)
ErrorCase = tuple[Callable[[Wallet], Any], int, str | None]
ERROR_CASES: dict[str, ErrorCase] = {
    "malformed_json": (
        lambda w: w.client.post("/api/v1/auth/login", content=b'{"national_id": ', headers=JSON),
        400,
        "malformed_request",
    ),
    "wrong_types": (lambda w: w.post("/auth/login", {"national_id": 5, "pin": []}), 422, "validation_failed"),
    "missing_token": (lambda w: w.get("/me"), 401, "invalid_token"),
    "unknown_route": (lambda w: w.get("/no-such-thing"), 404, "not_found"),
    "wrong_method": (lambda w: w.client.delete("/api/v1/auth/login"), 405, "method_not_allowed"),
    "too_large": (
        lambda w: w.client.post(
            "/api/v1/auth/register", content=b'{"full_name": "' + b"x" * 300 * 1024 + b'"}', headers=JSON
        ),
        413,
        "payload_too_large",
    ),
}


class TestHealth:
    def test_ok_when_database_and_storage_answer(self, wallet: Wallet) -> None:
        answer = wallet.client.get("/health")
        assert answer.status_code == 200
        assert answer.json()["status"] == "ok"

    @sqlite_only  # the storage check, not the database, is under test
    def test_503_when_storage_is_unreachable(self, make_wallet: Callable[..., Wallet]) -> None:
        wallet = make_wallet(
            storage_url=f"s3://bucket?endpoint=127.0.0.1:{closed_port()}&secure=false",
            s3_access_key="a",
            s3_secret_key="b",
        )
        started = time.monotonic()
        answer = wallet.client.get("/health")
        assert time.monotonic() - started < 10
        assert answer.status_code == 503
        assert answer.json()["status"] != "ok"


@sqlite_only
class TestMetrics:
    """On the main port the metrics need an agency token holding `metrics:read` (the open listener is loopback)."""

    @staticmethod
    def health_count(wallet: Wallet) -> float:
        token = agency_token(wallet, f"METRICS-{time.monotonic_ns()}", scopes=("metrics:read",))
        answer = wallet.client.get("/metrics", headers={"Authorization": f"Bearer {token}"})
        assert answer.status_code == 200
        assert answer.headers["content-type"].startswith("text/plain")
        total = 0.0
        for family in text_string_to_metric_families(answer.text):  # raises on anything not Prometheus text
            for sample in family.samples:
                if sample.name.endswith("requests_total") and sample.labels.get("path") == "/health":
                    total += sample.value
        return total

    def test_requests_are_counted_in_prometheus_text(self, wallet: Wallet) -> None:
        before = self.health_count(wallet)
        for _ in range(2):
            wallet.client.get("/health")
        assert self.health_count(wallet) == before + 2

    def test_anonymous_and_other_scopes_are_refused(self, wallet: Wallet, caplog: pytest.LogCaptureFixture) -> None:
        assert wallet.client.get("/metrics").status_code == 401
        token = agency_token(wallet, "STATS-ONLY", scopes=("stats:read",))
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger="api.auth"):
            refused = wallet.client.get("/metrics", headers={"Authorization": f"Bearer {token}"})
        assert refused.status_code == 403 and refused.json()["code"] == "insufficient_scope", refused.text
        logged = [r.msg for r in caplog.records if r.name == "api.auth" and isinstance(r.msg, dict)]
        events = [e for e in logged if e["event"] == "authorization_refused"]
        assert [(e["code"], e["route"], e["role"], e["subject"]) for e in events] == [
            ("insufficient_scope", "/metrics", "agency", "STATS-ONLY")
        ]


@sqlite_only
class TestOpenApiSchema:
    @staticmethod
    def schema(wallet: Wallet) -> dict[str, Any]:
        answer = wallet.client.get("/schema")
        assert answer.status_code == 200
        assert "json" in answer.headers["content-type"]
        document: dict[str, Any] = answer.json()
        assert document["openapi"].startswith("3.")
        return document

    @staticmethod
    def served_operations(wallet: Wallet) -> set[tuple[str, str]]:
        served = set()
        for route in wallet.app.routes:
            if not route.path.startswith("/api/v1"):
                continue
            path = re.sub(r"\{(\w+):[^}]+\}", r"{\1}", route.path)
            for method in getattr(route, "methods", ()):
                if method not in {"OPTIONS", "HEAD"}:
                    served.add((path, method.lower()))
        return served

    def test_documents_every_route_served_under_api_v1(self, wallet: Wallet) -> None:
        served = self.served_operations(wallet)
        assert ("/api/v1/auth/login", "post") in served  # the route list is really read
        paths = self.schema(wallet)["paths"]
        documented = {(path, method) for path, ops in paths.items() for method in ops}
        assert served - documented == set()

    def test_declares_the_bearer_scheme_for_guarded_routes(self, wallet: Wallet) -> None:
        document = self.schema(wallet)
        schemes = document["components"]["securitySchemes"]
        bearer = [name for name, s in schemes.items() if s["type"] == "http" and s["scheme"].lower() == "bearer"]
        assert bearer
        me = document["paths"]["/api/v1/me"]["get"]
        requirements = me.get("security", document.get("security", []))
        assert any(name in requirement for requirement in requirements for name in bearer)

    def test_public_routes_do_not_claim_a_bearer_token(self, wallet: Wallet, subtests: pytest.Subtests) -> None:
        document = self.schema(wallet)
        for path in ("/api/v1/auth/register", "/api/v1/auth/login", "/api/v1/auth/otp/verify", "/api/v1/oauth/token"):
            with subtests.test(path=path):
                effective = document["paths"][path]["post"].get("security", document.get("security", []))
                assert effective in ([], [{}]), f"{path} is documented as needing {effective}"


class TestSecurityHeaders:
    def test_on_successful_api_answers(self, wallet: Wallet) -> None:
        answer = wallet.post("/auth/register", registration())
        assert answer.status_code == 202
        assert_security_headers(answer)
        assert_security_headers(wallet.client.get("/health"))

    def test_on_every_error(self, wallet: Wallet, subtests: pytest.Subtests) -> None:
        for name, (request, status, _code) in ERROR_CASES.items():
            with subtests.test(case=name):
                answer = request(wallet)
                assert answer.status_code == status
                assert_security_headers(answer)


class TestProblemDetails:
    def test_every_error_is_rfc9457_with_a_stable_code(self, wallet: Wallet, subtests: pytest.Subtests) -> None:
        for name, (request, status, code) in ERROR_CASES.items():
            with subtests.test(case=name):
                assert_problem(request(wallet), status, code)

    @sqlite_only
    def test_validation_errors_name_the_fields(self, wallet: Wallet) -> None:
        body = assert_problem(wallet.post("/auth/login", {"national_id": 5, "pin": []}), 422, "validation_failed")
        assert {error["field"] for error in body["errors"]} >= {"national_id", "pin"}

    @sqlite_only
    def test_json_that_is_not_an_object_is_a_client_error(self, wallet: Wallet, subtests: pytest.Subtests) -> None:
        for payload in (b"[1, 2]", b'"text"', b"null", b"42", b"[]"):
            with subtests.test(payload=payload):
                answer = wallet.client.post("/api/v1/auth/register", content=payload, headers=JSON)
                assert 400 <= answer.status_code < 500, answer.text
                assert_problem(answer, answer.status_code)

    @sqlite_only
    def test_a_body_under_the_limit_is_read(self, wallet: Wallet) -> None:
        payload = b'{"full_name": "' + b"x" * 200 * 1024 + b'"}'
        answer = wallet.client.post("/api/v1/auth/register", content=payload, headers=JSON)
        assert_problem(answer, 422, "validation_failed")


class TestNulAndOversizedInput:
    """Strings PostgreSQL cannot store or compare (NUL), and values longer than their column."""

    JSON_CASES: ClassVar[dict[str, tuple[str, dict[str, str]]]] = {
        "login-phone": ("/auth/login", {"phone": "0905\x00123456", "pin": "123456"}),
        "login-national-id": ("/auth/login", {"national_id": "048095\x00100001", "pin": "123456"}),
        "otp-challenge": ("/auth/otp/verify", {"challenge_id": "\x00", "code": "123456"}),
        "refresh-token": ("/auth/refresh", {"refresh_token": "a\x00b"}),
    }
    CLIENT_IDS: ClassVar[dict[str, str]] = {"nul": "agency-\x00", "300-chars": "agency-" + "a" * 300}

    def test_json_fields_never_give_a_500(self, wallet: Wallet, subtests: pytest.Subtests) -> None:
        for name, (path, body) in self.JSON_CASES.items():
            with subtests.test(case=name):
                answer = wallet.post(path, body)
                assert answer.status_code < 500, answer.text
                assert_problem(answer, answer.status_code)

    def test_oauth_client_id_never_gives_a_500(self, wallet: Wallet, subtests: pytest.Subtests) -> None:
        for name, client_id in self.CLIENT_IDS.items():
            with subtests.test(case=name):
                form = {"grant_type": "client_credentials", "client_id": client_id, "client_secret": "s"}
                answer = wallet.client.post("/api/v1/oauth/token", data=form)
                assert answer.status_code < 500, answer.text
                assert_problem(answer, answer.status_code)


_scalars = (
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=40)
)
_json = st.recursive(
    _scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=12,
)
_pins = st.from_regex(r"[0-9]{6}", fullmatch=True)
_phones = st.from_regex(r"(0|\+84)[35789][0-9]{8}", fullmatch=True)


@st.composite
def _registrations(draw: st.DrawFn) -> dict[str, Any]:
    """Registrations that pass the schema and usually the CCCD rules, so they reach the service."""
    born = draw(st.dates(date(1920, 1, 1), date(2008, 12, 31)))
    female = draw(st.booleans())
    province = draw(st.sampled_from(sorted(PROVINCE_CODES)))
    century_digit = 2 * ((born.year - 1900) // 100) + int(female)
    serial = draw(st.integers(0, 999_999))
    data = {
        "national_id": f"{province}{century_digit}{born.year % 100:02d}{serial:06d}",
        "full_name": draw(st.text(min_size=1, max_size=40)),
        "date_of_birth": born.isoformat(),
        "phone": draw(_phones),
        "pin": draw(_pins),
    }
    if draw(st.booleans()):
        data["email"] = draw(st.emails())
    return data


_national_ids = st.from_regex(r"0[0-9]{2}[0-5][0-9]{8}", fullmatch=True)
WELL_FORMED: dict[str, st.SearchStrategy[dict[str, Any]]] = {
    "/auth/register": _registrations(),
    "/auth/login": st.fixed_dictionaries({"national_id": _national_ids, "pin": _pins})
    | st.fixed_dictionaries({"phone": _phones, "pin": _pins}),
    "/auth/otp/verify": st.fixed_dictionaries({"challenge_id": st.uuids().map(str), "code": _pins}),
    "/auth/refresh": st.fixed_dictionaries({"refresh_token": st.text(min_size=1, max_size=60)}),
}
FIELDS = {
    "/auth/register": ("national_id", "full_name", "date_of_birth", "phone", "pin", "email", "sex"),
    "/auth/login": ("national_id", "phone", "pin"),
    "/auth/otp/verify": ("challenge_id", "code"),
    "/auth/refresh": ("refresh_token",),
}


def garbage_bodies(path: str) -> st.SearchStrategy[bytes]:
    """Raw bytes, any JSON, the endpoint's keys with any values, well-formed bodies (they reach the
    service), and well-formed bodies with one field swapped for any JSON value."""
    fields = FIELDS[path]
    shaped = st.fixed_dictionaries({}, optional=dict.fromkeys(fields, _json))
    one_wrong = st.tuples(WELL_FORMED[path], st.sampled_from(fields), _json).map(lambda t: {**t[0], t[1]: t[2]})
    as_json = st.one_of(_json, shaped, WELL_FORMED[path], one_wrong).map(lambda value: json.dumps(value).encode())
    return as_json | st.binary(max_size=80)


@sqlite_only
class TestGarbageNeverGives500:
    @pytest.mark.parametrize("path", sorted(FIELDS))
    def test_auth_endpoints(self, wallet: Wallet, path: str) -> None:
        @settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
        @given(body=garbage_bodies(path))
        def post_garbage(body: bytes) -> None:
            answer = wallet.client.post(f"/api/v1{path}", content=body, headers=JSON)
            assert answer.status_code < 500, (body, answer.text)
            if answer.status_code >= 400:
                assert_problem(answer, answer.status_code)

        post_garbage()


@sqlite_only
class TestLanguage:
    def test_titles_follow_accept_language(self, wallet: Wallet, subtests: pytest.Subtests) -> None:
        cases: dict[str, Callable[[dict[str, str]], Any]] = {
            "not_found": lambda headers: wallet.client.get("/api/v1/nothing-here", headers=headers),
            "invalid_credentials": lambda headers: wallet.client.post(
                "/api/v1/auth/login", json={"national_id": "048095100001", "pin": "000000"}, headers=headers
            ),
            "validation_failed": lambda headers: wallet.client.post(
                "/api/v1/auth/login", json={"pin": 1}, headers=headers
            ),
        }
        english = {
            "not_found": "Not found",
            "invalid_credentials": "Wrong national ID or PIN",
            "validation_failed": "Validation failed",
        }
        for code, request in cases.items():
            with subtests.test(code=code):
                vietnamese = request({})
                for header in ("en", "en-GB,en;q=0.9"):
                    answer = request({"Accept-Language": header})
                    assert answer.json()["code"] == code
                    assert answer.json()["title"] == english[code]
                assert vietnamese.json()["code"] == code
                assert vietnamese.json()["title"] != english[code]


class TestDevOutbox:
    def test_a_line_has_exactly_the_documented_keys(self, wallet: Wallet) -> None:
        data = registration()
        assert wallet.post("/auth/register", data).status_code == 202
        lines = outbox_lines(wallet.outbox)
        assert len(lines) == 1
        line = lines[0]
        assert set(line) == {"channel", "to", "subject", "body", "sent_at", "id"}
        assert line["channel"] == "sms"
        assert line["to"] == e164(data["phone"])
        assert re.search(r"\b\d{6}\b", line["body"])
        sent_at = datetime.fromisoformat(line["sent_at"].replace("Z", "+00:00"))
        assert sent_at.utcoffset() is not None and sent_at.utcoffset().total_seconds() == 0  # type: ignore[union-attr]
