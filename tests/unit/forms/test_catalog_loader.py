"""Loading a procedure catalog file: a procedure added without code, and every problem of a bad file named at once."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from forms.catalog import SHIPPED, ProcedureCatalog
from forms.catalog_loader import parse_catalog
from forms.errors import CatalogInvalid
from wallet.catalog import CATALOG

MARRIAGE: dict[str, Any] = {
    "code": "marriage_status",
    "name": "Cấp Giấy xác nhận tình trạng hôn nhân",
    "name_en": "Certificate of marital status",
    "agency": {"code": "ubnd_xa", "name": "Ủy ban nhân dân xã, phường, đặc khu"},
    "processing_days": 3,
    "required_documents": ["cccd"],
    "fields": [
        {"name": "full_name", "label": "Họ, chữ đệm, tên", "label_en": "Full name", "source": "cccd.full_name"},
        {"name": "sex", "label": "Giới tính", "label_en": "Sex", "source": "cccd.sex", "type": "enum"},
        {
            "name": "spouse",
            "label": "Họ tên vợ/chồng",
            "label_en": "Spouse",
            "source": "marriage_certificate.wife_name",
        },
        {
            "name": "purpose",
            "label": "Mục đích sử dụng",
            "label_en": "Purpose",
            "type": "enum",
            "required": True,
            "choices": [
                {"value": "ket_hon", "label": "Để đăng ký kết hôn", "label_en": "To register a marriage"},
                {"value": "khac", "label": "Mục đích khác", "label_en": "Another purpose"},
            ],
        },
        {"name": "copies", "label": "Số bản", "label_en": "Copies", "type": "int", "required": False},
    ],
}


def write(tmp_path: Path, document: object, name: str = "procedures.yaml") -> Path:
    path = tmp_path / name
    text = document if isinstance(document, str) else yaml.safe_dump(document, allow_unicode=True, sort_keys=False)
    path.write_text(text, encoding="utf-8")
    return path


def procedure(**changes: Any) -> dict[str, Any]:
    """MARRIAGE with top-level changes; `...` removes a key."""
    changed = copy.deepcopy(MARRIAGE) | changes
    return {k: v for k, v in changed.items() if v is not ...}


def choice(value: object, label: object = "Nhãn", label_en: object = "Label", **extra: object) -> dict[str, object]:
    """One labelled choice; `...` leaves a key out."""
    entry = {"value": value, "label": label, "label_en": label_en, **extra}
    return {k: v for k, v in entry.items() if v is not ...}


def with_field(index: int, **changes: Any) -> dict[str, Any]:
    """MARRIAGE with one field changed; `...` removes a key of it."""
    changed = copy.deepcopy(MARRIAGE)
    fields = changed["fields"]
    fields[index] = {k: v for k, v in (fields[index] | changes).items() if v is not ...}
    return changed


def problems(tmp_path: Path, document: object) -> list[str]:
    with pytest.raises(CatalogInvalid) as caught:
        ProcedureCatalog.load(write(tmp_path, document))
    assert caught.value.code == "catalog_invalid"
    assert caught.value.detail == "; ".join(caught.value.problems)
    return caught.value.problems


def only_problem(tmp_path: Path, document: object) -> str:
    found = problems(tmp_path, document)
    assert len(found) == 1, found
    return found[0]


class TestAddedWithoutCode:
    def test_a_new_procedure_file_loads(self, tmp_path: Path) -> None:
        catalog = ProcedureCatalog.load(write(tmp_path, {"procedures": [MARRIAGE]}))
        [added] = catalog.all()
        assert added.code == "marriage_status" and catalog.get("marriage_status") is added
        assert [f.name for f in added.fields] == ["full_name", "sex", "spouse", "purpose", "copies"]
        assert added.source_types == ("cccd", "marriage_certificate")

    def test_a_sourced_field_takes_the_shape_of_the_paper_field(self, tmp_path: Path) -> None:
        added = ProcedureCatalog.load(write(tmp_path, {"procedures": [MARRIAGE]})).get("marriage_status")
        sex, full_name = added.field("sex"), added.field("full_name")
        assert sex is not None and (sex.type, sex.choices, sex.required) == ("enum", ("nam", "nu"), True)
        assert full_name is not None and (full_name.type, full_name.max_length) == ("string", 200)

    def test_asked_fields_default_to_required_and_500_characters(self, tmp_path: Path) -> None:
        document = with_field(4, type="string", required=...)
        copies = ProcedureCatalog.load(write(tmp_path, {"procedures": [document]})).get("marriage_status")
        assert copies.fields[4].required is True and copies.fields[4].max_length == 500

    def test_the_shipped_file_plus_a_procedure(self, tmp_path: Path) -> None:
        shipped = yaml.safe_load(SHIPPED.read_text(encoding="utf-8"))
        shipped["procedures"].append(MARRIAGE)
        catalog = ProcedureCatalog.load(write(tmp_path, shipped))
        assert len(catalog.all()) == 7 and catalog.by_agency("ubnd_xa")[-1].code == "marriage_status"

    def test_the_shipped_file_with_one_label_missing_is_refused_naming_it(self, tmp_path: Path) -> None:
        shipped = yaml.safe_load(SHIPPED.read_text(encoding="utf-8"))
        passport = next(p for p in shipped["procedures"] if p["code"] == "passport_issue")
        request_kind = next(f for f in passport["fields"] if f["name"] == "request_kind")
        del request_kind["choices"][0]["label_en"]
        assert only_problem(tmp_path, shipped) == (
            "procedures.yaml: passport_issue.request_kind.choices[lan_dau]: label_en must be a non-empty text"
        )

    def test_required_documents_may_be_empty(self, tmp_path: Path) -> None:
        assert ProcedureCatalog.load(write(tmp_path, {"procedures": [procedure(required_documents=[])]}))


class TestTheFile:
    def test_missing_file(self, tmp_path: Path) -> None:
        with pytest.raises(CatalogInvalid) as caught:
            ProcedureCatalog.load(tmp_path / "absent.yaml")
        assert "cannot be read" in caught.value.problems[0]

    def test_not_utf8(self, tmp_path: Path) -> None:
        path = tmp_path / "latin1.yaml"
        path.write_bytes("procedures: []\n# Thủ tục".encode("utf-16"))
        with pytest.raises(CatalogInvalid):
            ProcedureCatalog.load(path)

    @pytest.mark.parametrize("text", ["procedures: [", "procedures:\n\t- code: x", "a: 1\n---\nb: 2\n"])
    def test_not_yaml(self, tmp_path: Path, text: str) -> None:
        assert "is not valid YAML" in only_problem(tmp_path, text)

    @pytest.mark.parametrize("text", ["", "- 1\n- 2\n", "just text", "42"])
    def test_not_a_mapping(self, tmp_path: Path, text: str) -> None:
        assert "must be a mapping with a `procedures:` list" in only_problem(tmp_path, text)

    @pytest.mark.parametrize("document", [{"procedures": []}, {"procedures": None}, {"procedures": {"a": 1}}, {}])
    def test_procedures_must_be_a_non_empty_list(self, tmp_path: Path, document: object) -> None:
        assert problems(tmp_path, document) == ["procedures.yaml: procedures: must be a non-empty list"]

    def test_unknown_top_level_key(self, tmp_path: Path) -> None:
        assert "unknown key 'procedure'" in only_problem(tmp_path, {"procedures": [MARRIAGE], "procedure": []})

    def test_repeated_key(self, tmp_path: Path) -> None:
        text = yaml.safe_dump({"procedures": [MARRIAGE]}, allow_unicode=True, sort_keys=False)
        text = text.replace("  source: cccd.full_name\n", "  source: cccd.full_name\n    source: cccd.number\n")
        assert "key 'source' is repeated" in only_problem(tmp_path, text)

    def test_python_tags_are_not_constructed(self, tmp_path: Path) -> None:
        assert "is not valid YAML" in only_problem(tmp_path, "procedures: !!python/object/apply:os.system ['true']")


class TestProcedureRules:
    @pytest.mark.parametrize("code", ["Passport", "p", "hộ_chiếu", "1abc", "a-b", "x" * 65, 12, None])
    def test_code(self, tmp_path: Path, code: object) -> None:
        assert "code must match ^[a-z][a-z0-9_]{1,63}$" in only_problem(
            tmp_path, {"procedures": [procedure(code=code)]}
        )

    def test_codes_are_unique(self, tmp_path: Path) -> None:
        found = only_problem(tmp_path, {"procedures": [MARRIAGE, MARRIAGE]})
        assert found.endswith("marriage_status: code is used by more than one procedure")

    @pytest.mark.parametrize("key", ["name", "name_en"])
    @pytest.mark.parametrize("value", ["", "  ", None, ..., ["x"], "a\nb"])
    def test_names(self, tmp_path: Path, key: str, value: object) -> None:
        found = only_problem(tmp_path, {"procedures": [procedure(**{key: value})]})
        assert f"marriage_status: {key} must" in found

    @pytest.mark.parametrize(
        ("agency", "expected"),
        [
            (None, "agency must be a mapping with a code and a name"),
            ("ubnd_xa", "agency must be a mapping with a code and a name"),
            ({"name": "UBND"}, "agency code must be a non-empty text"),
            ({"code": "", "name": "UBND"}, "agency code must be a non-empty text"),
            ({"code": "ubnd xa", "name": "UBND"}, "agency code must not contain spaces"),
            ({"code": "ubnd_xa", "name": " "}, "agency name must be a non-empty text"),
            ({"code": "ubnd_xa", "name": "UBND", "email": "x"}, "unknown key 'email'"),
        ],
    )
    def test_agency(self, tmp_path: Path, agency: object, expected: str) -> None:
        assert expected in only_problem(tmp_path, {"procedures": [procedure(agency=agency)]})

    @pytest.mark.parametrize(
        ("documents", "expected"),
        [
            (["cccd", "visa"], "unknown wallet document type 'visa'"),
            (["cccd", "cccd"], "cccd is listed more than once"),
            ("cccd", "required_documents must be a list"),
            (..., "required_documents must be a list"),
        ],
    )
    def test_required_documents(self, tmp_path: Path, documents: object, expected: str) -> None:
        assert expected in only_problem(tmp_path, {"procedures": [procedure(required_documents=documents)]})

    @pytest.mark.parametrize("days", [..., 0, -1, 366, 2.5, "5", True, None])
    def test_processing_days_is_a_whole_number_of_working_days(self, tmp_path: Path, days: object) -> None:
        found = only_problem(tmp_path, {"procedures": [procedure(processing_days=days)]})
        assert "processing_days must be a whole number of working days from 1 to 365" in found

    @pytest.mark.parametrize("days", [1, 15, 365])
    def test_processing_days_kept(self, tmp_path: Path, days: int) -> None:
        catalog = ProcedureCatalog.load(write(tmp_path, {"procedures": [procedure(processing_days=days)]}))
        assert catalog.get("marriage_status").processing_days == days
        assert catalog.get("marriage_status").public()["processing_days"] == days

    def test_unknown_procedure_key(self, tmp_path: Path) -> None:
        found = only_problem(tmp_path, {"procedures": [procedure(agnecy="x")]})
        assert found.startswith("procedures.yaml: marriage_status: unknown key 'agnecy'")

    @pytest.mark.parametrize("fields", [[], None, "full_name", ...])
    def test_fields_must_be_a_non_empty_list(self, tmp_path: Path, fields: object) -> None:
        assert "fields must be a non-empty list" in only_problem(tmp_path, {"procedures": [procedure(fields=fields)]})

    @pytest.mark.parametrize("raw", [None, "code: x", ["x"]])
    def test_a_procedure_must_be_a_mapping(self, tmp_path: Path, raw: object) -> None:
        assert only_problem(tmp_path, {"procedures": [MARRIAGE, raw]}).endswith("procedures[1]: must be a mapping")


class TestFieldRules:
    @pytest.mark.parametrize("name", ["Full_name", "full-name", "tên", "_x", "", None, "x" * 65])
    def test_name(self, tmp_path: Path, name: object) -> None:
        found = only_problem(tmp_path, {"procedures": [with_field(0, name=name)]})
        assert "marriage_status.fields[0]: name must match ^[a-z][a-z0-9_]{0,63}$" in found

    def test_names_are_unique_per_procedure(self, tmp_path: Path) -> None:
        found = only_problem(tmp_path, {"procedures": [with_field(1, name="full_name")]})
        assert "marriage_status.full_name: field name is used more than once" in found

    @pytest.mark.parametrize("key", ["label", "label_en"])
    def test_labels(self, tmp_path: Path, key: str) -> None:
        found = only_problem(tmp_path, {"procedures": [with_field(3, **{key: ""})]})
        assert f"marriage_status.purpose: {key} must be a non-empty text" in found

    def test_a_misspelt_key_is_refused(self, tmp_path: Path) -> None:
        document = with_field(0, source=..., sorce="cccd.full_name", type="string")
        assert "marriage_status.full_name: unknown key 'sorce'" in only_problem(tmp_path, {"procedures": [document]})

    @pytest.mark.parametrize(
        ("source", "expected"),
        [
            ("cccd", "source must be written TYPE.field"),
            ("cccd.full_name.x", "source must be written TYPE.field"),
            (["cccd.full_name"], "source must be written TYPE.field"),
            ("visa.full_name", "source visa.full_name: unknown wallet document type 'visa'"),
            ("cccd.fullname", "source cccd.fullname: cccd has no field 'fullname'"),
        ],
    )
    def test_source_must_resolve(self, tmp_path: Path, source: object, expected: str) -> None:
        found = only_problem(tmp_path, {"procedures": [with_field(0, source=source)]})
        assert found.startswith("procedures.yaml: marriage_status.full_name: ") and expected in found

    def test_type_must_match_the_source(self, tmp_path: Path) -> None:
        found = only_problem(tmp_path, {"procedures": [with_field(0, type="date")]})
        assert "type 'date' differs from 'string', the kind of cccd.full_name" in found

    @pytest.mark.parametrize(
        ("key", "value"), [("choices", ["nam", "nu", "khac"]), ("pattern", "^[a-z]+$"), ("max_length", 50)]
    )
    def test_shape_comes_from_the_source(self, tmp_path: Path, key: str, value: object) -> None:
        found = only_problem(tmp_path, {"procedures": [with_field(1, **{key: value})]})
        assert f"marriage_status.sex: {key} differs from the one of cccd.sex" in found

    def test_restating_the_source_shape_is_allowed(self, tmp_path: Path) -> None:
        restated = [choice("nam", "Nam", "Male"), choice("nu", "Nữ", "Female")]
        document = with_field(1, choices=restated, type="enum", required=True)
        assert ProcedureCatalog.load(write(tmp_path, {"procedures": [document]}))

    @pytest.mark.parametrize(
        "restated",
        [["nam", "nu"], [choice("nam", "Nam", "Male"), choice("nu", "Nữ", "Woman")], [choice("nam", "Nam", "Male")]],
    )
    def test_restated_choices_must_be_the_papers_with_its_labels(self, tmp_path: Path, restated: object) -> None:
        found = only_problem(tmp_path, {"procedures": [with_field(1, choices=restated)]})
        assert "marriage_status.sex: choices differs from the one of cccd.sex" in found

    def test_a_field_sourced_from_an_optional_paper_field_is_optional(self, tmp_path: Path) -> None:
        document = with_field(0, source="birth_certificate.father_name", required=True)
        found = only_problem(tmp_path, {"procedures": [document]})
        assert "birth_certificate.father_name is optional on the paper, so the field must be required: false" in found
        document = with_field(0, source="birth_certificate.father_name", required=...)
        loaded = ProcedureCatalog.load(write(tmp_path, {"procedures": [document]})).get("marriage_status")
        assert loaded.fields[0].required is False

    def test_a_required_paper_field_may_feed_an_optional_form_field(self, tmp_path: Path) -> None:
        document = with_field(0, required=False)
        assert ProcedureCatalog.load(write(tmp_path, {"procedures": [document]})).get("marriage_status")

    @pytest.mark.parametrize("kind", [None, "text", "bool", ["enum"], ...])
    def test_an_asked_field_needs_a_known_type(self, tmp_path: Path, kind: object) -> None:
        found = only_problem(tmp_path, {"procedures": [with_field(4, type=kind)]})
        assert "marriage_status.copies: type must be one of string, date, int, enum, list" in found

    @pytest.mark.parametrize("required", ["yes please", 1, None])
    def test_required_is_a_boolean(self, tmp_path: Path, required: object) -> None:
        for index in (0, 4):  # sourced and asked
            assert "required must be true or false" in only_problem(
                tmp_path, {"procedures": [with_field(index, required=required)]}
            )

    @pytest.mark.parametrize("kind", ["enum", "list"])
    @pytest.mark.parametrize("choices", [..., [], None, "a,b"])
    def test_enum_and_list_need_choices(self, tmp_path: Path, kind: str, choices: object) -> None:
        found = only_problem(tmp_path, {"procedures": [with_field(3, type=kind, choices=choices)]})
        assert f"an {kind} field without a source needs a non-empty list of choices" in found

    @pytest.mark.parametrize(
        ("choices", "expected"),
        [
            ([choice(1), choice("b", "Hai", "Two")], "choices[0]: value must be a non-empty text"),
            ([choice("a"), choice("", "Hai", "Two")], "choices[1]: value must be a non-empty text"),
            ([choice(" a")], "choices[0]: value must be a non-empty text"),
            ([choice(...)], "choices[0]: value must be a non-empty text"),
            ([choice("a"), choice("a", "Hai", "Two")], "choices: the value 'a' is used more than once"),
        ],
    )
    def test_choice_values_are_distinct_texts(self, tmp_path: Path, choices: object, expected: str) -> None:
        assert expected in only_problem(tmp_path, {"procedures": [with_field(3, choices=choices)]})

    @pytest.mark.parametrize(
        ("entry", "expected"),
        [
            (choice("khac", label_en=...), "marriage_status.purpose.choices[khac]: label_en must be a non-empty text"),
            (choice("khac", label=...), "marriage_status.purpose.choices[khac]: label must be a non-empty text"),
            (choice("khac", label="  "), "marriage_status.purpose.choices[khac]: label must be a non-empty text"),
            (choice("khac", label_en=7), "marriage_status.purpose.choices[khac]: label_en must be a non-empty text"),
            (choice("khac", label="Dòng\nhai"), "choices[khac]: label must not contain control characters"),
            (choice("khac", note="x"), "marriage_status.purpose.choices[khac]: unknown key 'note'"),
            ("khac", "marriage_status.purpose.choices[1]: must be a mapping {value, label, label_en} (got 'khac')"),
        ],
    )
    def test_every_choice_is_labelled_in_both_languages(self, tmp_path: Path, entry: object, expected: str) -> None:
        document = with_field(3, choices=[MARRIAGE["fields"][3]["choices"][0], entry])
        found = only_problem(tmp_path, {"procedures": [document]})
        assert found == f"procedures.yaml: {expected}" or expected in found, found

    @pytest.mark.parametrize(("position", "key"), [(1, "label"), (2, "label_en")])
    def test_two_choices_never_read_the_same(self, tmp_path: Path, position: int, key: str) -> None:
        same = MARRIAGE["fields"][3]["choices"][0][key]
        document = with_field(3, choices=[MARRIAGE["fields"][3]["choices"][0], choice("khac", **{key: same})])
        assert f"choices: the {key} {same!r} is used more than once" in only_problem(
            tmp_path, {"procedures": [document]}
        )

    def test_labelled_choices_are_kept_in_order(self, tmp_path: Path) -> None:
        added = ProcedureCatalog.load(write(tmp_path, {"procedures": [MARRIAGE]})).get("marriage_status")
        purpose = added.field("purpose")
        assert purpose is not None and purpose.choices == ("ket_hon", "khac")
        assert purpose.choice_labels == (
            ("ket_hon", "Để đăng ký kết hôn", "To register a marriage"),
            ("khac", "Mục đích khác", "Another purpose"),
        )
        assert purpose.choice_label("khac") == "Mục đích khác"
        assert purpose.choice_label("khac", english=True) == "Another purpose"
        assert purpose.spec().choice_labels == purpose.choice_labels

    def test_a_sourced_field_takes_the_papers_labels(self, tmp_path: Path) -> None:
        added = ProcedureCatalog.load(write(tmp_path, {"procedures": [MARRIAGE]})).get("marriage_status")
        sex = added.field("sex")
        paper_sex = next(spec for spec in CATALOG["cccd"].fields if spec.name == "sex")
        assert sex is not None and sex.choice_labels == paper_sex.choice_labels
        assert sex.choice_label("nu", english=True) == "Female"

    def test_choices_only_for_enum_and_list(self, tmp_path: Path) -> None:
        found = only_problem(tmp_path, {"procedures": [with_field(4, choices=[choice("1")])]})
        assert "choices apply to enum and list fields only" in found

    @pytest.mark.parametrize(
        ("kind", "pattern", "expected"),
        [
            ("string", "[0-9]+", "anchored with ^ and $"),
            ("string", "^[à-ỹ]+$", "anchored with ^ and $"),
            ("string", "^([0-9]$", "pattern does not compile"),
            ("int", "^[0-9]+$", "pattern applies to string fields only"),
        ],
    )
    def test_pattern(self, tmp_path: Path, kind: str, pattern: str, expected: str) -> None:
        assert expected in only_problem(tmp_path, {"procedures": [with_field(4, type=kind, pattern=pattern)]})

    @pytest.mark.parametrize(
        ("kind", "max_length", "expected"),
        [
            ("string", 0, "max_length must be an integer from 1 to 100000"),
            ("string", True, "max_length must be an integer from 1 to 100000"),
            ("string", "50", "max_length must be an integer from 1 to 100000"),
            ("int", 5, "max_length applies to string fields only"),
        ],
    )
    def test_max_length(self, tmp_path: Path, kind: str, max_length: object, expected: str) -> None:
        assert expected in only_problem(tmp_path, {"procedures": [with_field(4, type=kind, max_length=max_length)]})

    @pytest.mark.parametrize("raw", [None, "full_name", ["full_name"]])
    def test_a_field_must_be_a_mapping(self, tmp_path: Path, raw: object) -> None:
        document = procedure(fields=[*MARRIAGE["fields"], raw])
        assert only_problem(tmp_path, {"procedures": [document]}).endswith(
            "marriage_status.fields[5]: must be a mapping"
        )


class TestEveryProblemAtOnce:
    def test_problems_across_procedures_and_fields(self, tmp_path: Path) -> None:
        broken = copy.deepcopy(MARRIAGE)
        broken["agency"]["code"] = ""
        broken["required_documents"] = ["cccd", "visa"]
        broken["fields"][0]["source"] = "cccd.fullname"
        broken["fields"][3]["choices"] = []
        broken["fields"][4]["type"] = "float"
        other = procedure(code="Other", name="")
        found = problems(tmp_path, {"procedures": [broken, other], "version": 2})
        assert len(found) == 8, found
        for expected in (
            "file: unknown key 'version'",
            "marriage_status: agency code must be a non-empty text",
            "marriage_status: required_documents: unknown wallet document type 'visa'",
            "marriage_status.full_name: source cccd.fullname: cccd has no field 'fullname'",
            "marriage_status.purpose: an enum field without a source needs a non-empty list of choices",
            "marriage_status.copies: type must be one of string, date, int, enum, list",
            "procedures[1]: code must match",
            "procedures[1]: name must be a non-empty text",
        ):
            assert any(expected in problem for problem in found), expected


yaml_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=12) | st.sampled_from(["cccd.full_name", "enum"]),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(
            st.sampled_from(["procedures", "code", "name", "fields", "source", "type", "choices"])
            | st.text(max_size=6),
            inner,
            max_size=5,
        )
    ),
    max_leaves=25,
)


class TestProperties:
    @settings(max_examples=300)
    @given(document=yaml_values)
    def test_any_yaml_gives_procedures_or_problems_never_a_crash(self, document: object) -> None:
        procedures, found = parse_catalog(yaml.safe_dump(document, allow_unicode=True))
        assert found or procedures  # a file without problems has procedures
        assert all(isinstance(problem, str) and problem for problem in found)

    @settings(max_examples=100)
    @given(data=st.data())
    def test_dropping_any_key_of_a_good_procedure_never_crashes(self, data: st.DataObject) -> None:
        document = copy.deepcopy(MARRIAGE)
        index = data.draw(st.integers(0, len(document["fields"]) - 1))
        key = data.draw(st.sampled_from(sorted(document["fields"][index])))
        del document["fields"][index][key]
        procedures, found = parse_catalog(yaml.safe_dump({"procedures": [document]}, allow_unicode=True))
        assert procedures or found


class TestDependantDocuments:
    def test_a_dependant_type_loads(self, tmp_path: Path) -> None:
        path = write(tmp_path, {"procedures": [procedure(dependant_documents=["marriage_certificate"])]})
        assert ProcedureCatalog.load(path).all()[0].dependant_documents == ("marriage_certificate",)

    def test_a_dependant_type_the_procedure_never_uses_is_refused(self, tmp_path: Path) -> None:
        path = write(tmp_path, {"procedures": [procedure(dependant_documents=["birth_certificate"])]})
        with pytest.raises(CatalogInvalid) as caught:
            ProcedureCatalog.load(path)
        assert any("dependant_documents: birth_certificate" in problem for problem in caught.value.problems)

    def test_an_unknown_dependant_type_is_refused(self, tmp_path: Path) -> None:
        path = write(tmp_path, {"procedures": [procedure(dependant_documents=["pet_licence"])]})
        with pytest.raises(CatalogInvalid) as caught:
            ProcedureCatalog.load(path)
        assert any("unknown wallet document type 'pet_licence'" in problem for problem in caught.value.problems)
