import json
import re
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wallet.catalog import (
    CATALOG,
    Holder,
    catalog_public,
    document_type,
    status_for,
    valid_until,
    validate_fields,
)
from wallet.errors import FieldsInvalid, UnknownDocumentType

AN_ID = "048095000123"  # Đà Nẵng, male born 1995
BINH_ID = "001198004567"  # Hà Nội, female born 1998
AN = Holder(national_id=AN_ID, date_of_birth=date(1995, 3, 2), sex="nam", full_name="Nguyễn Văn An")

EXAMPLES: dict[str, dict[str, Any]] = {
    "cccd": {
        "number": AN_ID,
        "full_name": "Nguyễn Văn An",
        "date_of_birth": "1995-03-02",
        "sex": "nam",
        "nationality": "Việt Nam",
        "place_of_origin": "Hòa Vang, Đà Nẵng",
        "place_of_residence": "12 Lê Lợi, Hải Châu, Đà Nẵng",
        "issue_date": "2021-04-10",
        "expiry_date": "2035-03-02",
        "issued_by": "Cục Cảnh sát quản lý hành chính về trật tự xã hội",
    },
    "passport": {
        "passport_number": "C1234567",
        "full_name": "NGUYỄN VĂN AN",
        "date_of_birth": "1995-03-02",
        "sex": "nam",
        "nationality": "Việt Nam",
        "place_of_birth": "Đà Nẵng",
        "national_id": AN_ID,
        "issue_date": "2022-06-01",
        "expiry_date": "2032-06-01",
        "issuing_authority": "Cục Quản lý xuất nhập cảnh",
        "mrz": "P<VNMNGUYEN<<VAN<AN<<<<<<<<<<<<<<<<<<<<<<<<<\nC1234567<4VNM9503025M3206011048095000123<<<92",
    },
    "driver_license": {
        "license_number": "480123456789",
        "full_name": "Nguyễn Văn An",
        "date_of_birth": "1995-03-02",
        "address": "12 Lê Lợi, Hải Châu, Đà Nẵng",
        "classes": ["A1", "B"],
        "issue_date": "2020-05-05",
        "expiry_date": "2030-05-05",
        "issued_by": "Sở Giao thông vận tải Đà Nẵng",
    },
    "birth_certificate": {
        "full_name": "Nguyễn Thị Mai",
        "sex": "nu",
        "date_of_birth": "2020-01-15",
        "place_of_birth": "Bệnh viện Phụ sản – Nhi Đà Nẵng",
        "ethnicity": "Kinh",
        "nationality": "Việt Nam",
        "father_name": "Nguyễn Văn An",
        "mother_name": "Trần Thị Bình",
        "registration_number": "123/2020",
        "registration_date": "2020-02-01",
        "registered_at": "UBND phường Hải Châu I",
    },
    "health_insurance": {
        "card_number": "DN4790123456789",
        "full_name": "Nguyễn Văn An",
        "date_of_birth": "1995-03-02",
        "sex": "nam",
        "registered_hospital": "Bệnh viện Đà Nẵng",
        "valid_from": "2025-01-01",
        "valid_to": "2025-12-31",
    },
    "residence": {
        "full_name": "Nguyễn Văn An",
        "national_id": AN_ID,
        "permanent_address": "12 Lê Lợi, Hải Châu, Đà Nẵng",
        "temporary_address": "45 Trần Phú, Hoàn Kiếm, Hà Nội",
        "household_head": "Nguyễn Văn Hùng",
        "relationship_to_head": "Con",
        "issue_date": "2024-09-01",
    },
    "marriage_certificate": {
        "husband_name": "Nguyễn Văn An",
        "husband_national_id": AN_ID,
        "wife_name": "Trần Thị Bình",
        "wife_national_id": BINH_ID,
        "registration_number": "45/2019",
        "registration_date": "2019-10-20",
        "registered_at": "UBND phường Hải Châu I",
    },
    "diploma": {
        "title": "Bằng kỹ sư",
        "holder_name": "Nguyễn Văn An",
        "date_of_birth": "1995-03-02",
        "institution": "Trường Đại học Bách khoa – Đại học Đà Nẵng",
        "major": "Công nghệ thông tin",
        "graduation_year": 2018,
        "classification": "Giỏi",
        "serial_number": "QH-2018-0012345",
        "issue_date": "2018-07-15",
    },
    "criminal_record": {
        "full_name": "Nguyễn Văn An",
        "date_of_birth": "1995-03-02",
        "national_id": AN_ID,
        "form": "1",
        "content": "Không có án tích",
        "issue_date": "2025-03-10",
        "issued_by": "Sở Tư pháp thành phố Đà Nẵng",
    },
    "tthc_result": {
        "procedure_code": "1.001234",
        "title": "Giấy xác nhận tình trạng hôn nhân",
        "decision_number": "156/XN-UBND",
        "issue_date": "2025-05-20",
        "issued_by": "UBND phường Hải Châu I",
        "summary": "Xác nhận ông Nguyễn Văn An chưa đăng ký kết hôn",
    },
    "health_certificate": {
        "full_name": "Nguyễn Văn An",
        "date_of_birth": "1995-03-02",
        "sex": "nam",
        "national_id": AN_ID,
        "purpose": "Lái xe hạng B",
        "conclusion": "Đủ điều kiện sức khỏe lái xe hạng B",
        "examined_at": "Bệnh viện Đa khoa Đà Nẵng",
        "exam_date": "2026-10-01",
        "valid_to": "2027-10-01",
    },
    "residence_proof": {
        "kind": "so_do",
        "address": "12 Lê Lợi, Hải Châu, Đà Nẵng",
        "owner_name": "Nguyễn Văn Hùng",
        "holder_name": "Nguyễn Văn An",
        "issue_date": "2015-08-20",
        "issued_by": "Sở Tài nguyên và Môi trường thành phố Đà Nẵng",
    },
}


