"""Resource limits: request heads (in the app and in the real server), multipart forms, and cross-origin calls."""

from __future__ import annotations

import contextlib
import json
import socket
from collections.abc import Callable
from typing import Any

import pytest

from tests.integration.conftest import Wallet
from tests.integration.wallet_helpers import auth, cccd_fields, png_bytes
from tests.serve_process import ServeProcess

sqlite_only = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
PROBLEM = "application/problem+json"


def assert_problem(answer: Any, status: int, code: str) -> None:
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"].startswith(PROBLEM)
    assert answer.json()["code"] == code


@sqlite_only
class TestHeaderLimitsInTheApp:
    def test_too_many_header_fields_answer_431(self, make_wallet: Callable[..., Wallet]) -> None:
        wallet = make_wallet(max_headers=20)
        extra = {f"x-filler-{i}": "1" for i in range(25)}
        assert_problem(wallet.client.get("/api/v1/document-types", headers=extra), 431, "headers_too_large")

    def test_headers_over_the_size_bound_answer_431(self, make_wallet: Callable[..., Wallet]) -> None:
        wallet = make_wallet(max_header_kb=2)
        answer = wallet.client.get("/api/v1/document-types", headers={"x-filler": "a" * 3000})
        assert_problem(answer, 431, "headers_too_large")

    def test_headers_within_the_bounds_pass(self, make_wallet: Callable[..., Wallet]) -> None:
        wallet = make_wallet(max_header_kb=2, max_headers=20)
        answer = wallet.client.get("/api/v1/document-types", headers={"x-filler": "a" * 1000})
        assert answer.status_code == 200


def raw_request(port: int, head: bytes) -> bytes:
    """Send a request head over a plain socket and read what the server answers before it closes."""
    chunks = []
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        # The server may stop reading and close early: what it answered before is what counts.
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            sock.sendall(head)
        with contextlib.suppress(ConnectionResetError):
            while chunk := sock.recv(65536):
                chunks.append(chunk)
    return b"".join(chunks)


class TestHeaderLimitsInTheServer:
    def test_a_huge_header_is_cut_off_by_congdanso_serve(self) -> None:
        with ServeProcess(WALLET_MAX_HEADER_KB="16") as server:
            filler = b"a" * (4 * 1024 * 1024)  # 4 MB of one header: refused long before it is all read
            head = b"GET /health HTTP/1.1\r\nHost: x\r\nX-Filler: " + filler + b"\r\nConnection: close\r\n\r\n"
            answer = raw_request(server.port, head)
            assert answer.startswith(b"HTTP/1.1 400"), answer[:200]
            # a head just over the app's bound but under the server's reaches the app: 431 problem+json
            over = (
                b"GET /health HTTP/1.1\r\nHost: x\r\nX-Filler: " + b"a" * (20 * 1024) + b"\r\nConnection: close\r\n\r\n"
            )
            answer = raw_request(server.port, over)
            assert answer.startswith(b"HTTP/1.1 431"), answer[:200]
            assert b"headers_too_large" in answer
            assert server.api().get("/document-types").status_code == 200  # and the server still serves


def form(token: str, parts: list[tuple[str, Any]], wallet: Wallet) -> Any:
    return wallet.client.post("/api/v1/documents", files=parts, headers=auth(token))


@sqlite_only
class TestMultipartLimits:
    def fields_text(self, wallet: Wallet) -> tuple[str, str]:
        data, tokens = wallet.register()
        return tokens["access_token"], json.dumps(cccd_fields(data), ensure_ascii=False)

    def test_a_fields_text_over_64_kb_answers_413(self, wallet: Wallet) -> None:
        token, _fields = self.fields_text(wallet)
        parts = [("type", (None, "cccd")), ("fields", (None, '{"x":"' + "a" * (65 * 1024) + '"}'))]
        assert_problem(form(token, parts, wallet), 413, "text_part_too_large")

    def test_too_many_parts_answer_413(self, make_wallet: Callable[..., Wallet]) -> None:
        wallet = make_wallet(max_parts=5)
        token, fields = self.fields_text(wallet)
        parts = [("type", (None, "cccd")), ("fields", (None, fields))] + [(f"x{i}", (None, "1")) for i in range(6)]
        assert_problem(form(token, parts, wallet), 413, "too_many_parts")

    def test_a_part_with_huge_headers_answers_413(self, wallet: Wallet) -> None:
        token, fields = self.fields_text(wallet)
        boundary = "b0undary"
        body = (
            f'--{boundary}\r\nContent-Disposition: form-data; name="type"\r\n\r\ncccd\r\n'
            f'--{boundary}\r\nContent-Disposition: form-data; name="fields"\r\nX-Filler: {"a" * 20000}\r\n\r\n'
            f"{fields}\r\n--{boundary}--\r\n"
        ).encode()
        headers = auth(token) | {"content-type": f"multipart/form-data; boundary={boundary}"}
        answer = wallet.client.post("/api/v1/documents", content=body, headers=headers)
        assert_problem(answer, 413, "part_headers_too_large")

    def test_a_form_within_every_bound_is_stored(self, wallet: Wallet) -> None:
        token, fields = self.fields_text(wallet)
        parts = [("type", (None, "cccd")), ("fields", (None, fields)), ("file", ("scan.png", png_bytes(), "image/png"))]
        answer = form(token, parts, wallet)
        assert answer.status_code == 201, answer.text
        assert wallet.get("/documents", token).json()["items"][0]["id"] == answer.json()["id"]


ORIGIN = "https://dichvucong.example.gov.vn"


@sqlite_only
class TestCors:
    def test_closed_by_default(self, wallet: Wallet) -> None:
        answer = wallet.client.get("/api/v1/document-types", headers={"origin": ORIGIN})
        assert answer.status_code == 200
        assert "access-control-allow-origin" not in answer.headers
        preflight = wallet.client.options(
            "/api/v1/documents", headers={"origin": ORIGIN, "access-control-request-method": "POST"}
        )
        assert "access-control-allow-origin" not in preflight.headers

    def test_a_configured_origin_may_call_the_api(self, make_wallet: Callable[..., Wallet]) -> None:
        wallet = make_wallet(cors_origins=[ORIGIN])
        answer = wallet.client.get("/api/v1/document-types", headers={"origin": ORIGIN})
        assert answer.headers["access-control-allow-origin"] == ORIGIN
        preflight = wallet.client.options(
            "/api/v1/documents",
            headers={
                "origin": ORIGIN,
                "access-control-request-method": "POST",
                "access-control-request-headers": "authorization",
            },
        )
        assert preflight.status_code == 204
        assert preflight.headers["access-control-allow-origin"] == ORIGIN

    def test_other_origins_and_other_paths_stay_closed(self, make_wallet: Callable[..., Wallet]) -> None:
        wallet = make_wallet(cors_origins=[ORIGIN])
        other = wallet.client.get("/api/v1/document-types", headers={"origin": "https://evil.example"})
        assert "access-control-allow-origin" not in other.headers
        page = wallet.client.get("/health", headers={"origin": ORIGIN})
        assert "access-control-allow-origin" not in page.headers
        suffix = wallet.client.get("/api/v1/document-types", headers={"origin": ORIGIN + ".evil.example"})
        assert "access-control-allow-origin" not in suffix.headers
