import io
import struct
import unicodedata
import zipfile

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from wallet.filetypes import HEIC, HEIF, JPEG, PDF, PNG, SNIFF_BYTES, WEBP, FileType, safe_filename, sniff


def image_bytes(format_name: str) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (4, 3), (200, 30, 40)).save(buffer, format=format_name)
    return buffer.getvalue()


def ftyp(major: bytes, *compatible: bytes, size: int | None = None) -> bytes:
    box = major + b"\x00\x00\x00\x00" + b"".join(compatible)
    return struct.pack(">I", size if size is not None else 8 + len(box)) + b"ftyp" + box


def zip_bytes() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("a.txt", "xin chào")
    return buffer.getvalue()


class TestSniff:
    @pytest.mark.parametrize(("format_name", "expected"), [("PNG", PNG), ("JPEG", JPEG), ("WEBP", WEBP), ("PDF", PDF)])
    def test_real_files_made_by_pillow(self, format_name: str, expected: FileType) -> None:
        data = image_bytes(format_name)
        assert sniff(data[:SNIFF_BYTES]) == expected
        assert sniff(data) == expected

    def test_minimal_pdf_header(self) -> None:
        assert sniff(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n") == PDF
        assert sniff(b"%PDF-") == PDF

    def test_content_types_and_extensions(self) -> None:
        assert [(t.content_type, t.extension) for t in (PDF, JPEG, PNG, WEBP, HEIC, HEIF)] == [
            ("application/pdf", "pdf"),
            ("image/jpeg", "jpg"),
            ("image/png", "png"),
            ("image/webp", "webp"),
            ("image/heic", "heic"),
            ("image/heif", "heif"),
        ]

    @pytest.mark.parametrize(
        ("head", "expected"),
        [
            (ftyp(b"heic", b"mif1", b"heic"), HEIC),  # an iPhone photo
            (ftyp(b"mif1", b"mif1", b"heic"), HEIC),
            (ftyp(b"heix", b"mif1", b"heix"), HEIC),
            (ftyp(b"hevc", b"msf1", b"hevc"), HEIC),
            (ftyp(b"msf1", b"iso8", b"heis"), HEIC),
            (ftyp(b"mif1", b"mif1", b"miaf"), HEIF),
            (ftyp(b"msf1", b"msf1"), HEIF),
            (ftyp(b"heim"), HEIC),
        ],
    )
    def test_heif_family(self, head: bytes, expected: FileType) -> None:
        assert sniff(head + b"\x00" * 40) == expected
        assert sniff((head + b"\x00" * 40)[:SNIFF_BYTES]) == expected

    @pytest.mark.parametrize(
        "head",
        [
            ftyp(b"avif", b"mif1", b"miaf"),  # AVIF is HEIF-shaped but not accepted
            ftyp(b"mif1", b"avif", b"miaf"),
            ftyp(b"isom", b"iso2", b"mp41"),  # an MP4 video
            ftyp(b"qt  "),  # a QuickTime movie
            ftyp(b"isom", size=16) + b"heic",  # the brand lies outside the box
            ftyp(b"heic", size=0),  # "to the end of the file"
            ftyp(b"heic", size=1),  # a 64-bit size
            ftyp(b"heic", b"mif1", size=22),
            ftyp(b"heic")[:12],
            b"\x00\x00\x00\x18moov" + b"heic" * 4,
        ],
    )
    def test_not_heif(self, head: bytes) -> None:
        assert sniff(head) is None

    @pytest.mark.parametrize(
        "data",
        [
            pytest.param(image_bytes("GIF"), id="gif"),
            pytest.param(image_bytes("BMP"), id="bmp"),
            pytest.param(image_bytes("TIFF"), id="tiff"),
            pytest.param(zip_bytes(), id="zip"),
            pytest.param(b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff", id="exe"),
            pytest.param(b"\x7fELF\x02\x01\x01", id="elf"),
            pytest.param(b"<!DOCTYPE html><html><body>%PDF-1.7</body></html>", id="html"),
            pytest.param(b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>', id="svg"),
            pytest.param(b'<?xml version="1.0"?><svg/>', id="xml"),
            pytest.param("Căn cước công dân".encode(), id="text"),
            pytest.param(b"\xef\xbb\xbf%PDF-1.7", id="pdf-after-bom"),
            pytest.param(b" %PDF-1.7", id="pdf-after-space"),
            pytest.param(b"%PDF", id="pdf-truncated"),
            pytest.param(b"\xff\xd8", id="jpeg-truncated"),
            pytest.param(b"\x89PNG\r\n", id="png-truncated"),
            pytest.param(b"RIFF\x24\x00\x00\x00WAVEfmt ", id="wav"),
            pytest.param(b"RIFF\x24\x00\x00\x00WEB", id="webp-truncated"),
            pytest.param(b"", id="empty"),
        ],
    )
    def test_anything_else_is_refused(self, data: bytes) -> None:
        assert sniff(data[:SNIFF_BYTES]) is None

    @settings(max_examples=1000)
    @given(st.binary(max_size=SNIFF_BYTES * 2))
    def test_random_bytes_never_crash(self, head: bytes) -> None:
        assert sniff(head) in {None, PDF, JPEG, PNG, WEBP, HEIC, HEIF}

    @given(st.sampled_from([b"%PDF-", b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n"]), st.binary(max_size=SNIFF_BYTES))
    def test_the_signature_decides_whatever_follows(self, signature: bytes, rest: bytes) -> None:
        assert sniff(signature + rest) == sniff(signature)


class TestSafeFilename:
    @pytest.mark.parametrize(
        ("name", "file_type", "expected"),
        [
            ("CCCD mặt trước.pdf", PDF, "CCCD mặt trước.pdf"),
            ("scan.exe", PDF, "scan.pdf"),
            ("scan.pdf.exe", PDF, "scan.pdf"),
            ("scan.PDF", PDF, "scan.pdf"),
            ("photo.jpeg", JPEG, "photo.jpg"),
            ("IMG_0001.HEIC", HEIC, "IMG_0001.heic"),
            ("giay-khai-sinh", PNG, "giay-khai-sinh.png"),
            ("Nguyễn Văn A. Hộ chiếu", JPEG, "Nguyễn Văn A. Hộ chiếu.jpg"),
            ("../../etc/passwd", PDF, "passwd.pdf"),
            ("C:\\Users\\An\\Giấy tờ\\bằng lái.png", PNG, "bằng lái.png"),
            ("a/b/", PDF, "tep.pdf"),
            ("bill\x00.pdf", PDF, "bill.pdf"),
            ("line\r\nbreak.pdf", PDF, "linebreak.pdf"),
            ("cv\u202efdp.exe", PDF, "cvfdp.pdf"),  # right-to-left override, the "exe.pdf" trick
            ("zero\u200bwidth.png", PNG, "zerowidth.png"),
            ('a<b>c:"d"|e?f*.pdf', PDF, "a_b_c__d__e_f_.pdf"),
            ("  many   spaces\u00a0 .pdf", PDF, "many spaces.pdf"),
            (".hidden.pdf", PDF, "hidden.pdf"),
            ("...", PDF, "tep.pdf"),
            (".pdf", PDF, "tep.pdf"),
            ("", WEBP, "tep.webp"),
            (None, HEIF, "tep.heif"),
            ("\x01\x02", JPEG, "tep.jpg"),
        ],
    )
    def test_cases(self, name: str | None, file_type: FileType, expected: str) -> None:
        assert safe_filename(name, file_type) == expected

    def test_decomposed_vietnamese_is_composed(self) -> None:
        assert safe_filename("Gia\u0302\u0301y to\u031b\u0300.pdf", PDF) == "Giấy tờ.pdf"

    def test_long_names_are_cut_before_the_extension(self) -> None:
        name = safe_filename("Đ" * 300 + ".pdf", PDF)
        assert name == "Đ" * 116 + ".pdf"
        assert len(safe_filename("a" * 119 + " .........x.png", PNG)) <= 120

    @settings(max_examples=500)
    @given(st.none() | st.text(max_size=300), st.sampled_from([PDF, JPEG, PNG, WEBP, HEIC, HEIF]))
    def test_always_safe(self, name: str | None, file_type: FileType) -> None:
        safe = safe_filename(name, file_type)
        stem = safe.removesuffix("." + file_type.extension)
        assert safe.endswith("." + file_type.extension)
        assert stem
        assert len(safe) <= 120
        assert not safe.startswith((".", " "))
        assert not set(safe) & set('/\\<>:"|?*')
        assert all(unicodedata.category(c)[0] != "C" and unicodedata.category(c) not in {"Zl", "Zp"} for c in safe)
        assert unicodedata.is_normalized("NFC", safe)
        assert safe_filename(safe, file_type) == safe
