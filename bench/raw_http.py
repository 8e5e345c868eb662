"""A bare HTTP/1.1 GET for large answers: one loopback socket, the answer parsed by httptools, the body handed on in
the pieces the socket gives.

httpx reads an answer through h11 in Python and regroups it into the chunk size asked for; over a 10 MiB download
on this machine that was about a fifth of the time the benchmark counted as the server's. This reader costs the
parse (httptools, in C) and one copy of each piece, so a download figure measures the server.
"""

from __future__ import annotations

import socket
from collections.abc import Callable
from dataclasses import dataclass, field

import httptools
import httpx

from bench.harness import assert_loopback

RECEIVE_BYTES = 1 << 20  # what one recv may take: the socket hands over what it holds, up to this


@dataclass
class _Answer:
    sink: Callable[[bytes], None]
    status: int = 0
    headers: dict[str, str] = field(default_factory=dict)
    error_body: bytearray = field(default_factory=bytearray)
    complete: bool = False
    parser: httptools.HttpResponseParser | None = None

    def on_header(self, name: bytes, value: bytes) -> None:  # httptools callbacks
        self.headers[name.decode("latin-1").lower()] = value.decode("latin-1")

    def on_headers_complete(self) -> None:
        assert self.parser is not None
        self.status = self.parser.get_status_code()

    def on_body(self, body: bytes) -> None:
        if self.status == 200:
            self.sink(body)
        else:
            self.error_body += body  # what the benchmark shows when it stops

    def on_message_complete(self) -> None:
        self.complete = True


@dataclass(frozen=True)
class Got:
    status: int
    headers: dict[str, str]
    error_body: bytes


def get(url: str, headers: dict[str, str], on_body: Callable[[bytes], None], *, timeout: float = 120.0) -> Got:
    """GET `url` (loopback only), handing each piece of a 200 answer's body to `on_body`; raises ConnectionError if
    the answer ends before its end (a transfer cut short)."""
    assert_loopback(url)
    target = httpx.URL(url)
    lines = [f"GET {target.raw_path.decode('ascii')} HTTP/1.1", f"Host: {target.netloc.decode('ascii')}"]
    lines += [f"{name}: {value}" for name, value in headers.items()] + ["Connection: close", "", ""]
    answer = _Answer(on_body)
    answer.parser = parser = httptools.HttpResponseParser(answer)
    buffer = memoryview(bytearray(RECEIVE_BYTES))
    with socket.create_connection((target.host, target.port or 80), timeout=timeout) as sock:
        sock.sendall("\r\n".join(lines).encode("latin-1"))
        while not answer.complete:
            received = sock.recv_into(buffer)
            if not received:
                raise ConnectionError(f"GET {target.path}: the answer ended before its end")
            parser.feed_data(buffer[:received])
    return Got(answer.status, answer.headers, bytes(answer.error_body))
