"""Helpers for wallet tests: valid papers and real scan bytes."""

from __future__ import annotations

import io
import json
from datetime import date
from typing import Any

from PIL import Image

from tests.integration.conftest import Wallet


def png_bytes(marker: str = "", size: int = 16) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (size, size), (200, 30, 30)).save(buffer, format="PNG")
    # A PNG may carry trailing bytes; the marker lets tests search storage for plaintext.
    return buffer.getvalue() + marker.encode()


def pdf_bytes(marker: str = "", padding: int = 0) -> bytes:
    return b"%PDF-1.7\n% scan\n" + marker.encode() + b"\n" + b"0" * padding + b"\n%%EOF\n"


def cccd_fields(data: dict[str, Any], **overrides: Any) -> dict[str, Any]:
    fields = {
        "number": data["national_id"],
        "full_name": data["full_name"],
        "date_of_birth": data["date_of_birth"],
        "sex": "nam",
        "nationality": "Việt Nam",
        "place_of_origin": "Hải Châu, Đà Nẵng",
        "place_of_residence": "Hải Châu, Đà Nẵng",
        "issue_date": "2021-04-10",
        "expiry_date": "2035-03-02",
        "issued_by": "Cục Cảnh sát QLHC về TTXH",
    }
    fields.update(overrides)
    return fields


def diploma_fields(**overrides: Any) -> dict[str, Any]:
    fields = {
        "title": "Bằng cử nhân",
        "holder_name": "Nguyễn Văn An",
        "date_of_birth": "1995-03-02",
        "institution": "Đại học Đà Nẵng",
        "major": "Công nghệ thông tin",
        "graduation_year": 2017,
        "classification": "Giỏi",
        "serial_number": "DN-2017-001234",
        "issue_date": "2017-07-01",
    }
    fields.update(overrides)
    return fields


def upload(
    wallet: Wallet,
    token: str,
    doc_type: str,
    fields: dict[str, Any],
    files: list[tuple[str, bytes]] = (),  # type: ignore[assignment]
    *,
    method: str = "POST",
    document_id: str | None = None,
) -> Any:
    path = "/api/v1/documents" + (f"/{document_id}" if document_id else "")
    data = {"fields": json.dumps(fields, ensure_ascii=False)}
    if method == "POST":
        data["type"] = doc_type
    multipart = [("file", (name, content, "application/octet-stream")) for name, content in files]
    return wallet.client.request(
        method, path, data=data, files=multipart or None, headers={"Authorization": f"Bearer {token}"}
    )


def today(wallet: Wallet) -> date:
    return wallet.clock.now().date()


# -- more scan formats, raw storage access and re-login (test_wallet_*.py) ------------------------------------------

from pathlib import Path  # noqa: E402 - appended section; the header above is shared

HEIC_HEAD = b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic"


def jpeg_bytes(size: int = 16) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (size, size), (30, 200, 30)).save(buffer, format="JPEG")
    return buffer.getvalue()


def webp_bytes(size: int = 16) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (size, size), (30, 30, 200)).save(buffer, format="WEBP")
    return buffer.getvalue()


def gif_bytes(size: int = 16) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (size, size), (9, 9, 9)).save(buffer, format="GIF")
    return buffer.getvalue()


def heic_bytes(padding: int = 64) -> bytes:
    """A synthetic HEIC: only the `ftyp` box (major brand heic, compatible mif1 + heic) and filler."""
    return HEIC_HEAD + b"\x00" * padding


def zip_bytes() -> bytes:
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("scan.pdf", pdf_bytes("inside a zip"))
    return buffer.getvalue()


def svg_bytes() -> bytes:
    return b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def relogin(wallet: Wallet, data: dict[str, Any]) -> dict[str, Any]:
    """A fresh token pair for a registered citizen (PIN + the SMS code from the dev outbox)."""
    from tests.factories import e164, last_code

    challenge = wallet.login(data["national_id"], data["pin"])
    code = last_code(wallet.outbox, to=e164(data["phone"]))
    tokens = wallet.post("/auth/otp/verify", {"challenge_id": challenge["challenge_id"], "code": code})
    assert tokens.status_code == 200, tokens.text
    return dict(tokens.json())


