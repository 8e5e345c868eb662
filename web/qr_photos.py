"""A photo of a QR code sent from a page's form and read on the server (the fallback when no camera reads it in the
browser, or JavaScript is off): the counter's scan of a citizen's QR and the public check of a printed result share
it. The form is streamed behind its CSRF gate, the photo bounded in bytes, then decoded by `identity.qr_photo`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import anyio
from litestar import Request

from api.multipart import MalformedMultipart, read_multipart
from identity.errors import ValidationFailed
from identity.qr_photo import MAX_PHOTO_BYTES, UnreadablePhoto, read_qr_photo
from web.i18n import gettext as _
from web.messages import N_
from web.uploads import csrf_gate

PHOTO_FIELD = "photo"
PHOTO_MB = MAX_PHOTO_BYTES // (1024 * 1024)  # said in the field's hint
# Past the limit the rest of the photo is read and dropped, so the browser gets the page that says so; past this
# ceiling the upload is cut off instead.
DRAIN_CEILING = 4 * MAX_PHOTO_BYTES
NO_PHOTO = N_("Choose a photo of the QR code")
PHOTO_PROBLEMS = {
    "too_large": N_("The photo is too large. Choose a photo smaller than 10 MB."),
    "not_an_image": N_("The file is not a photo. Choose a JPEG or PNG photo of the QR code."),
    "no_qr": N_("No QR code was found in the photo. Take a sharper photo with the whole QR code in it."),
}


class PhotoRefused(Exception):
    """The form held no readable QR photo; `message` says why, in the page's language, for the photo field."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


async def qr_text_of_photo(request: Request[Any, Any, Any]) -> str:
    """The text of the QR code in the form's `photo`, or `PhotoRefused`. A form without a valid CSRF token is
    refused (403) before the photo is read."""
    photos: list[bytes | None] = []

    async def keep(name: str, _filename: str | None, chunks: AsyncIterator[bytes]) -> None:
        if name == PHOTO_FIELD:
            photos.append(await _bounded(chunks))
        else:
            await _drained(chunks)

    try:
        await read_multipart(request, keep, max_files=1, gate=csrf_gate(request))
    except (MalformedMultipart, ValidationFailed):
        raise PhotoRefused(_(NO_PHOTO)) from None
    photo = next((p for p in photos if p is not None), None)
    if photos and photo is None:
        raise PhotoRefused(_(PHOTO_PROBLEMS["too_large"]))
    if not photo:
        raise PhotoRefused(_(NO_PHOTO))
    try:
        return await anyio.to_thread.run_sync(read_qr_photo, photo)
    except UnreadablePhoto as unreadable:
        raise PhotoRefused(_(PHOTO_PROBLEMS[unreadable.problem])) from None


async def _bounded(chunks: AsyncIterator[bytes]) -> bytes | None:
    """The photo's bytes, or None past the limit (see `DRAIN_CEILING`)."""
    data, seen = bytearray(), 0
    async for chunk in chunks:
        seen += len(chunk)
        if seen > DRAIN_CEILING:
            raise ValidationFailed({PHOTO_FIELD: ["far too large"]})
        if seen <= MAX_PHOTO_BYTES:
            data += chunk
    return bytes(data) if seen <= MAX_PHOTO_BYTES else None


async def _drained(chunks: AsyncIterator[bytes]) -> None:
    async for _chunk in chunks:
        pass
