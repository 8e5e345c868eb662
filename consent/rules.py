"""What makes a consent request acceptable, and the notice a citizen reads before deciding.

A request asks for one purpose (no bundling): a non-blank purpose of at most 500 characters without control
characters, 1 to 10 distinct known document types, an optional field list for some of those types (known fields,
each at most once, at least one), and 1 to 365 days of validity. Every problem is reported at once."""

from __future__ import annotations

import hashlib
import unicodedata
from collections.abc import Mapping, Sequence

from consent.errors import ConsentInvalid
from consent.schemas import MAX_FIELDS_PER_TYPE, MAX_VALID_DAYS, RequestedDocument
from identity.validation import cccd_problems
from wallet.catalog import CATALOG

# Papers whose data DOMAIN.md calls sensitive (identity-card images, health, criminal record).
SENSITIVE_TYPES = frozenset({"cccd", "health_insurance", "health_certificate", "criminal_record"})
LEGAL_BASIS = "Luật Bảo vệ dữ liệu cá nhân số 91/2025/QH15; Nghị định 356/2025/NĐ-CP"


def check_request(
    *,
    national_id: str | None,
    document_types: Sequence[str],
    fields: Mapping[str, Sequence[str]] | None,
    purpose: str,
    valid_days: int,
) -> None:
    errors: dict[str, list[str]] = {}
    if national_id is not None and (problems := cccd_problems(national_id)):
        errors["national_id"] = problems
    if purpose_problems := _purpose_problems(purpose):
        errors["purpose"] = purpose_problems
    if not 1 <= valid_days <= MAX_VALID_DAYS:
        errors["valid_days"] = [f"must be between 1 and {MAX_VALID_DAYS}"]
    errors |= _type_problems(document_types)
    errors |= _field_problems(document_types, fields or {}) if fields is not None else {}
    if errors:
        raise ConsentInvalid(errors)


def _purpose_problems(purpose: str) -> list[str]:
    if not purpose.strip():
        return ["is required: say what the papers are for"]
    if any(unicodedata.category(c) in {"Cc", "Cs"} for c in purpose):
        return ["must be one line of text without control characters"]
    return []


def _type_problems(document_types: Sequence[str]) -> dict[str, list[str]]:
    if not document_types:
        return {"document_types": ["name at least one document type"]}
    problems = [f"unknown document type {str(t)[:50]}" for t in document_types if t not in CATALOG]
    duplicates = sorted({t for t in document_types if document_types.count(t) > 1})
    problems += [f"{t} is requested more than once" for t in duplicates]
    return {"document_types": problems} if problems else {}


def _field_problems(document_types: Sequence[str], fields: Mapping[str, Sequence[str]]) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    for type_code, names in fields.items():
        key = f"fields.{str(type_code)[:50]}"
        if type_code not in document_types:
            errors[key] = ["fields given for a type that is not requested"]
            continue
        known = {spec.name for spec in CATALOG[type_code].fields}
        problems = [f"unknown field {str(n)[:50]}" for n in names if n not in known]
        problems += [f"{n} is listed more than once" for n in sorted({n for n in names if list(names).count(n) > 1})]
        if not names:
            problems.append("list at least one field (omit the type here to share the whole paper)")
        elif len(names) > MAX_FIELDS_PER_TYPE:
            problems.append(f"at most {MAX_FIELDS_PER_TYPE} fields")
        if problems:
            errors[key] = problems
    return errors


def requested_documents(
    document_types: Sequence[str], fields: Mapping[str, Sequence[str]] | None
) -> list[RequestedDocument]:
    """Exactly which papers and fields a request covers, in the citizen's words."""
    out = []
    for type_code in document_types:
        doc = CATALOG[type_code]
        labels = {spec.name: spec.label_vi for spec in doc.fields}
        listed = list(fields[type_code]) if fields and type_code in fields else None
        shown = listed if listed is not None else [spec.name for spec in doc.fields]
        out.append(
            RequestedDocument(
                type=type_code,
                name=doc.name_vi,
                fields=listed,
                field_labels=[labels[name] for name in shown],
                files=listed is None,
            )
        )
    return out


def notice_text(
    *,
    agency_code: str,
    agency_name: str,
    purpose: str,
    documents: Sequence[RequestedDocument],
    valid_days: int,
    at_counter: bool,
) -> str:
    """The notice shown to the citizen (Decree 356/2025: who, what, why, how long, how to withdraw)."""
    lines = [f"{agency_name} (mã cơ quan {agency_code}) đề nghị bạn đồng ý chia sẻ dữ liệu cá nhân sau đây."]
    if at_counter:
        lines.append(f"Yêu cầu được lập tại quầy tiếp nhận của {agency_name}.")
    lines.append(f"Mục đích: {purpose}")
    lines.append("Giấy tờ:")
    for doc in documents:
        if doc.fields is None:
            lines.append(f"- {doc.name}: toàn bộ thông tin, kèm bản quét")
        else:
            lines.append(f"- {doc.name}: chỉ các thông tin {', '.join(doc.field_labels)}; không kèm bản quét")
    lines.append(f"Thời hạn: {valid_days} ngày kể từ khi bạn đồng ý.")
    lines.append("Bạn có thể từ chối, hoặc rút lại sự đồng ý bất cứ lúc nào; việc rút lại có hiệu lực ngay.")
    lines.append(f"Căn cứ: {LEGAL_BASIS}.")
    return "\n".join(lines)


def sha256_hex(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
