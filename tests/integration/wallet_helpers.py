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
    body = b"%PDF-1.7\n% scan\n" + marker.encode() + b"\n" + b"0" * padding + b"\n%%EOF\n"
    return body


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