def example(code: str, **overrides: object) -> dict[str, object]:
    fields: dict[str, object] = {**EXAMPLES[code], **overrides}
    return {k: v for k, v in fields.items() if v is not ...}  # `field=...` removes a field


def errors_of(code: str, fields: Mapping[str, object], *, holder: Holder | None = None) -> dict[str, list[str]]:
    with pytest.raises(FieldsInvalid) as caught:
        validate_fields(code, fields, holder=holder)
    assert caught.value.code == "validation_failed"
    return caught.value.errors


def outcome(
    code: str, fields: Mapping[str, object], *, holder: Holder | None = None
) -> dict[str, object] | FieldsInvalid:
    """The validated fields, or the error (for property tests, where both outcomes are fine)."""
    try:
        return validate_fields(code, fields, holder=holder)
    except FieldsInvalid as error:
        return error


def required_fields() -> list[tuple[str, str]]:
    return [(doc.code, spec.name) for doc in CATALOG.values() for spec in doc.fields if spec.required]


class TestCatalog:
    def test_holds_the_ten_types_of_the_domain_and_the_two_papers_procedures_ask_for(self) -> None:
        assert set(CATALOG) == {
            "cccd",
            "passport",
            "driver_license",
            "birth_certificate",
            "health_insurance",
            "residence",
            "marriage_certificate",
            "diploma",
            "criminal_record",
            "tthc_result",
            "health_certificate",
            "residence_proof",
        }
        assert set(EXAMPLES) == set(CATALOG)

    def test_field_names_follow_the_domain_table(self) -> None:
        assert [spec.name for spec in document_type("driver_license").fields] == [
            "license_number",
            "full_name",
            "date_of_birth",
            "address",
            "classes",
            "issue_date",
            "expiry_date",
            "issued_by",
        ]
        for code, fields in EXAMPLES.items():
            assert {spec.name for spec in document_type(code).fields} == set(fields), code

    def test_expiry_fields(self) -> None:
        expiry = {code: doc.expiry_field for code, doc in CATALOG.items() if doc.expiry_field}
        assert expiry == {
            "cccd": "expiry_date",
            "passport": "expiry_date",
            "driver_license": "expiry_date",
            "health_insurance": "valid_to",
            "health_certificate": "valid_to",
        }

    @pytest.mark.parametrize("code", ["", "CCCD", "visa", "cccd ", None, ["cccd"]])
    def test_unknown_type_is_refused(self, code: Any) -> None:
        with pytest.raises(UnknownDocumentType) as caught:
            document_type(code)
        assert caught.value.code == "unknown_document_type"
        with pytest.raises(UnknownDocumentType):
            validate_fields(code, {})

    def test_optional_fields(self) -> None:
        optional = {(doc.code, spec.name) for doc in CATALOG.values() for spec in doc.fields if not spec.required}
        assert optional == {
            ("cccd", "expiry_date"),
            ("passport", "mrz"),
            ("driver_license", "expiry_date"),
            ("birth_certificate", "father_name"),
            ("birth_certificate", "mother_name"),
            ("residence", "temporary_address"),
            ("diploma", "major"),
            ("diploma", "classification"),
            ("tthc_result", "summary"),
            ("residence_proof", "issued_by"),
        }


