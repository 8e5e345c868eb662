"""Upload limits are enforced while the body streams: a too-large file is refused before the client
has finished sending it, so the server never buffers it whole."""

from __future__ import annotations

import select
import socket
from pathlib import Path

from tests.integration.test_wallet_faults import BOUNDARY, PDF_HEAD, Server

MIB = 1024 * 1024


def _answer_arrives_before_the_body_ends(server: Server, token: str, file_size: int) -> tuple[bytes, int]:
    head = (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="big.pdf"\r\n\r\n'
    ).encode() + PDF_HEAD
    tail = f"\r\n--{BOUNDARY}--\r\n".encode()
    length = len(head) + file_size - len(PDF_HEAD) + len(tail)
    request = (
        f"POST /api/v1/documents HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\n"
        f"Content-Type: multipart/form-data; boundary={BOUNDARY}\r\nContent-Length: {length}\r\n\r\n"
    ).encode()
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=30)
    sent = 0
    try:
        sock.sendall(request + head)
        piece = b"0" * (256 * 1024)
        while sent < file_size - len(PDF_HEAD):
            readable, _, _ = select.select([sock], [], [], 0)
            if readable:
                break
            try:
                sock.sendall(piece)
            except OSError:
                break
            sent += len(piece)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
            if answer.rstrip().endswith(b"}"):
                break
        return answer, sent
    finally:
        sock.close()


class TestStreamingLimits:
    def test_a_21_mib_file_is_refused(self, tmp_path: Path) -> None:
        server = Server(tmp_path / "data")
        server.start()
        try:
            answer, _ = _answer_arrives_before_the_body_ends(server, server.citizen_token(), 21 * MIB)
            assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
            assert b"file_too_large" in answer
        finally:
            server.kill()

    def test_the_refusal_comes_while_the_body_still_streams(self, tmp_path: Path) -> None:
        server = Server(tmp_path / "data")
        server.start()
        try:
            token = server.citizen_token()
            answer, sent = _answer_arrives_before_the_body_ends(server, token, 200 * MIB)
            assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
            # Refused soon after the 20 MiB limit (plus what socket buffers hold), not after 200 MiB.
            assert sent < 40 * MIB
            blobs = tmp_path / "data" / "blobs"
            assert [p for p in blobs.rglob("*") if p.is_file()] == [] if blobs.exists() else True
        finally:
            server.kill()
