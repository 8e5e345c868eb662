"""Valid wallet papers for benchmark citizens: every type the e-form catalog pulls from, and filler diplomas.

Copied from `tests/integration/wallet_helpers.py` (`full_wallet` and the `*_fields` helpers) so the benchmarks do
not import the test suite. The server runs on the real clock: every paper is valid in late 2026 (the tests' frozen
day); one that has expired since still prefills (the best-paper rule prefers active papers but uses expired ones), so
the figures do not change with the date. `data` is a registration as
`bench.foundation.Citizen.registration()` gives it (`national_id`, `full_name`, `date_of_birth`, `phone`).
"""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import httpx

Paper = tuple[str, dict[str, Any]]
"""(type, fields) of one paper, as `POST /api/v1/documents` takes it."""

SPOUSE_BIRTH = date(1997, 7, 9)
SPOUSE_SERIAL = 970_709  # the spouse's CCCD serial digits (any 6 digits; it differs from the citizen's number)


def sex_of(data: dict[str, Any]) -> str:
    """The sex the citizen's CCCD number encodes (its 4th digit: even for men, odd for women)."""
    return "nu" if int(data["national_id"][3]) % 2 else "nam"


def spouse_name(data: dict[str, Any]) -> str:
    return "Trần Thị Bình" if sex_of(data) == "nam" else "Nguyễn Văn Hải"