class TestCatalogPublic:
    def test_shape(self) -> None:
        public = catalog_public()
        assert [entry["code"] for entry in public] == list(CATALOG)
        cccd = public[0]
        assert cccd["name"] == "Căn cước công dân"
        assert cccd["name_en"] == "Citizen identity card"
        fields = cccd["fields"]
        assert isinstance(fields, list)
        assert fields[0] == {
            "name": "number",
            "type": "string",
            "required": True,
            "label": "Số định danh cá nhân",
            "label_en": "Personal ID number",
            "pattern": "^[0-9]{12}$",
        }
        assert fields[3]["choices"] == ["nam", "nu"]

    def test_is_json_and_every_pattern_compiles(self) -> None:
        public = json.loads(json.dumps(catalog_public()))
        for entry in public:
            assert set(entry) == {"code", "name", "name_en", "fields"}
            for field in entry["fields"]:
                assert {"name", "type", "required", "label", "label_en"} <= set(field)
                assert field["type"] in {"string", "date", "int", "enum", "list"}
                assert field["label"]
                assert field["label_en"]
                if "pattern" in field:
                    re.compile(field["pattern"])
                if field["type"] in {"enum", "list"}:
                    assert field["choices"]

    def test_license_classes_are_listed(self) -> None:
        classes = next(f for f in document_type("driver_license").fields if f.name == "classes")
        assert classes.choices == ("A1", "A", "B", "C1", "C", "D1", "D2", "D", "BE", "C1E", "CE", "D1E", "D2E", "DE")


class TestValidExamples:
    @pytest.mark.parametrize("code", list(EXAMPLES))
    def test_accepted_and_round_tripped(self, code: str) -> None:
        fields = validate_fields(code, EXAMPLES[code])
        assert fields == EXAMPLES[code]
        assert json.loads(json.dumps(fields)) == fields
        assert validate_fields(code, fields) == fields

    def test_own_cccd_with_holder(self) -> None:
        assert validate_fields("cccd", EXAMPLES["cccd"], holder=AN)["number"] == AN_ID

    @pytest.mark.parametrize("code", list(EXAMPLES))
    def test_optional_fields_may_be_omitted_or_null(self, code: str) -> None:
        optional = [spec.name for spec in document_type(code).fields if not spec.required]
        if code == "driver_license":
            optional.remove("expiry_date")  # only for A1/A, see TestDriverLicenseExpiry
        omitted = {k: v for k, v in EXAMPLES[code].items() if k not in optional}
        assert validate_fields(code, omitted) == omitted
        nulled = {**EXAMPLES[code], **dict.fromkeys(optional)}
        assert validate_fields(code, nulled) == nulled


