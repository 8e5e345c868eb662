"""The one way a decrypted scan goes out: streamed, with its original type, name and size."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncGenerator, AsyncIterable, AsyncIterator
from typing import Any, cast
from urllib.parse import quote

import anyio
from anyio.streams.memory import MemoryObjectSendStream
from litestar import Response
from litestar.response import Stream
from litestar.response.base import ASGIResponse
from litestar.response.streaming import ASGIStreamingResponse
from litestar.types import Receive, Send

from wallet.service import Download

# Opened chunks (each one store chunk, 1 MiB by default) waiting for the socket beside the one being sent: with the
# one being opened, a download holds about three chunks of plaintext whatever the file's size.
READ_AHEAD_CHUNKS = 1


async def stream_file(plan: Download, *, inline: bool = False) -> Response[Any]:
    """Open the scan and stream it; `inline` lets a browser show it in place (the pages' links) rather than save it.

    A scan up to `wallet.files.VERIFY_AHEAD_BYTES` is authenticated whole before the first byte goes out (damage
    answers 502 `document_corrupted`); a larger one is authenticated segment by segment as it streams, and a
    damaged segment cuts the transfer short, so a client never receives a whole file with wrong content."""
    chunks = await plan.open()
    disposition = f"{'inline' if inline else 'attachment'}; filename*=UTF-8''{quote(plan.file.filename)}"
    headers = {"content-disposition": disposition, "content-length": str(plan.file.size)}
    # Litestar's Stream is typed for bytes or text; its pieces go to the socket as they are (`_stream` below).
    content = cast(AsyncIterator[bytes], chunks)
    return _ReadAheadStream(content, media_type=plan.file.content_type, headers=headers)


class _ReadAheadStream(Stream):
    """A Stream whose next chunks are read from the store and opened while the one before goes to the socket."""

    def to_asgi_response(self, *args: Any, **kwargs: Any) -> ASGIResponse:
        response = super().to_asgi_response(*args, **kwargs)
        # Litestar builds the ASGI response; only how its body is sent differs (same slots, so the class may change).
        response.__class__ = _ReadAheadASGIResponse
        return response


class _ReadAheadASGIResponse(ASGIStreamingResponse):
    __slots__ = ()

    async def send_body(self, send: Send, receive: Receive) -> None:
        """Litestar's own sending, fed by a task that runs the source (store reads and decryption, in worker threads)
        `READ_AHEAD_CHUNKS` ahead. A failure of the source (a damaged segment) fails the response as before: the
        client sees a transfer cut short; a client that leaves stops the source and closes it."""
        source = self.iterator
        opened, ready = anyio.create_memory_object_stream[bytes | str](READ_AHEAD_CHUNKS)
        async with anyio.create_task_group() as tasks:
            tasks.start_soon(_pump, source, opened)
            async with ready:
                self.iterator = ready
                await super().send_body(send, receive)
            tasks.cancel_scope.cancel()  # the client left before the end: the source has nobody to read for

    async def _stream(self, send: Send) -> None:
        """Litestar's, but a piece that is not text goes out as it is: an opened chunk is a bytearray
        (`wallet.files.open_download`), which the server writes to its socket as well as bytes, and making it bytes
        would copy every byte of the file once more."""
        async for chunk in self.iterator:
            body = chunk.encode(self.encoding) if isinstance(chunk, str) else chunk
            await send({"type": "http.response.body", "body": body, "more_body": True})
        await send({"type": "http.response.body", "body": b"", "more_body": False})


async def _pump(source: AsyncIterable[bytes | str], opened: MemoryObjectSendStream[bytes | str]) -> None:
    with contextlib.suppress(anyio.BrokenResourceError):  # the response stopped taking chunks: the client left
        async with opened:
            try:
                async for chunk in source:
                    await opened.send(chunk)
            finally:
                if isinstance(source, AsyncGenerator):
                    await source.aclose()  # now, not when the garbage collector gets to it
