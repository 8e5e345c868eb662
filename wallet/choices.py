"""The choices of the papers' enum and list fields, each with its label in Vietnamese and English (people read the
labels; the codes are the API's)."""

from __future__ import annotations

Labelled = tuple[tuple[str, str, str], ...]  # (code, Vietnamese, English)

SEX: Labelled = (("nam", "Nam", "Male"), ("nu", "Nữ", "Female"))
LICENSE_CLASSES: Labelled = tuple(
    (code, f"Hạng {code}", f"Class {code}")
    for code in ("A1", "A", "B", "C1", "C", "D1", "D2", "D", "BE", "C1E", "CE", "D1E", "D2E", "DE")
)
CRIMINAL_RECORD_FORMS: Labelled = (
    ("1", "Phiếu lý lịch tư pháp số 1", "Criminal record certificate no. 1"),
    ("2", "Phiếu lý lịch tư pháp số 2", "Criminal record certificate no. 2"),
)
# `residence_proof.kind`: the papers Luật Cư trú 2020 art. 20 and Nghị định 154/2024 art. 5 accept as proof.
RESIDENCE_PROOF_KINDS: Labelled = (
    (
        "so_do",
        "Giấy chứng nhận quyền sử dụng đất, quyền sở hữu nhà ở (sổ đỏ, sổ hồng)",
        "Certificate of land use and house ownership",
    ),
    (
        "hop_dong_thue",
        "Hợp đồng, văn bản cho thuê, cho mượn, cho ở nhờ",
        "Lease, loan or lodging agreement",
    ),
    ("xac_nhan_ubnd", "Văn bản xác nhận của Ủy ban nhân dân cấp xã", "Confirmation by the commune People's Committee"),
    ("khac", "Giấy tờ khác theo quy định", "Another paper the law accepts"),
)


def codes(labelled: Labelled) -> tuple[str, ...]:
    return tuple(code for code, _vi, _en in labelled)