class TestNormalisation:
    def test_strings_are_trimmed_and_composed(self) -> None:
        decomposed = "Nguye\u0302\u0303n Va\u0306n An"  # NFD, as macOS keyboards send it
        fields = validate_fields("cccd", example("cccd", full_name=f"  {decomposed}\t", issued_by=" Cục CS "))
        assert fields["full_name"] == "Nguyễn Văn An"
        assert fields["issued_by"] == "Cục CS"

    def test_dates_become_iso_strings(self) -> None:
        fields = validate_fields("cccd", example("cccd", date_of_birth=date(1995, 3, 2), issue_date=" 2021-04-10 "))
        assert fields["date_of_birth"] == "1995-03-02"
        assert fields["issue_date"] == "2021-04-10"

    def test_empty_optional_string_becomes_null(self) -> None:
        assert validate_fields("passport", example("passport", mrz="  "))["mrz"] is None

    @pytest.mark.parametrize(("given", "stored"), [(1, "1"), (2, "2"), ("2", "2"), (" 1 ", "1")])
    def test_criminal_record_form(self, given: object, stored: str) -> None:
        assert validate_fields("criminal_record", example("criminal_record", form=given))["form"] == stored

    def test_classes_in_canonical_order_without_duplicates(self) -> None:
        fields = validate_fields("driver_license", example("driver_license", classes=["C", " B", "A1", "B"]))
        assert fields["classes"] == ["A1", "B", "C"]


class TestEveryProblem:
    def test_unknown_field(self) -> None:
        assert errors_of("cccd", example("cccd", blood_type="O")) == {"blood_type": ["unknown field"]}

    @pytest.mark.parametrize(("code", "name"), required_fields())
    def test_missing_required_field(self, code: str, name: str) -> None:
        assert errors_of(code, example(code, **{name: ...}))[name] == ["is required"]
        assert errors_of(code, example(code, **{name: None}))[name] == ["is required"]

    @pytest.mark.parametrize(("code", "name"), [(c, n) for c, n in required_fields() if n != "graduation_year"])
    def test_blank_required_field(self, code: str, name: str) -> None:
        value: object = [] if name == "classes" else "   "
        assert name in errors_of(code, example(code, **{name: value}))

    def test_all_problems_are_listed_at_once(self) -> None:
        fields = example("cccd", number="123", sex="male", issue_date="2021-13-01", full_name=..., extra=1)
        assert set(errors_of("cccd", fields)) == {"number", "sex", "issue_date", "full_name", "extra"}

    def test_detail_names_the_fields(self) -> None:
        with pytest.raises(FieldsInvalid) as caught:
            validate_fields("cccd", example("cccd", sex="male"))
        assert "sex" in caught.value.detail

    @pytest.mark.parametrize("fields", [[], "cccd", None, 42])
    def test_fields_must_be_an_object(self, fields: Any) -> None:
        assert errors_of("cccd", fields) == {"fields": ["must be an object"]}


