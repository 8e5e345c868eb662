"""The five kinds of field value a paper (or an e-form built from papers) holds, and how a raw value is checked.

Shared by the wallet's document types (`wallet.catalog`) and the e-forms of procedures (`forms.catalog`), so that a
value prefilled from a paper and a value typed into a form obey the same rules: dates are "YYYY-MM-DD" strings (or
`date`, never a `datetime`), ints are ints (not bools), strings are trimmed, NFC-normalised and free of control,
zero-width and bidi-override characters (`identity.text`), enums and lists take only their choices. A blank value
("" or whitespace) means "not given" (None).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Literal

from identity.text import TextRefused, clean_text

FieldKind = Literal["string", "date", "int", "enum", "list"]
FIELD_KINDS: tuple[FieldKind, ...] = ("string", "date", "int", "enum", "list")


@dataclass(frozen=True)
class FieldSpec:
    name: str
    kind: FieldKind
    required: bool
    label_vi: str
    label_en: str
    choices: tuple[str, ...] = ()
    pattern: str | None = None  # anchored, ASCII-only, valid in both Python and ECMAScript
    max_length: int = 500
    # (value, Vietnamese label, English label) of every choice: people read labels, never codes
    choice_labels: tuple[tuple[str, str, str], ...] = ()

    def choice_label(self, value: str, *, english: bool = False) -> str:
        for code, vi, en in self.choice_labels:
            if code == value:
                return en if english else vi
        return value


NATIONAL_ID_PATTERN = "^[0-9]{12}$"
PASSPORT_PATTERN = "^[A-Z][0-9]{7}$"
LICENSE_PATTERN = "^[0-9]{12}$"
HEALTH_CARD_PATTERN = "^[A-Z]{2}[0-9]{13}$"
_PATTERN_HINTS = {
    NATIONAL_ID_PATTERN: "must be exactly 12 digits",
    PASSPORT_PATTERN: "must be one uppercase letter followed by 7 digits",
    HEALTH_CARD_PATTERN: "must be 2 uppercase letters followed by 13 digits",
}
_INT_RANGES = {"graduation_year": (1900, 2100)}
_DATE_SHAPE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


class ValueInvalid(Exception):
    """One value does not fit its field; the message is the problem as shown to the citizen."""


def _date(spec: FieldSpec, value: object) -> date | None:
    if type(value) is date:  # a datetime is not a date here
        return value
    if not isinstance(value, str):
        raise ValueInvalid("must be a date (YYYY-MM-DD)")
    text = value.strip()
    if not text:
        return None
    if not _DATE_SHAPE.fullmatch(text):
        raise ValueInvalid("must be a date (YYYY-MM-DD)")
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValueInvalid("is not a real date") from None


def _string(spec: FieldSpec, value: object) -> str | None:
    if not isinstance(value, str):
        raise ValueInvalid("must be a string")
    try:  # NFC; no control, zero-width or bidi-override character (a paper may quote any script)
        text = clean_text(value.strip(), kind="field")
    except TextRefused:
        raise ValueInvalid("must not contain control characters") from None
    if len(text) > spec.max_length:
        raise ValueInvalid(f"must be at most {spec.max_length} characters")
    if spec.pattern and text and not re.fullmatch(spec.pattern, text):
        raise ValueInvalid(_PATTERN_HINTS.get(spec.pattern, f"must match {spec.pattern}"))
    return text or None


def _int(spec: FieldSpec, value: object) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise ValueInvalid("must be an integer")
    bounds = _INT_RANGES.get(spec.name)
    if bounds and not bounds[0] <= value <= bounds[1]:
        raise ValueInvalid(f"must be between {bounds[0]} and {bounds[1]}")
    return value


def _enum(spec: FieldSpec, value: object) -> str | None:
    if isinstance(value, int) and not isinstance(value, bool):  # `form: 1` means "1"
        value = next((c for c in spec.choices if c.isdigit() and int(c) == value), None)
    text = value.strip() if isinstance(value, str) else None
    if text == "":
        return None
    if text not in spec.choices:
        raise ValueInvalid(f"must be one of: {', '.join(spec.choices)}")
    return text


def _list(spec: FieldSpec, value: object) -> list[str]:
    if not isinstance(value, list | tuple) or not all(isinstance(item, str) for item in value):
        raise ValueInvalid("must be a list of strings")
    items = {item.strip() for item in value}
    unknown = sorted(repr(item[:20]) for item in items - set(spec.choices))
    if unknown:
        raise ValueInvalid(f"unknown values {', '.join(unknown)}; allowed: {', '.join(spec.choices)}")
    if not items:
        raise ValueInvalid("must not be empty")
    return [c for c in spec.choices if c in items]  # canonical order, no duplicates


_COERCE: dict[FieldKind, Callable[[FieldSpec, object], object]] = {
    "string": _string,
    "date": _date,
    "int": _int,
    "enum": _enum,
    "list": _list,
}


def coerce(spec: FieldSpec, value: object) -> object:
    """The clean value (a `date` for dates), None when blank, or `ValueInvalid`. `value` must not be None."""
    return _COERCE[spec.kind](spec, value)


def to_json(value: object) -> object:
    return value.isoformat() if isinstance(value, date) else value


def check_value(spec: FieldSpec, value: object) -> tuple[object, list[str]]:
    """(the JSON-ready clean value, []) or (None, the problems); None and blanks give (None, [])."""
    if value is None:
        return None, []
    try:
        return to_json(coerce(spec, value)), []
    except ValueInvalid as problem:
        return None, [str(problem)]
