"""`check_value`: one value against one field spec, the rule the wallet's papers and the e-forms share."""

import json
from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.unit.wallet.test_catalog import EXAMPLES
from wallet.catalog import CATALOG, validate_fields
from wallet.errors import FieldsInvalid
from wallet.kinds import FieldSpec, check_value

ALL_SPECS = [(doc.code, spec) for doc in CATALOG.values() for spec in doc.fields]
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20) | st.dates(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner, max_size=4),
    max_leaves=10,
)


def spec(kind: str, **extra: object) -> FieldSpec:
    return FieldSpec("x", kind, True, "X", "X", **extra)  # type: ignore[arg-type]


class TestCheckValue:
    @pytest.mark.parametrize(
        ("field", "value", "clean"),
        [
            (spec("string"), "  Nguye\u0302\u0303n  ", "Nguyễn"),
            (spec("string"), "   ", None),
            (spec("date"), " 2024-02-29 ", "2024-02-29"),
            (spec("date"), date(2024, 2, 29), "2024-02-29"),
            (spec("int"), 7, 7),
            (spec("enum", choices=("1", "2")), 2, "2"),
            (spec("list", choices=("A", "B")), ["B", "A", "B"], ["A", "B"]),
            (spec("string"), None, None),
        ],
    )
    def test_clean_values(self, field: FieldSpec, value: object, clean: object) -> None:
        assert check_value(field, value) == (clean, [])

    @pytest.mark.parametrize(
        ("field", "value", "problem"),
        [
            (spec("string"), 1, "must be a string"),
            (spec("string", max_length=3), "abcd", "must be at most 3 characters"),
            (spec("string"), "a\x00b", "must not contain control characters"),
            (spec("string", pattern="^[0-9]{12}$"), "12", "must be exactly 12 digits"),
            (spec("date"), "2023-02-29", "is not a real date"),
            (spec("date"), "01/02/2023", "must be a date (YYYY-MM-DD)"),
            (spec("int"), True, "must be an integer"),
            (spec("enum", choices=("nam", "nu")), "male", "must be one of: nam, nu"),
            (spec("list", choices=("A",)), [], "must not be empty"),
        ],
    )
    def test_problems(self, field: FieldSpec, value: object, problem: str) -> None:
        assert check_value(field, value) == (None, [problem])

    @settings(max_examples=300)
    @given(data=st.data(), value=json_values)
    def test_agrees_with_the_paper_schema(self, data: st.DataObject, value: object) -> None:
        """A value check_value accepts is the value validate_fields stores, and a refused one is refused there too."""
        code, field = data.draw(st.sampled_from(ALL_SPECS))
        clean, problems = check_value(field, value)
        try:
            stored = validate_fields(code, {**EXAMPLES[code], field.name: value})[field.name]
        except FieldsInvalid as error:
            named = error.errors.get(field.name, [])
            if named == ["is required"]:  # a blank: not a kind problem, the paper's schema requires the field
                assert (clean, problems) == (None, [])
            elif problems:
                assert named[:1] == problems
            return  # otherwise another field's rule (a date order, a CCCD digit) refused the paper
        assert problems == [] and clean == stored
        assert json.loads(json.dumps(clean)) == clean