class TestKinds:
    @pytest.mark.parametrize(
        ("code", "name", "value"),
        [
            ("cccd", "full_name", 12),
            ("cccd", "full_name", ["Nguyễn Văn An"]),
            ("cccd", "date_of_birth", 19950302),
            ("cccd", "date_of_birth", datetime(1995, 3, 2, 0, 0)),  # noqa: DTZ001
            ("cccd", "sex", True),
            ("diploma", "graduation_year", "2018"),
            ("diploma", "graduation_year", True),
            ("diploma", "graduation_year", 2018.0),
            ("driver_license", "classes", "B"),
            ("driver_license", "classes", [1]),
            ("driver_license", "classes", {"B": True}),
            ("criminal_record", "form", True),
            ("criminal_record", "form", 1.0),
        ],
    )
    def test_wrong_kind(self, code: str, name: str, value: object) -> None:
        assert name in errors_of(code, example(code, **{name: value}))

    @pytest.mark.parametrize(
        "value", ["2023-02-29", "2024-13-01", "1995-00-10", "02/03/1995", "20240101", "2024-W01-1"]
    )
    def test_dates_must_be_real_iso_dates(self, value: str) -> None:
        assert "date_of_birth" in errors_of("cccd", example("cccd", date_of_birth=value))

    def test_leap_day_is_a_date(self) -> None:
        fields = example("birth_certificate", date_of_birth="2020-02-29", registration_date="2020-03-02")
        assert validate_fields("birth_certificate", fields)["date_of_birth"] == "2020-02-29"

    @pytest.mark.parametrize("value", ["male", "Nam", "nữ", ""])
    def test_sex(self, value: str) -> None:
        assert "sex" in errors_of("passport", example("passport", sex=value))

    def test_too_long(self) -> None:
        assert errors_of("cccd", example("cccd", place_of_origin="x" * 501)) == {
            "place_of_origin": ["must be at most 500 characters"]
        }
        assert validate_fields("cccd", example("cccd", place_of_origin="x" * 500))

    @pytest.mark.parametrize("value", ["Nguyễn\x00An", "An\x1b[31m", "An\ud800"])
    def test_control_characters(self, value: str) -> None:
        assert "full_name" in errors_of("cccd", example("cccd", full_name=value))

    def test_multi_line_text_is_allowed(self) -> None:
        content = "Không có án tích.\nKhông bị cấm đảm nhiệm chức vụ."
        assert validate_fields("criminal_record", example("criminal_record", content=content))["content"] == content