def s3_location(wallet: Wallet) -> tuple[Any, str] | None:
    """(a minio client, the bucket) when the wallet stores blobs in S3; None for the local folder."""
    from urllib.parse import parse_qs, urlsplit

    from minio import Minio

    url = wallet.settings.storage_url
    if not url or not url.startswith("s3://"):
        return None
    parts = urlsplit(url)
    params = {k: v[0] for k, v in parse_qs(parts.query).items()}
    assert wallet.settings.s3_access_key is not None and wallet.settings.s3_secret_key is not None
    client = Minio(
        params["endpoint"],
        access_key=wallet.settings.s3_access_key.get_secret_value(),
        secret_key=wallet.settings.s3_secret_key.get_secret_value(),
        secure=params.get("secure", "true") == "true",
    )
    return client, parts.netloc


def blobs_root(wallet: Wallet) -> Path:
    return Path(wallet.settings.data_dir) / "blobs"


def stored_objects(wallet: Wallet) -> dict[str, bytes]:
    """Every blob the store holds, read directly (the local folder without `.tmp`, or every object in the bucket)."""
    s3 = s3_location(wallet)
    if s3 is None:
        root = blobs_root(wallet)
        if not root.exists():
            return {}
        return {
            path.relative_to(root).as_posix(): path.read_bytes()
            for path in root.rglob("*")
            if path.is_file() and ".tmp" not in path.relative_to(root).parts
        }
    client, bucket = s3
    out: dict[str, bytes] = {}
    for obj in client.list_objects(bucket, recursive=True):
        response = client.get_object(bucket, obj.object_name)
        try:
            out[obj.object_name] = response.read()
        finally:
            response.close()
            response.release_conn()
    return out


def read_blob(wallet: Wallet, key: str) -> bytes:
    s3 = s3_location(wallet)
    if s3 is None:
        return (blobs_root(wallet) / key).read_bytes()
    client, bucket = s3
    response = client.get_object(bucket, key)
    try:
        return bytes(response.read())
    finally:
        response.close()
        response.release_conn()


def write_blob(wallet: Wallet, key: str, content: bytes) -> None:
    """Overwrite a stored blob behind the app's back (tamper tests)."""
    s3 = s3_location(wallet)
    if s3 is None:
        (blobs_root(wallet) / key).write_bytes(content)
        return
    client, bucket = s3
    client.put_object(bucket, key, io.BytesIO(content), len(content))


def passport_fields(data: dict[str, Any], **overrides: Any) -> dict[str, Any]:
    fields = {
        "passport_number": "C1234567",
        "full_name": data["full_name"],
        "date_of_birth": data["date_of_birth"],
        "sex": "nam",
        "nationality": "Việt Nam",
        "place_of_birth": "Đà Nẵng",
        "national_id": data["national_id"],
        "issue_date": "2022-05-10",
        "expiry_date": "2032-05-10",
        "issuing_authority": "Cục Quản lý xuất nhập cảnh",
    }
    fields.update(overrides)
    return fields


def health_insurance_fields(data: dict[str, Any], **overrides: Any) -> dict[str, Any]:
    fields = {
        "card_number": "DN4790123456789",
        "full_name": data["full_name"],
        "date_of_birth": data["date_of_birth"],
        "sex": "nam",
        "registered_hospital": "Bệnh viện Đà Nẵng",
        "valid_from": "2026-01-01",
        "valid_to": "2026-12-31",
    }
    fields.update(overrides)
    return fields


def multipart_body(text: dict[str, str], files: list[tuple[str, bytes, str]]) -> tuple[bytes, str]:
    """A multipart/form-data body built by hand: text parts, then `file` parts (filename, bytes, declared type).
    Returns (body, Content-Type header)."""
    import uuid

    boundary = "cds-" + uuid.uuid4().hex
    out = bytearray()
    for name, value in text.items():
        out += f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode()
        out += value.encode() + b"\r\n"
    for filename, content, declared in files:
        head = f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{filename}"\r\n'
        out += (head + f"Content-Type: {declared}\r\n\r\n").encode() + content + b"\r\n"
    out += f"--{boundary}--\r\n".encode()
    return bytes(out), f"multipart/form-data; boundary={boundary}"
