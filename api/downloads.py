"""The one way a decrypted scan goes out: streamed, with its original type, name and size."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from litestar import Response
from litestar.response import Stream

from wallet.service import Download


async def stream_file(plan: Download, *, inline: bool = False) -> Response[Any]:
    """Open the scan and stream it; `inline` lets a browser show it in place (the pages' links) rather than save it.

    A scan up to `wallet.files.VERIFY_AHEAD_BYTES` is authenticated whole before the first byte goes out (damage
    answers 502 `document_corrupted`); a larger one is authenticated segment by segment as it streams, and a
    damaged segment cuts the transfer short, so a client never receives a whole file with wrong content."""
    chunks = await plan.open()
    disposition = f"{'inline' if inline else 'attachment'}; filename*=UTF-8''{quote(plan.file.filename)}"
    headers = {"content-disposition": disposition, "content-length": str(plan.file.size)}
    return Stream(chunks, media_type=plan.file.content_type, headers=headers)
