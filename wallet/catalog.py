"""The document types a wallet holds, each with a field schema checked on every write: the ten of DOMAIN.md, plus
two papers that procedures ask for and that are new to the citizen (`health_certificate`, the health check a driving
licence renewal needs; `residence_proof`, the proof of legal residence a permanent registration needs), kept so that a
later procedure reuses them instead of asking again.

`validate_fields` returns JSON-ready values (dates as "YYYY-MM-DD", ints as int, lists as list[str]) holding exactly
the keys it was given, or raises `FieldsInvalid` naming every problem at once. Strings are trimmed and NFC-normalised;
control characters and lone surrogates are refused; an optional field may be omitted, null or "" (stored as null).

Required fields: every field of a type is required except those below, because real papers lack them:
- `cccd.expiry_date`: cards issued after 60 say "Không thời hạn" (no expiry);
- `passport.mrz`, `residence.temporary_address`, `diploma.major`, `diploma.classification`,
  `tthc_result.summary`, `residence_proof.issued_by`: not printed on every paper (a private lease has no issuer);
- `birth_certificate.father_name` / `mother_name`: left blank when a parent is not established (a foundling, a
  father not yet recognised);
- `driver_license.expiry_date`: required unless every class is A1 or A (those licences never expire).

Rules beyond kinds: `cccd.number` is a valid CCCD for the paper's own date of birth and sex and, given a `holder`,
is the holder's own number (the holder's other attributes are not compared); other national ID fields need the CCCD
format (12 digits, a known province code, a century/sex digit 0 to 5); an issue, registration, valid-from or exam
date is not before the date of birth; `issue_date` is not after `expiry_date`, nor `valid_from` or `exam_date` after
`valid_to`; husband and wife have different national IDs.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Literal

from identity.validation import cccd_problems
from wallet import choices
from wallet.choices import Labelled, codes
from wallet.errors import FieldsInvalid, UnknownDocumentType
from wallet.kinds import (
    HEALTH_CARD_PATTERN,
    LICENSE_PATTERN,
    NATIONAL_ID_PATTERN,
    PASSPORT_PATTERN,
    FieldKind,
    FieldSpec,
    ValueInvalid,
    coerce,
    to_json,
)

__all__ = [  # FieldKind and FieldSpec live in wallet.kinds and are re-exported as part of the catalog's vocabulary
    "CATALOG",
    "LICENSE_CLASSES",
    "NATIONAL_ID_PATTERN",
    "NON_EXPIRING_CLASSES",
    "RESIDENCE_PROOF_KINDS",
    "DocumentType",
    "FieldKind",
    "FieldSpec",
    "Holder",
    "Sex",
    "catalog_public",
    "document_type",
    "status_for",
    "valid_until",
    "validate_fields",
]

Sex = Literal["nam", "nu"]


@dataclass(frozen=True)
class DocumentType:
    code: str
    name_vi: str
    name_en: str
    fields: tuple[FieldSpec, ...]
    expiry_field: str | None  # "expiry_date" or "valid_to"


@dataclass(frozen=True)
class Holder:
    national_id: str
    date_of_birth: date
    sex: Sex
    full_name: str


LICENSE_CLASSES = codes(choices.LICENSE_CLASSES)
NON_EXPIRING_CLASSES = frozenset({"A1", "A"})
RESIDENCE_PROOF_KINDS = codes(choices.RESIDENCE_PROOF_KINDS)
_NAME = 200  # max length of a person's name
_LONG_TEXT = 5000


def _f(
    name: str,
    kind: FieldKind,
    label_vi: str,
    label_en: str,
    *,
    required: bool = True,
    labelled: Labelled = (),
    pattern: str | None = None,
    max_length: int = 500,
) -> FieldSpec:
    return FieldSpec(name, kind, required, label_vi, label_en, codes(labelled), pattern, max_length, labelled)


def _name(name: str = "full_name", vi: str = "Họ và tên", en: str = "Full name", *, required: bool = True) -> FieldSpec:
    return _f(name, "string", vi, en, required=required, max_length=_NAME)


def _national_id(
    name: str = "national_id", vi: str = "Số định danh cá nhân", en: str = "Personal ID number"
) -> FieldSpec:
    return _f(name, "string", vi, en, pattern=NATIONAL_ID_PATTERN)


_DOB = _f("date_of_birth", "date", "Ngày sinh", "Date of birth")
_SEX = _f("sex", "enum", "Giới tính", "Sex", labelled=choices.SEX)
_NATIONALITY = _f("nationality", "string", "Quốc tịch", "Nationality", max_length=100)
_ISSUE_DATE = _f("issue_date", "date", "Ngày cấp", "Date of issue")
_EXPIRY_DATE = _f("expiry_date", "date", "Có giá trị đến", "Date of expiry")
_ISSUED_BY = _f("issued_by", "string", "Cơ quan cấp", "Issued by")
_REGISTRATION = (
    _f("registration_number", "string", "Số đăng ký", "Registration number", max_length=100),
    _f("registration_date", "date", "Ngày đăng ký", "Date of registration"),
    _f("registered_at", "string", "Nơi đăng ký", "Place of registration"),
)

_TYPES = (
    DocumentType("cccd", "Căn cước công dân", "Citizen identity card", (
        _national_id("number"), _name(), _DOB, _SEX, _NATIONALITY,
        _f("place_of_origin", "string", "Quê quán", "Place of origin"),
        _f("place_of_residence", "string", "Nơi thường trú", "Place of residence"),
        _ISSUE_DATE, _f("expiry_date", "date", "Có giá trị đến", "Date of expiry", required=False), _ISSUED_BY,
    ), "expiry_date"),
    DocumentType("passport", "Hộ chiếu phổ thông", "Ordinary passport", (
        _f("passport_number", "string", "Số hộ chiếu", "Passport number", pattern=PASSPORT_PATTERN),
        _name(), _DOB, _SEX, _NATIONALITY, _f("place_of_birth", "string", "Nơi sinh", "Place of birth"),
        _national_id(), _ISSUE_DATE, _EXPIRY_DATE,
        _f("issuing_authority", "string", "Cơ quan cấp", "Issuing authority"),
        _f("mrz", "string", "Vùng đọc máy (MRZ)", "Machine-readable zone", required=False, max_length=100),
    ), "expiry_date"),
    DocumentType("driver_license", "Giấy phép lái xe", "Driving licence", (
        _f("license_number", "string", "Số giấy phép lái xe", "Licence number", pattern=LICENSE_PATTERN),
        _name(), _DOB, _f("address", "string", "Nơi cư trú", "Address"),
        _f("classes", "list", "Hạng", "Classes", labelled=choices.LICENSE_CLASSES),
        _ISSUE_DATE, _f("expiry_date", "date", "Có giá trị đến", "Date of expiry", required=False), _ISSUED_BY,
    ), "expiry_date"),
    DocumentType("birth_certificate", "Giấy khai sinh", "Birth certificate", (
        _name(), _SEX, _DOB, _f("place_of_birth", "string", "Nơi sinh", "Place of birth"),
        _f("ethnicity", "string", "Dân tộc", "Ethnicity", max_length=100), _NATIONALITY,
        _name("father_name", "Họ và tên cha", "Father's full name", required=False),
        _name("mother_name", "Họ và tên mẹ", "Mother's full name", required=False),
        *_REGISTRATION,
    ), None),
    DocumentType("health_insurance", "Thẻ bảo hiểm y tế", "Health insurance card", (
        _f("card_number", "string", "Mã số thẻ", "Card number", pattern=HEALTH_CARD_PATTERN),
        _name(), _DOB, _SEX,
        _f("registered_hospital", "string", "Nơi đăng ký khám chữa bệnh ban đầu", "Registered primary care facility"),
        _f("valid_from", "date", "Giá trị sử dụng từ ngày", "Valid from"),
        _f("valid_to", "date", "Giá trị sử dụng đến ngày", "Valid to"),
    ), "valid_to"),
    DocumentType("residence", "Xác nhận thông tin về cư trú", "Confirmation of residence information", (
        _name(), _national_id(),
        _f("permanent_address", "string", "Nơi thường trú", "Permanent residence"),
        _f("temporary_address", "string", "Nơi tạm trú", "Temporary residence", required=False),
        _name("household_head", "Họ và tên chủ hộ", "Head of household"),
        _f("relationship_to_head", "string", "Quan hệ với chủ hộ", "Relationship to the head", max_length=100),
        _ISSUE_DATE,
    ), None),
    DocumentType("marriage_certificate", "Giấy chứng nhận kết hôn", "Marriage certificate", (
        _name("husband_name", "Họ và tên chồng", "Husband's full name"),
        _national_id("husband_national_id", "Số định danh cá nhân của chồng", "Husband's personal ID number"),
        _name("wife_name", "Họ và tên vợ", "Wife's full name"),
        _national_id("wife_national_id", "Số định danh cá nhân của vợ", "Wife's personal ID number"),
        *_REGISTRATION,
    ), None),
    DocumentType("diploma", "Văn bằng, chứng chỉ", "Diploma or certificate", (
        _f("title", "string", "Tên văn bằng, chứng chỉ", "Title"),
        _name("holder_name", "Họ và tên người được cấp", "Holder's full name"), _DOB,
        _f("institution", "string", "Cơ sở đào tạo", "Institution"),
        _f("major", "string", "Ngành đào tạo", "Major", required=False),
        _f("graduation_year", "int", "Năm tốt nghiệp", "Graduation year"),
        _f("classification", "string", "Xếp loại", "Classification", required=False, max_length=100),
        _f("serial_number", "string", "Số hiệu", "Serial number", max_length=100), _ISSUE_DATE,
    ), None),
    DocumentType("criminal_record", "Phiếu lý lịch tư pháp", "Criminal record certificate", (
        _name(), _DOB, _national_id(), _f("form", "enum", "Loại phiếu", "Form", labelled=choices.CRIMINAL_RECORD_FORMS),
        _f("content", "string", "Nội dung", "Content", max_length=_LONG_TEXT), _ISSUE_DATE, _ISSUED_BY,
    ), None),
    DocumentType("tthc_result", "Kết quả giải quyết thủ tục hành chính", "Administrative procedure result", (
        _f("procedure_code", "string", "Mã thủ tục", "Procedure code", max_length=100),
        _f("title", "string", "Tên giấy tờ", "Title"),
        _f("decision_number", "string", "Số quyết định", "Decision number", max_length=100),
        _f("issue_date", "date", "Ngày ban hành", "Date of issue"),
        _f("issued_by", "string", "Cơ quan ban hành", "Issuing agency"),
        _f("summary", "string", "Trích yếu", "Summary", required=False, max_length=_LONG_TEXT),
    ), None),
    DocumentType("health_certificate", "Giấy khám sức khỏe", "Health certificate", (
        _name(), _DOB, _SEX, _national_id(),
        _f("purpose", "string", "Mục đích khám sức khỏe", "Purpose of the examination", max_length=200),
        _f("conclusion", "string", "Kết luận", "Conclusion", max_length=1000),
        _f("examined_at", "string", "Cơ sở khám sức khỏe", "Health facility"),
        _f("exam_date", "date", "Ngày khám", "Date of examination"),
        _f("valid_to", "date", "Có giá trị đến", "Valid to"),
    ), "valid_to"),
    DocumentType("residence_proof", "Giấy tờ chứng minh chỗ ở hợp pháp", "Proof of legal residence", (
        _f("kind", "enum", "Loại giấy tờ", "Kind of paper", labelled=choices.RESIDENCE_PROOF_KINDS),
        _f("address", "string", "Địa chỉ chỗ ở", "Address of the residence"),
        _name("owner_name", "Họ và tên chủ sở hữu chỗ ở", "Owner's full name"),
        _name("holder_name", "Họ và tên người được sử dụng chỗ ở", "Occupant's full name"),
        _f("issue_date", "date", "Ngày cấp, ngày ký", "Date of issue or signature"),
        _f("issued_by", "string", "Cơ quan cấp, xác nhận", "Issued or certified by", required=False),
    ), None),
)  # fmt: skip

CATALOG: Mapping[str, DocumentType] = {t.code: t for t in _TYPES}

# National ID fields per type: checked as CCCD numbers (`cccd.number` also against the paper's own birth and sex).
_NATIONAL_ID_FIELDS = {
    "cccd": ("number",),
    "passport": ("national_id",),
    "residence": ("national_id",),
    "criminal_record": ("national_id",),
    "marriage_certificate": ("husband_national_id", "wife_national_id"),
    "health_certificate": ("national_id",),
}
_SEXES: dict[str, Sex] = {"nam": "nam", "nu": "nu"}
_DATE_ORDER = (("issue_date", "expiry_date"), ("valid_from", "valid_to"), ("exam_date", "valid_to"))
_NOT_BEFORE_BIRTH = ("issue_date", "registration_date", "valid_from", "exam_date")


def document_type(code: str) -> DocumentType:
    try:
        return CATALOG[code]
    except (KeyError, TypeError):
        raise UnknownDocumentType(f"Loại giấy tờ không hợp lệ: {str(code)[:50]}") from None


def _national_id_checks(code: str, values: dict[str, object], holder: Holder | None) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    dob = values.get("date_of_birth")
    for name in _NATIONAL_ID_FIELDS.get(code, ()):
        number = values.get(name)
        if not isinstance(number, str):
            continue
        if code == "cccd":  # the paper's own number must agree with the birth date and sex printed on it
            sex = _SEXES.get(str(values.get("sex")))
            problems = cccd_problems(number, date_of_birth=dob if isinstance(dob, date) else None, sex=sex)
            if holder is not None and number != holder.national_id:
                problems.append("must be your own national ID number")
        else:
            problems = cccd_problems(number)
        if problems:
            errors[name] = problems
    husband = values.get("husband_national_id")
    if husband is not None and husband == values.get("wife_national_id"):
        errors.setdefault("wife_national_id", []).append("must differ from husband_national_id")
    return errors


def _date_checks(code: str, values: dict[str, object], holder: Holder | None) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    dob = values.get("date_of_birth")
    if isinstance(dob, date):
        for name in _NOT_BEFORE_BIRTH:
            later = values.get(name)
            if isinstance(later, date) and later < dob:
                errors.setdefault(name, []).append("must not be before date_of_birth")
    for start_name, end_name in _DATE_ORDER:
        start, end = values.get(start_name), values.get(end_name)
        if isinstance(start, date) and isinstance(end, date) and end < start:
            errors.setdefault(end_name, []).append(f"must not be before {start_name}")
    classes = values.get("classes")
    if (
        code == "driver_license"
        and isinstance(classes, list)
        and values.get("expiry_date") is None
        and not NON_EXPIRING_CLASSES.issuperset(classes)
    ):
        errors.setdefault("expiry_date", []).append("is required unless every class is A1 or A")
    return errors


def validate_fields(code: str, fields: Mapping[str, object], *, holder: Holder | None = None) -> dict[str, object]:
    """The normalised, JSON-ready fields of a paper of type `code`, or `FieldsInvalid` listing every problem.

    `holder`, when given, is the citizen the paper is stored for: their own CCCD paper must carry their number.
    """
    doc = document_type(code)
    if not isinstance(fields, Mapping):
        raise FieldsInvalid({"fields": ["must be an object"]})
    specs = {spec.name: spec for spec in doc.fields}
    errors: dict[str, list[str]] = {}
    for key in fields:
        if key not in specs:
            errors.setdefault(str(key)[:100], []).append("unknown field")
    values: dict[str, object] = {}
    for spec in doc.fields:
        raw = fields.get(spec.name)
        try:
            value = None if raw is None else coerce(spec, raw)
        except ValueInvalid as problem:
            errors.setdefault(spec.name, []).append(str(problem))
            continue
        if value is None and spec.required:
            errors.setdefault(spec.name, []).append("is required")
        elif spec.name in fields:
            values[spec.name] = value
    for check in (_national_id_checks, _date_checks):
        for name, problems in check(code, values, holder).items():
            errors.setdefault(name, []).extend(problems)
    if errors:
        raise FieldsInvalid(errors)
    return {name: to_json(value) for name, value in values.items()}


def valid_until(code: str, fields: Mapping[str, object]) -> date | None:
    """The last day a paper is valid (its `expiry_date` or `valid_to`), or None when it never expires."""
    doc = document_type(code)
    spec = next((spec for spec in doc.fields if spec.name == doc.expiry_field), None)
    if spec is None or fields.get(spec.name) is None:
        return None
    try:
        value = coerce(spec, fields[spec.name])
    except ValueInvalid as problem:
        raise FieldsInvalid({spec.name: [str(problem)]}) from None
    return value if isinstance(value, date) else None  # a blank date is no date


def status_for(valid_until: date | None, today: date) -> Literal["active", "expired"]:
    """A paper is valid through its expiry day and expired from the day after."""
    return "expired" if valid_until is not None and valid_until < today else "active"


def catalog_public() -> list[dict[str, object]]:
    """The catalog as `GET /document-types` shows it."""
    return [
        {
            "code": doc.code,
            "name": doc.name_vi,
            "name_en": doc.name_en,
            "fields": [_field_public(spec) for spec in doc.fields],
        }
        for doc in CATALOG.values()
    ]


def _field_public(spec: FieldSpec) -> dict[str, object]:
    public: dict[str, object] = {
        "name": spec.name,
        "type": spec.kind,
        "required": spec.required,
        "label": spec.label_vi,
        "label_en": spec.label_en,
    }
    if spec.choices:
        public["choices"] = list(spec.choices)
        public["choice_labels"] = [{"value": c, "label": vi, "label_en": en} for c, vi, en in spec.choice_labels]
    if spec.pattern:
        public["pattern"] = spec.pattern
    return public
