"""A streamed scan's next chunks are read and opened while the one before goes out (`api.downloads`): the client still
gets every chunk in order and then the end, a failing source still cuts the transfer short, and a client that leaves
stops the source instead of leaving it to run ahead."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any, cast

import anyio
import pytest
from litestar.response.base import ASGIResponse

from api.downloads import READ_AHEAD_CHUNKS, _ReadAheadStream

pytestmark = pytest.mark.anyio

SCOPE: dict[str, Any] = {"type": "http", "method": "GET", "path": "/files/f", "headers": []}


class Source:
    """Numbered chunks, counting how many were taken and whether the stream was closed; fails at `fail_at` if set."""

    def __init__(self, count: int, *, fail_at: int | None = None) -> None:
        self.count = count
        self.fail_at = fail_at
        self.taken = 0
        self.closed = False

    async def chunks(self) -> AsyncIterator[bytes]:
        try:
            for n in range(self.count):
                if n == self.fail_at:
                    raise RuntimeError("a damaged segment")
                self.taken += 1
                await anyio.sleep(0)
                yield b"%d," % n
        finally:
            self.closed = True


def response_over(source: Source) -> ASGIResponse:
    stream = _ReadAheadStream(source.chunks(), media_type="application/pdf", headers={"content-length": "0"})
    return stream.to_asgi_response(None, cast(Any, None))


class Client:
    """The server's side of the ASGI calls: like uvicorn, `receive` answers `http.disconnect` once the answer is
    complete (or once the client has left)."""

    def __init__(self) -> None:
        self.bodies: list[dict[str, Any]] = []
        self.gone = anyio.Event()

    async def send(self, message: dict[str, Any]) -> None:
        if message["type"] == "http.response.body":
            self.bodies.append(message)
            if not message.get("more_body", False):
                self.gone.set()
        await anyio.sleep(0)

    async def receive(self) -> dict[str, Any]:
        await self.gone.wait()
        return {"type": "http.disconnect"}


async def test_every_chunk_goes_out_in_order_then_the_end() -> None:
    source, client = Source(50), Client()
    with anyio.fail_after(10):
        await response_over(source)(SCOPE, client.receive, client.send)  # type: ignore[arg-type]
    bodies = [message["body"] for message in client.bodies]
    ends = [not message.get("more_body", False) for message in client.bodies]
    assert b"".join(bodies) == b"".join(b"%d," % n for n in range(50))
    assert ends[-1] and not any(ends[:-1])
    assert source.closed


async def test_a_failing_source_cuts_the_transfer_short() -> None:
    source, client = Source(50, fail_at=20), Client()
    with anyio.fail_after(10), pytest.raises(BaseExceptionGroup) as caught:
        await response_over(source)(SCOPE, client.receive, client.send)  # type: ignore[arg-type]
    assert caught.group_contains(RuntimeError, match="a damaged segment")
    assert len(client.bodies) <= 20
    assert all(message["more_body"] for message in client.bodies)  # never the end of a whole answer


async def test_a_client_that_leaves_stops_the_source() -> None:
    source, client = Source(10_000), Client()

    async def send(message: dict[str, Any]) -> None:
        await client.send(message)
        if len(client.bodies) == 5:
            client.gone.set()  # the client hangs up after five chunks

    with anyio.fail_after(10):
        await response_over(source)(SCOPE, client.receive, send)  # type: ignore[arg-type]
    assert source.taken < 5 + READ_AHEAD_CHUNKS + 10  # it ran at most a few chunks ahead, not to the end
    assert source.closed