class TestIdentityNumbers:
    @pytest.mark.parametrize(
        ("number", "why"),
        [
            ("04809500012", "12 digits"),
            ("04809500012a", "12 digits"),
            ("048٠٩٥٠٠٠١٢٣", "12 digits"),  # Arabic-Indic digits after a real province code
            ("003095000123", "province"),
            ("048695000123", "century/sex"),
            ("048194000123", "sex"),  # a woman's number on a man's card
            ("048096000123", "birth-year"),
            ("048295000123", "century"),  # born in the 2000s
        ],
    )
    def test_cccd_number_must_fit_the_paper(self, number: str, why: str) -> None:
        problems = errors_of("cccd", example("cccd", number=number))["number"]
        assert any(why in problem for problem in problems), problems

    def test_female_card(self) -> None:
        fields = example("cccd", number=BINH_ID, date_of_birth="1998-07-09", sex="nu", full_name="Trần Thị Bình")
        assert validate_fields("cccd", fields)["number"] == BINH_ID

    def test_card_of_someone_else_is_refused(self) -> None:
        holder = Holder(national_id=BINH_ID, date_of_birth=date(1998, 7, 9), sex="nu", full_name="Trần Thị Bình")
        assert errors_of("cccd", EXAMPLES["cccd"], holder=holder) == {"number": ["must be your own national ID number"]}

    def test_holder_is_only_checked_on_the_cccd(self) -> None:
        holder = Holder(national_id=BINH_ID, date_of_birth=date(1998, 7, 9), sex="nu", full_name="Trần Thị Bình")
        assert validate_fields("marriage_certificate", EXAMPLES["marriage_certificate"], holder=holder)

    @pytest.mark.parametrize(
        ("code", "name"),
        [
            ("passport", "national_id"),
            ("residence", "national_id"),
            ("criminal_record", "national_id"),
            ("health_certificate", "national_id"),
            ("marriage_certificate", "husband_national_id"),
            ("marriage_certificate", "wife_national_id"),
        ],
    )
    @pytest.mark.parametrize("number", ["04809500012", "999095000123", "048995000123", "A48095000123"])
    def test_national_id_fields_need_the_cccd_format(self, code: str, name: str, number: str) -> None:
        assert name in errors_of(code, example(code, **{name: number}))

    def test_spouses_have_different_numbers(self) -> None:
        fields = example("marriage_certificate", wife_national_id=AN_ID)
        assert errors_of("marriage_certificate", fields) == {
            "wife_national_id": ["must differ from husband_national_id"]
        }

    @pytest.mark.parametrize("number", ["c1234567", "C123456", "C12345678", "CC123456", "12345678", "Đ1234567"])
    def test_passport_number(self, number: str) -> None:
        assert errors_of("passport", example("passport", passport_number=number)) == {
            "passport_number": ["must be one uppercase letter followed by 7 digits"]
        }

    @pytest.mark.parametrize("number", ["48012345678", "4801234567890", "48012345678X"])
    def test_license_number(self, number: str) -> None:
        assert errors_of("driver_license", example("driver_license", license_number=number)) == {
            "license_number": ["must be exactly 12 digits"]
        }

    @pytest.mark.parametrize(
        "number", ["DN479012345678", "DN47901234567890", "D14790123456789", "dn4790123456789", "DN479012345678A"]
    )
    def test_health_insurance_card_number(self, number: str) -> None:
        assert errors_of("health_insurance", example("health_insurance", card_number=number)) == {
            "card_number": ["must be 2 uppercase letters followed by 13 digits"]
        }

    @given(
        dob=st.dates(date(1900, 1, 1), date(2099, 12, 31)),
        sex=st.sampled_from(["nam", "nu"]),
        province=st.sampled_from(["001", "048", "079", "096"]),
        serial=st.integers(0, 999_999),
    )
    def test_every_consistent_card_is_accepted(self, dob: date, sex: str, province: str, serial: int) -> None:
        century_digit = 2 * ((dob.year - 1900) // 100) + (sex == "nu")
        number = f"{province}{century_digit}{dob.year % 100:02d}{serial:06d}"
        holder = Holder(national_id=number, date_of_birth=dob, sex="nu" if sex == "nu" else "nam", full_name="X")
        fields = example(
            "cccd", number=number, date_of_birth=dob.isoformat(), sex=sex, issue_date=dob.isoformat(), expiry_date=...
        )
        assert validate_fields("cccd", fields, holder=holder)["number"] == number


class TestOtherRules:
    @pytest.mark.parametrize("year", [1899, 2101, -1, pytest.param(10**5000, id="huge")])
    def test_graduation_year_range(self, year: int) -> None:
        assert errors_of("diploma", example("diploma", graduation_year=year)) == {
            "graduation_year": ["must be between 1900 and 2100"]
        }

    @pytest.mark.parametrize("year", [1900, 2100])
    def test_graduation_year_bounds(self, year: int) -> None:
        assert validate_fields("diploma", example("diploma", graduation_year=year))["graduation_year"] == year

    @pytest.mark.parametrize("form", [0, 3, "3", "I", "", pytest.param(10**5000, id="huge")])
    def test_criminal_record_form(self, form: object) -> None:
        assert "form" in errors_of("criminal_record", example("criminal_record", form=form))

    @pytest.mark.parametrize("classes", [[], ["B2"], ["b"], ["A1", "E"], [""]])
    def test_license_classes(self, classes: list[str]) -> None:
        assert "classes" in errors_of("driver_license", example("driver_license", classes=classes))

    @pytest.mark.parametrize(
        ("code", "start", "end"),
        [
            ("cccd", "issue_date", "expiry_date"),
            ("passport", "issue_date", "expiry_date"),
            ("driver_license", "issue_date", "expiry_date"),
            ("health_insurance", "valid_from", "valid_to"),
            ("health_certificate", "exam_date", "valid_to"),
        ],
    )
    def test_validity_period_is_ordered(self, code: str, start: str, end: str) -> None:
        assert errors_of(code, example(code, **{start: "2026-01-02", end: "2026-01-01"})) == {
            end: [f"must not be before {start}"]
        }
        assert validate_fields(code, example(code, **{start: "2026-01-01", end: "2026-01-01"}))

    @pytest.mark.parametrize(
        ("code", "name"),
        [
            ("cccd", "issue_date"),
            ("birth_certificate", "registration_date"),
            ("health_insurance", "valid_from"),
            ("diploma", "issue_date"),
            ("health_certificate", "exam_date"),
        ],
    )
    def test_nothing_is_issued_before_birth(self, code: str, name: str) -> None:
        fields = example(code, date_of_birth="2000-01-02", **{name: "2000-01-01"})
        assert "must not be before date_of_birth" in errors_of(code, fields)[name]


class TestDriverLicenseExpiry:
    @pytest.mark.parametrize("classes", [["A1"], ["A"], ["A1", "A"]])
    @pytest.mark.parametrize("expiry", [None, ...])
    def test_motorbike_licences_never_expire(self, classes: list[str], expiry: object) -> None:
        fields = validate_fields("driver_license", example("driver_license", classes=classes, expiry_date=expiry))
        assert valid_until("driver_license", fields) is None

    def test_motorbike_licence_may_still_carry_a_date(self) -> None:
        assert validate_fields("driver_license", example("driver_license", classes=["A"], expiry_date="2030-01-01"))

    @pytest.mark.parametrize("classes", [["B"], ["A1", "B"], ["C", "CE"]])
    def test_other_classes_need_an_expiry_date(self, classes: list[str]) -> None:
        fields = example("driver_license", classes=classes, expiry_date=...)
        assert errors_of("driver_license", fields) == {"expiry_date": ["is required unless every class is A1 or A"]}


class TestPapersProceduresAskFor:
    def test_health_certificate_fields(self) -> None:
        assert [spec.name for spec in document_type("health_certificate").fields] == [
            "full_name",
            "date_of_birth",
            "sex",
            "national_id",
            "purpose",
            "conclusion",
            "examined_at",
            "exam_date",
            "valid_to",
        ]

    def test_health_certificate_expires_after_valid_to(self) -> None:
        last_day = valid_until("health_certificate", EXAMPLES["health_certificate"])
        assert last_day == date(2027, 10, 1)
        assert status_for(last_day, date(2027, 10, 1)) == "active"
        assert status_for(last_day, date(2027, 10, 2)) == "expired"

    def test_health_certificate_problems_are_listed_at_once(self) -> None:
        fields = example(
            "health_certificate", sex="male", national_id="123", exam_date="1990-01-01", valid_to="1989-12-31"
        )
        assert errors_of("health_certificate", fields) == {
            "sex": ["must be one of: nam, nu"],
            "national_id": ["must be exactly 12 digits"],
            "exam_date": ["must not be before date_of_birth"],
            "valid_to": ["must not be before exam_date"],
        }

    @pytest.mark.parametrize("kind", ["so_do", "hop_dong_thue", "xac_nhan_ubnd", "khac"])
    def test_residence_proof_kinds(self, kind: str) -> None:
        assert validate_fields("residence_proof", example("residence_proof", kind=kind))["kind"] == kind

    @pytest.mark.parametrize("kind", ["sổ đỏ", "SO_DO", "lease", 1, ""])
    def test_residence_proof_unknown_kind(self, kind: object) -> None:
        assert "kind" in errors_of("residence_proof", example("residence_proof", kind=kind))

    def test_a_private_lease_has_no_issuer_and_never_expires(self) -> None:
        lease = example("residence_proof", kind="hop_dong_thue", issued_by=...)
        assert validate_fields("residence_proof", lease) == lease
        assert valid_until("residence_proof", lease) is None


class TestValidity:
    def test_valid_until_reads_the_expiry_field(self) -> None:
        assert valid_until("cccd", EXAMPLES["cccd"]) == date(2035, 3, 2)
        assert valid_until("health_insurance", EXAMPLES["health_insurance"]) == date(2025, 12, 31)

    def test_papers_without_an_expiry(self) -> None:
        assert valid_until("cccd", example("cccd", expiry_date=None)) is None
        assert valid_until("cccd", example("cccd", expiry_date=...)) is None
        assert valid_until("birth_certificate", EXAMPLES["birth_certificate"]) is None
        assert valid_until("tthc_result", {}) is None

    def test_garbage_expiry_is_not_taken_for_no_expiry(self) -> None:
        with pytest.raises(FieldsInvalid):
            valid_until("passport", example("passport", expiry_date="soon"))

    def test_valid_through_the_expiry_day(self) -> None:
        last_day = date(2025, 12, 31)
        assert status_for(last_day, date(2025, 12, 30)) == "active"
        assert status_for(last_day, last_day) == "active"
        assert status_for(last_day, date(2026, 1, 1)) == "expired"
        assert status_for(None, date(2999, 1, 1)) == "active"


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20) | st.dates(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner, max_size=4),
    max_leaves=10,
)
all_names = sorted({spec.name for doc in CATALOG.values() for spec in doc.fields})
keys = st.sampled_from(all_names) | st.text(max_size=10)
# Fields whose value another field's check depends on.
DEPENDENTS = {
    "date_of_birth": {"number", "issue_date", "registration_date", "valid_from", "exam_date"},
    "sex": {"number"},
    "issue_date": {"expiry_date"},
    "valid_from": {"valid_to"},
    "exam_date": {"valid_to"},
    "classes": {"expiry_date"},
    "husband_national_id": {"wife_national_id"},
}


