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


def problem(answer: Any, status: int, code: str) -> dict[str, Any]:
    """The problem+json body of an expected refusal, checked for its status and stable code."""
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = answer.json()
    assert body["code"] == code, body
    return body


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


# -- every paper a procedure pulls from, for a "full wallet" (e-form tests and benchmarks) -------------------------


def sex_of(data: dict[str, Any]) -> str:
    """The sex the citizen's CCCD number encodes (its 4th digit: even for men, odd for women)."""
    return "nu" if int(data["national_id"][3]) % 2 else "nam"


def driver_license_fields(data: dict[str, Any], **overrides: Any) -> dict[str, Any]:
    fields = {
        "license_number": "480123456789",
        "full_name": data["full_name"],
        "date_of_birth": data["date_of_birth"],
        "address": "Hải Châu, Đà Nẵng",
        "classes": ["A1", "B"],
        "issue_date": "2017-05-05",
        "expiry_date": "2027-05-05",
        "issued_by": "Sở Giao thông vận tải Đà Nẵng",
    }
    fields.update(overrides)
    return fields


def birth_certificate_fields(data: dict[str, Any], **overrides: Any) -> dict[str, Any]:
    """The citizen's own birth certificate; override the child's fields for a child's paper held by a parent."""
    born = date.fromisoformat(data["date_of_birth"])
    fields = {
        "full_name": data["full_name"],
        "sex": sex_of(data),
        "date_of_birth": data["date_of_birth"],
        "place_of_birth": "Bệnh viện Phụ sản – Nhi Đà Nẵng",
        "ethnicity": "Kinh",
        "nationality": "Việt Nam",
        "father_name": "Nguyễn Văn Hùng",
        "mother_name": "Lê Thị Hoa",
        "registration_number": f"{born.year}/123",
        "registration_date": (born.replace(day=28) if born.day < 28 else born).isoformat(),
        "registered_at": "UBND phường Hải Châu I, Đà Nẵng",
    }
    fields.update(overrides)
    return fields


def spouse_name(data: dict[str, Any]) -> str:
    """The name of the citizen's spouse in `marriage_certificate_fields` (the other parent of their child)."""
    return "Trần Thị Bình" if sex_of(data) == "nam" else "Nguyễn Văn Hải"


def child_birth_certificate_fields(data: dict[str, Any], **overrides: Any) -> dict[str, Any]:
    """A young child's birth certificate, kept in the wallet of the parent `data`; the other parent is the spouse."""
    parents = (data["full_name"], spouse_name(data))
    father, mother = parents if sex_of(data) == "nam" else parents[::-1]
    fields = birth_certificate_fields(
        data,
        full_name="Nguyễn Minh Khang",
        sex="nam",
        date_of_birth="2024-06-15",
        father_name=father,
        mother_name=mother,
        registration_number="2024/456",
        registration_date="2024-06-28",
    )
    fields.update(overrides)
    return fields


def residence_fields(data: dict[str, Any], **overrides: Any) -> dict[str, Any]:
    fields = {
        "full_name": data["full_name"],
        "national_id": data["national_id"],
        "permanent_address": "12 Lê Lợi, Hải Châu, Đà Nẵng",
        "temporary_address": "45 Trần Phú, Hoàn Kiếm, Hà Nội",
        "household_head": "Nguyễn Văn Hùng",
        "relationship_to_head": "Con",
        "issue_date": "2026-09-01",
    }
    fields.update(overrides)
    return fields


def marriage_certificate_fields(data: dict[str, Any], **overrides: Any) -> dict[str, Any]:
    """The citizen's marriage, with a spouse of the other sex (a spouse ID in the CCCD format)."""
    from tests.factories import make_cccd

    spouse_female = sex_of(data) == "nam"
    spouse = (spouse_name(data), make_cccd(date(1997, 7, 9), sex="nu" if spouse_female else "nam"))
    own = (data["full_name"], data["national_id"])
    (husband_name, husband_id), (wife_name, wife_id) = (own, spouse) if spouse_female else (spouse, own)
    fields = {
        "husband_name": husband_name,
        "husband_national_id": husband_id,
        "wife_name": wife_name,
        "wife_national_id": wife_id,
        "registration_number": "45/2022",
        "registration_date": "2022-10-20",
        "registered_at": "UBND phường Hải Châu I, Đà Nẵng",
    }
    fields.update(overrides)
    return fields


def criminal_record_fields(data: dict[str, Any], **overrides: Any) -> dict[str, Any]:
    fields = {
        "full_name": data["full_name"],
        "date_of_birth": data["date_of_birth"],
        "national_id": data["national_id"],
        "form": "1",
        "content": "Không có án tích",
        "issue_date": "2026-03-10",
        "issued_by": "Sở Tư pháp thành phố Đà Nẵng",
    }
    fields.update(overrides)
    return fields


def health_certificate_fields(data: dict[str, Any], **overrides: Any) -> dict[str, Any]:
    fields = {
        "full_name": data["full_name"],
        "date_of_birth": data["date_of_birth"],
        "sex": sex_of(data),
        "national_id": data["national_id"],
        "purpose": "Lái xe hạng B",
        "conclusion": "Đủ điều kiện sức khỏe lái xe hạng B",
        "examined_at": "Bệnh viện Đa khoa Đà Nẵng",
        "exam_date": "2026-10-01",
        "valid_to": "2027-10-01",
    }
    fields.update(overrides)
    return fields


def residence_proof_fields(data: dict[str, Any], **overrides: Any) -> dict[str, Any]:
    fields = {
        "kind": "hop_dong_thue",
        "address": "88 Nguyễn Văn Linh, Thanh Khê, Đà Nẵng",
        "owner_name": "Phạm Văn Long",
        "holder_name": data["full_name"],
        "issue_date": "2026-08-15",
        "issued_by": None,  # a private lease has no issuing agency
    }
    fields.update(overrides)
    return fields


def full_wallet(data: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """(type, fields) of every paper the catalog's procedures pull from, all valid on the test clock's day.

    The citizen's own birth certificate comes first; add `child_birth_certificate_fields` for the child's procedures.
    """
    return [
        ("cccd", cccd_fields(data, sex=sex_of(data))),
        ("birth_certificate", birth_certificate_fields(data)),
        ("passport", passport_fields(data, sex=sex_of(data))),
        ("driver_license", driver_license_fields(data)),
        ("health_insurance", health_insurance_fields(data, sex=sex_of(data))),
        ("residence", residence_fields(data)),
        ("marriage_certificate", marriage_certificate_fields(data)),
        ("criminal_record", criminal_record_fields(data)),
        ("health_certificate", health_certificate_fields(data)),
        ("residence_proof", residence_proof_fields(data)),
        ("diploma", diploma_fields(holder_name=data["full_name"], date_of_birth=data["date_of_birth"])),
    ]
