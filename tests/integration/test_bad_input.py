"""Malformed JSON bodies answer 400 `malformed_request` before any handler or throttle sees them."""

from __future__ import annotations

from typing import Any

import pytest

from tests.integration.conftest import Wallet
from tests.integration.forms_helpers import citizen_with_papers, start

DEPTH = 32  # Settings.max_json_depth's default
ROUTES = [
    ("POST", "/auth/login"),
    ("POST", "/auth/register"),
    ("POST", "/auth/otp/verify"),
    ("POST", "/auth/refresh"),
    ("PATCH", "/applications/{id}"),
]


def deep_array(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


def deep_object(depth: int) -> bytes:
    return b'{"a":' * depth + b"1" + b"}" * depth


BAD_BODIES = {
    "deep array": deep_array(1000),
    "deep object": deep_object(1000),
    "just over the bound": deep_array(DEPTH + 1),
    "invalid utf-8": b'{"national_id": "\xff\xfe", "pin": "123456"}',
    "truncated utf-8": b'{"national_id": "\xe1\xba"}',
    "not json": b'{"national_id": ',
    "deep inside a string is no nesting, but broken after": b'{"a": "[[[[", ',
}


@pytest.fixture
def dossier(wallet: Wallet) -> tuple[str, str]:
    """A citizen's token and one of their drafts, so PATCH reaches a real application."""
    citizen = citizen_with_papers(wallet, papers=[], proofed=False)
    return citizen.token, start(wallet, citizen, "passport_issue")["id"]


def send(wallet: Wallet, method: str, path: str, body: bytes, token: str | None = None, **headers: str) -> Any:
    headers = {"content-type": "application/json", **headers}
    if token:
        headers["authorization"] = f"Bearer {token}"
    return wallet.client.request(method, f"/api/v1{path}", content=body, headers=headers)


def assert_malformed(answer: Any) -> None:
    assert answer.status_code == 400, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert answer.json()["code"] == "malformed_request"


def reached_the_route(answer: Any) -> None:
    """The route judged the body (a wrong token, an unknown field…): the guard let it through."""
    assert answer.status_code in {401, 422}, answer.text
    assert answer.json()["code"] != "malformed_request"


class TestMalformedJsonBodies:
    @pytest.mark.parametrize(("method", "path"), ROUTES)
    @pytest.mark.parametrize("kind", list(BAD_BODIES))
    def test_answers_400_malformed_request(
        self, wallet: Wallet, dossier: tuple[str, str], method: str, path: str, kind: str
    ) -> None:
        token, application_id = dossier
        answer = send(wallet, method, path.format(id=application_id), BAD_BODIES[kind], token)
        assert_malformed(answer)

    @pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", ""])
    def test_whatever_the_content_type_claims(self, wallet: Wallet, content_type: str) -> None:
        for body in (deep_array(1000), b'{"pin": "\xff"}'):
            assert_malformed(send(wallet, "POST", "/auth/login", body, **{"content-type": content_type}))

    def test_before_the_throttle_counts(self, make_wallet: Any) -> None:
        wallet = make_wallet(login_per_ip_per_minute=1)
        for _ in range(5):
            assert_malformed(send(wallet, "POST", "/auth/login", deep_array(1000)))
        answer = wallet.post("/auth/login", {"national_id": "001099000001", "pin": "123456"})
        assert answer.status_code == 401, answer.text  # the first counted attempt: not yet throttled

    def test_refused_in_english_too(self, wallet: Wallet) -> None:
        answer = send(wallet, "POST", "/auth/login", deep_array(100), **{"accept-language": "en"})
        assert_malformed(answer)
        assert answer.json()["title"] == "Malformed request"


class TestWellFormedBodies:
    def test_nesting_at_the_bound_reaches_the_route(self, wallet: Wallet) -> None:
        body = b'{"national_id": "001099000001", "pin": "123456", "x": ' + deep_array(DEPTH - 1) + b"}"
        reached_the_route(send(wallet, "POST", "/auth/login", body))

    def test_brackets_and_escapes_inside_strings_do_not_count(self, wallet: Wallet) -> None:
        text = '[{\\"' * 200
        body = ('{"refresh_token": "' + text + '"}').encode()
        reached_the_route(send(wallet, "POST", "/auth/refresh", body))

    def test_vietnamese_text_is_valid_utf8(self, wallet: Wallet) -> None:
        body = '{"refresh_token": "Nguyễn Thị Ánh Tuyết"}'.encode()
        reached_the_route(send(wallet, "POST", "/auth/refresh", body))


class TestSizeLimitStillApplies:
    def test_an_oversize_body_is_413_problem(self, make_wallet: Any) -> None:
        wallet = make_wallet(max_json_kb=1)
        body = b'{"refresh_token": "' + b"a" * 4096 + b'"}'
        answer = send(wallet, "POST", "/auth/refresh", body)
        assert answer.status_code == 413, answer.text
        assert answer.headers["content-type"].startswith("application/problem+json")

    def test_an_oversize_body_streamed_without_length_is_413(self, make_wallet: Any) -> None:
        wallet = make_wallet(max_json_kb=1)

        def chunks() -> Any:
            for _ in range(8):
                yield b"[" * 10 + b"]" * 10 + b" " * 500

        answer = wallet.client.post(
            "/api/v1/auth/refresh", content=chunks(), headers={"content-type": "application/json"}
        )
        assert answer.status_code == 413, answer.text
        assert answer.headers["content-type"].startswith("application/problem+json")


class TestPagesAreUnaffected:
    def test_a_form_page_still_takes_its_form(self, wallet: Wallet) -> None:
        answer = wallet.client.post("/sign-in", data={"national_id": "[[[[", "pin": "1"})
        assert answer.status_code != 500
        assert not answer.headers.get("content-type", "").startswith("application/problem+json")