class TestProperties:
    @settings(max_examples=300)
    @given(code=st.sampled_from(list(CATALOG)), fields=st.dictionaries(keys, json_values, max_size=12))
    def test_random_fields_only_ever_fail_with_fields_invalid(self, code: str, fields: dict[str, object]) -> None:
        result = outcome(code, fields, holder=AN)
        if isinstance(result, FieldsInvalid):
            assert result.errors
            assert all(isinstance(k, str) and v for k, v in result.errors.items())
        else:
            assert validate_fields(code, result) == result

    @settings(max_examples=300)
    @given(code=st.sampled_from(list(CATALOG)), data=st.data())
    def test_one_bad_field_is_the_one_named(self, code: str, data: st.DataObject) -> None:
        name = data.draw(st.sampled_from([spec.name for spec in document_type(code).fields]))
        value = data.draw(json_values)
        result = outcome(code, example(code, **{name: value}))
        if isinstance(result, FieldsInvalid):
            assert set(result.errors) <= {name} | DEPENDENTS.get(name, set()), result.errors
        else:
            assert json.loads(json.dumps(result)) == result


class TestChoiceLabels:
    """People read choices by their labels, in both languages; the codes stay the API's."""

    def test_every_choice_of_every_paper_has_both_labels(self) -> None:
        for doc in CATALOG.values():
            for spec in doc.fields:
                if spec.kind in ("enum", "list"):
                    labelled = {code: (vi, en) for code, vi, en in spec.choice_labels}
                    assert set(labelled) == set(spec.choices), (doc.code, spec.name)
                    assert all(vi and en and vi != code for code, (vi, en) in labelled.items()), (doc.code, spec.name)

    def test_the_public_catalog_shows_them(self) -> None:
        cccd = next(doc for doc in catalog_public() if doc["code"] == "cccd")
        sex = next(field for field in cccd["fields"] if field["name"] == "sex")  # type: ignore[union-attr]
        assert sex["choices"] == ["nam", "nu"]
        assert sex["choice_labels"] == [
            {"value": "nam", "label": "Nam", "label_en": "Male"},
            {"value": "nu", "label": "Nữ", "label_en": "Female"},
        ]
