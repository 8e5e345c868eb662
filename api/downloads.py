"""The one way a decrypted scan goes out: streamed, with its original type, name and size."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from litestar import Response
from litestar.response import Stream

from wallet.service import Download


async def stream_file(plan: Download, *, inline: bool = False) -> Response[Any]:
    """Open the scan (its integrity is checked before the first byte goes out) and stream it; `inline` lets a
    browser show it in place (the pages' links) rather than save it."""
    chunks = await plan.open()
    disposition = f"{'inline' if inline else 'attachment'}; filename*=UTF-8''{quote(plan.file.filename)}"
    headers = {"content-disposition": disposition, "content-length": str(plan.file.size)}
    return Stream(chunks, media_type=plan.file.content_type, headers=headers)
