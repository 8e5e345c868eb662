"""The bare Litestar app (`bench.transport_app:app`) that file transfers through the wallet are read against: what HTTP
on this machine carries at best, with no crypto, no database and no blob store.

`GET /download` streams `FILE_BYTES` of plain bytes held in memory, in `CHUNK`-sized pieces, with a Content-Length,
as the wallet streams an opened scan chunk by chunk; `POST /upload` reads a request body of any size to its end and
discards it, as the wallet's upload reads its multipart form, and answers 201 with the size it read.
"""

from collections.abc import AsyncIterator
from typing import Any

from litestar import Litestar, Request, get, post
from litestar.response import Stream

FILE_BYTES = 10 * 1024 * 1024  # the wallet benchmark's file
CHUNK = 1024 * 1024  # the blob store's read size, so the wallet's download sends pieces of about this size
# Made once: a download of the floor sends bytes it already holds, as the wallet sends what it has just opened.
_PIECES = [bytes([n]) * CHUNK for n in range(FILE_BYTES // CHUNK)]


async def _pieces() -> AsyncIterator[bytes]:
    for piece in _PIECES:
        yield piece


@get("/download")
async def download() -> Stream:
    headers = {"content-length": str(FILE_BYTES), "content-disposition": "attachment; filename*=UTF-8''floor.bin"}
    return Stream(_pieces(), media_type="application/octet-stream", headers=headers)


@post("/upload", status_code=201, request_max_body_size=None)  # as the wallet's upload routes
async def upload(request: Request[Any, Any, Any]) -> dict[str, int]:
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
    return {"size": size}


@get("/health")
async def health() -> dict[str, str]:
    return {"status": "ok"}


app = Litestar([download, upload, health])
