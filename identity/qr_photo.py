"""A photo of a citizen's QR code, read on the server (the counter's fallback when no camera reads it in the browser):
bounded in bytes and pixels, any image format Pillow knows, the first QR code found."""

from __future__ import annotations

import io
import warnings
from typing import Literal

import zxingcpp
from PIL import Image, UnidentifiedImageError

MIB = 1024 * 1024
MAX_PHOTO_BYTES = 10 * MIB  # a phone's full-resolution photo is 2–6 MiB
# A 48-megapixel phone camera; more is refused before decoding (a small file may claim huge dimensions).
MAX_PIXELS = 50_000_000
# zxing-cpp finds a QR of a handheld photo at this size quickly; a larger photo is shrunk first.
DECODE_SIDE = 2000

QR_ONLY = zxingcpp.BarcodeFormats(zxingcpp.BarcodeFormat.QRCode)

Problem = Literal["too_large", "not_an_image", "no_qr"]


class UnreadablePhoto(Exception):
    def __init__(self, problem: Problem) -> None:
        super().__init__(problem)
        self.problem: Problem = problem


def read_qr_photo(data: bytes) -> str:
    """The text of the QR code in the photo, or `UnreadablePhoto` saying why not."""
    if len(data) > MAX_PHOTO_BYTES:
        raise UnreadablePhoto("too_large")
    image = _open(data)
    image.thumbnail((DECODE_SIDE, DECODE_SIDE))
    found = zxingcpp.read_barcodes(image.convert("L"), formats=QR_ONLY)
    texts = [str(code.text) for code in found if code.valid and code.text]
    if not texts:
        raise UnreadablePhoto("no_qr")
    return texts[0]


def _open(data: bytes) -> Image.Image:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
            width, height = image.size
            if width * height > MAX_PIXELS:
                raise UnreadablePhoto("too_large")
            image.draft("L", (DECODE_SIDE, DECODE_SIDE))  # JPEG: decode at a reduced scale, much faster
            image.load()
    except UnreadablePhoto:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise UnreadablePhoto("too_large") from None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, EOFError):
        raise UnreadablePhoto("not_an_image") from None
    return image
