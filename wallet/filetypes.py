"""Recognise an upload by its leading bytes, never by its name or declared type, and give it a safe name.

Accepted: PDF, JPEG, PNG, WebP and HEIC/HEIF. HEIF is an ISO-BMFF file whose `ftyp` box names a HEIF brand; a file
whose brands include an HEVC one (heic, heix, hevc, hevx, heim, heis) is `image/heic`, one with only the generic
image brands (mif1, msf1) is `image/heif`. AVIF shares the HEIF container (its files name mif1 too) but is not on
the list, so an `avif`/`avis` brand is refused.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass


@dataclass(frozen=True)
class FileType:
    content_type: str
    extension: str  # canonical, lowercase, without the dot


PDF = FileType("application/pdf", "pdf")
JPEG = FileType("image/jpeg", "jpg")
PNG = FileType("image/png", "png")
WEBP = FileType("image/webp", "webp")
HEIC = FileType("image/heic", "heic")
HEIF = FileType("image/heif", "heif")

SNIFF_BYTES = 32  # how many leading bytes `sniff` needs (fewer only when the whole file is shorter)

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_HEVC_BRANDS = frozenset({b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis"})
_HEIF_BRANDS = frozenset({b"mif1", b"msf1"})
_AVIF_BRANDS = frozenset({b"avif", b"avis"})
_FTYP_MIN = 16  # size, "ftyp", major brand, minor version


def sniff(head: bytes) -> FileType | None:
    """The type of a file from its first `SNIFF_BYTES` bytes, or None when it is not one the wallet accepts."""
    if head.startswith(b"%PDF-"):
        return PDF
    if head.startswith(b"\xff\xd8\xff"):
        return JPEG
    if head.startswith(_PNG_SIGNATURE):
        return PNG
    if len(head) >= 12 and head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return WEBP
    return _sniff_heif(head)


def _sniff_heif(head: bytes) -> FileType | None:
    if len(head) < _FTYP_MIN or head[4:8] != b"ftyp":
        return None
    box_size = int.from_bytes(head[:4], "big")
    if box_size < _FTYP_MIN or box_size % 4:  # 0 (to end of file) and 1 (64-bit size) never start a real HEIF
        return None
    end = min(box_size, len(head))
    brands = {head[8:12]} | {head[i : i + 4] for i in range(_FTYP_MIN, end - 3, 4)}
    if brands & _HEVC_BRANDS:
        return HEIC
    if brands & _AVIF_BRANDS:
        return None
    if brands & _HEIF_BRANDS:
        return HEIF
    return None


MAX_FILENAME = 120
_RESERVED = re.compile(r'[<>:"/\\|?*]')
_EXTENSION = re.compile(r"[A-Za-z0-9]{1,10}")
_DROPPED_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})


def safe_filename(name: str | None, file_type: FileType) -> str:
    """A display name for an upload: no folders, no control or invisible characters, at most `MAX_FILENAME`
    characters, Vietnamese letters kept, and the extension of the type its bytes show (`scan.exe` holding a PDF
    becomes `scan.pdf`); `tep.<ext>` when nothing usable is left.
    """
    text = unicodedata.normalize("NFC", name or "")
    text = re.split(r"[/\\]", text)[-1]
    text = "".join(
        " " if unicodedata.category(char) == "Zs" else char
        for char in text
        if unicodedata.category(char) not in _DROPPED_CATEGORIES
    )
    text = re.sub(r" {2,}", " ", _RESERVED.sub("_", text))
    stem, dot, extension = text.rpartition(".")
    if not dot or not _EXTENSION.fullmatch(extension):
        stem = text
    suffix = "." + file_type.extension
    if stem.lower().endswith(suffix):  # "scan.pdf.exe" is "scan.pdf", not "scan.pdf.pdf"
        stem = stem[: -len(suffix)]
    stem = stem.strip(" .")[: MAX_FILENAME - len(suffix)].rstrip(" .")
    return (stem or "tep") + suffix