def _spouse_national_id(data: dict[str, Any]) -> str:
    century_sex = 2 * ((SPOUSE_BIRTH.year - 1900) // 100) + (1 if sex_of(data) == "nam" else 0)  # the other sex
    return f"048{century_sex}{SPOUSE_BIRTH.year % 100:02d}{SPOUSE_SERIAL:06d}"


def cccd_fields(data: dict[str, Any]) -> dict[str, Any]:
    return {
        "number": data["national_id"],
        "full_name": data["full_name"],
        "date_of_birth": data["date_of_birth"],
        "sex": sex_of(data),
        "nationality": "Việt Nam",
        "place_of_origin": "Hải Châu, Đà Nẵng",
        "place_of_residence": "Hải Châu, Đà Nẵng",
        "issue_date": "2021-04-10",
        "expiry_date": "2035-03-02",
        "issued_by": "Cục Cảnh sát QLHC về TTXH",
    }


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


def child_birth_certificate_fields(data: dict[str, Any]) -> dict[str, Any]:
    """A young child's birth certificate, kept in the wallet of the parent `data`; the other parent is the spouse."""
    parents = (data["full_name"], spouse_name(data))
    father, mother = parents if sex_of(data) == "nam" else parents[::-1]
    return birth_certificate_fields(
        data,
        full_name="Nguyễn Minh Khang",
        sex="nam",
        date_of_birth="2024-06-15",
        father_name=father,
        mother_name=mother,
        registration_number="2024/456",
        registration_date="2024-06-28",
    )


def passport_fields(data: dict[str, Any]) -> dict[str, Any]:
    return {
        "passport_number": "C1234567",
        "full_name": data["full_name"],
        "date_of_birth": data["date_of_birth"],
        "sex": sex_of(data),
        "nationality": "Việt Nam",
        "place_of_birth": "Đà Nẵng",
        "national_id": data["national_id"],
        "issue_date": "2022-05-10",
        "expiry_date": "2032-05-10",
        "issuing_authority": "Cục Quản lý xuất nhập cảnh",
    }


def driver_license_fields(data: dict[str, Any]) -> dict[str, Any]:
    return {
        "license_number": "480123456789",
        "full_name": data["full_name"],
        "date_of_birth": data["date_of_birth"],
        "address": "Hải Châu, Đà Nẵng",
        "classes": ["A1", "B"],
        "issue_date": "2017-05-05",
        "expiry_date": "2027-05-05",
        "issued_by": "Sở Giao thông vận tải Đà Nẵng",
    }


def health_insurance_fields(data: dict[str, Any]) -> dict[str, Any]:
    return {
        "card_number": "DN4790123456789",
        "full_name": data["full_name"],
        "date_of_birth": data["date_of_birth"],
        "sex": sex_of(data),
        "registered_hospital": "Bệnh viện Đà Nẵng",
        "valid_from": "2026-01-01",
        "valid_to": "2026-12-31",
    }


def residence_fields(data: dict[str, Any]) -> dict[str, Any]:
    return {
        "full_name": data["full_name"],
        "national_id": data["national_id"],
        "permanent_address": "12 Lê Lợi, Hải Châu, Đà Nẵng",
        "temporary_address": "45 Trần Phú, Hoàn Kiếm, Hà Nội",
        "household_head": "Nguyễn Văn Hùng",
        "relationship_to_head": "Con",
        "issue_date": "2026-09-01",
    }


def marriage_certificate_fields(data: dict[str, Any]) -> dict[str, Any]:
    """The citizen's marriage, with a spouse of the other sex (a spouse ID in the CCCD format)."""
    spouse_female = sex_of(data) == "nam"
    spouse = (spouse_name(data), _spouse_national_id(data))
    own = (data["full_name"], data["national_id"])
    (husband_name, husband_id), (wife_name, wife_id) = (own, spouse) if spouse_female else (spouse, own)
    return {
        "husband_name": husband_name,
        "husband_national_id": husband_id,
        "wife_name": wife_name,
        "wife_national_id": wife_id,
        "registration_number": "45/2022",
        "registration_date": "2022-10-20",
        "registered_at": "UBND phường Hải Châu I, Đà Nẵng",
    }


def criminal_record_fields(data: dict[str, Any]) -> dict[str, Any]:
    return {
        "full_name": data["full_name"],
        "date_of_birth": data["date_of_birth"],
        "national_id": data["national_id"],
        "form": "1",
        "content": "Không có án tích",
        "issue_date": "2026-03-10",
        "issued_by": "Sở Tư pháp thành phố Đà Nẵng",
    }


def health_certificate_fields(data: dict[str, Any]) -> dict[str, Any]:
    return {
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


def residence_proof_fields(data: dict[str, Any]) -> dict[str, Any]:
    return {
        # A land-use certificate carries every field; a private lease (hop_dong_thue) has no issuing agency, so
        # `proof_issued_by` would stay empty and permanent_residence drop to 9/12.
        "kind": "so_do",
        "address": "88 Nguyễn Văn Linh, Thanh Khê, Đà Nẵng",
        "owner_name": data["full_name"],
        "holder_name": data["full_name"],
        "issue_date": "2026-08-15",
        "issued_by": "Sở Tài nguyên và Môi trường thành phố Đà Nẵng",
    }


def diploma_fields(data: dict[str, Any], n: int = 1) -> dict[str, Any]:
    return {
        "title": f"Bằng cử nhân {n}",
        "holder_name": data["full_name"],
        "date_of_birth": data["date_of_birth"],
        "institution": "Đại học Đà Nẵng",
        "major": "Công nghệ thông tin",
        "graduation_year": 2012,
        "classification": "Giỏi",
        "serial_number": f"DN-2012-{n:06d}",
        "issue_date": "2012-07-01",
    }


def full_wallet(data: dict[str, Any]) -> list[Paper]:
    """Every paper the catalog's procedures pull from (and one diploma), the citizen's own birth certificate
    included; add `child_birth_certificate_fields` for the child's procedure."""
    return [
        ("cccd", cccd_fields(data)),
        ("birth_certificate", birth_certificate_fields(data)),
        ("passport", passport_fields(data)),
        ("driver_license", driver_license_fields(data)),
        ("health_insurance", health_insurance_fields(data)),
        ("residence", residence_fields(data)),
        ("marriage_certificate", marriage_certificate_fields(data)),
        ("criminal_record", criminal_record_fields(data)),
        ("health_certificate", health_certificate_fields(data)),
        ("residence_proof", residence_proof_fields(data)),
        ("diploma", diploma_fields(data)),
    ]


def small_pdf(marker: str) -> bytes:
    """A small scan (about 200 bytes) so each paper carries one file, as a real upload would."""
    return b"%PDF-1.7\n% bench\n" + marker.encode() + b"\n" + b"0" * 64 + b"\n%%EOF\n"


def upload(client: httpx.Client, api: str, token: str, paper: Paper) -> str:
    """`POST /api/v1/documents` (multipart: type, fields as JSON text, one small PDF); returns the paper's id."""
    doc_type, fields = paper
    answer = client.post(
        f"{api}/documents",
        data={"type": doc_type, "fields": json.dumps(fields, ensure_ascii=False)},
        files=[("file", (f"{doc_type}.pdf", small_pdf(doc_type), "application/pdf"))],
        headers={"Authorization": f"Bearer {token}"},
    )
    if answer.status_code != 201:
        raise RuntimeError(f"uploading a {doc_type} answered {answer.status_code}: {answer.text}")
    document_id: str = answer.json()["id"]
    return document_id
