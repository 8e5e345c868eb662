"""Parsing and checking a procedure catalog file (YAML): every problem is collected, none stops the others.

The file is a mapping with one key, `procedures`, a list of procedures:

    code: ASCII identifier, unique          name / name_en: the procedure's names
    agency: {code, name}                    required_documents: wallet type codes
    dependant_documents (optional): types whose papers are about the applicant's dependant, not the applicant
    processing_days: the legal processing time in working days (1 to 365), which sets each dossier's due date
    fields: list of {name, label, label_en, source?, type?, required?, choices?, pattern?, max_length?}

A field with a `source` ("TYPE.field" of a wallet paper) takes its kind, choices, pattern and length from that
paper's schema (restating them is allowed, contradicting them is not) and is required only if the paper's field is;
a field without one (asked of the citizen) states its `type`, and needs `choices` when it is an enum or a list: each
choice a mapping `{value, label, label_en}` (the code the API takes, and what people read in Vietnamese and English),
no value and no label repeated. A sourced field's choices, and their labels, are the paper field's.
Keys are checked too, including duplicates, because YAML would otherwise keep the last value of a repeated key and
a misspelt `sorce:` would silently turn a prefilled field into an asked one.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from typing import Any

import yaml

from forms.procedure import AgencyRef, ChoiceLabels, Procedure, ProcedureField, Source
from wallet.catalog import CATALOG
from wallet.kinds import FIELD_KINDS, FieldKind, FieldSpec

_CODE = re.compile(r"[a-z][a-z0-9_]{1,63}")
_FIELD_NAME = re.compile(r"[a-z][a-z0-9_]{0,63}")
_TOP_KEYS = frozenset({"procedures"})
_PROCEDURE_KEYS = frozenset(
    {"code", "name", "name_en", "agency", "fields", "required_documents", "dependant_documents", "processing_days"}
)
_AGENCY_KEYS = frozenset({"code", "name"})
_FIELD_KEYS = frozenset({"name", "label", "label_en", "source", "type", "required", "choices", "pattern", "max_length"})
_CHOICE_KEYS = frozenset({"value", "label", "label_en"})
_KINDS: dict[str, FieldKind] = {kind: kind for kind in FIELD_KINDS}
# What a field's entry says beyond its name and labels: kind, required, source, choices, pattern, max_length.
_Shape = tuple[FieldKind, bool, Source | None, ChoiceLabels, str | None, int]
_MAX_TEXT = 300  # names and labels; the agency table holds names of up to 300 characters
_MAX_LENGTH_LIMIT = 100_000
_DEFAULT_MAX_LENGTH = 500
_MAX_PROCESSING_DAYS = 365


class _Problems:
    """Problems found so far, each prefixed by where it is (a procedure code, `code.field`, or an index)."""

    def __init__(self) -> None:
        self.items: list[str] = []

    def add(self, where: str, message: str) -> None:
        self.items.append(f"{where}: {message}")


def parse_catalog(text: str) -> tuple[list[Procedure], list[str]]:
    """The procedures of a catalog file, and every problem found in it (the procedures are unusable if any)."""
    problems = _Problems()
    document = _read_yaml(text, problems)
    if problems.items:
        return [], problems.items
    if not isinstance(document, dict):
        problems.add("file", "must be a mapping with a `procedures:` list")
        return [], problems.items
    _unknown_keys("file", document, _TOP_KEYS, problems)
    raw_procedures = document.get("procedures")
    if not isinstance(raw_procedures, list) or not raw_procedures:
        problems.add("procedures", "must be a non-empty list")
        return [], problems.items
    procedures = [p for i, raw in enumerate(raw_procedures) if (p := _procedure(i, raw, problems)) is not None]
    codes = [raw.get("code") for raw in raw_procedures if isinstance(raw, dict)]
    for code in sorted({c for c in codes if isinstance(c, str) and codes.count(c) > 1}):
        problems.add(code, "code is used by more than one procedure")
    return procedures, problems.items


def _read_yaml(text: str, problems: _Problems) -> object:
    try:
        _duplicate_keys(yaml.compose(text, Loader=yaml.SafeLoader), problems, set())
        return yaml.safe_load(text)
    except yaml.YAMLError as error:
        problems.add("file", f"is not valid YAML ({' '.join(str(error).split())})")
        return None


def _duplicate_keys(node: yaml.Node | None, problems: _Problems, seen_nodes: set[int]) -> None:
    if node is None or id(node) in seen_nodes:  # an alias points back at a node already walked
        return
    seen_nodes.add(id(node))
    if isinstance(node, yaml.MappingNode):
        keys: set[str] = set()
        for key, value in node.value:
            if isinstance(key, yaml.ScalarNode):
                if key.value in keys:
                    problems.add(f"line {key.start_mark.line + 1}", f"key {key.value!r} is repeated")
                keys.add(key.value)
            _duplicate_keys(value, problems, seen_nodes)
    elif isinstance(node, yaml.SequenceNode):
        for item in node.value:
            _duplicate_keys(item, problems, seen_nodes)


def _unknown_keys(where: str, raw: Mapping[Any, Any], allowed: frozenset[str], problems: _Problems) -> None:
    for key in raw:
        if key not in allowed:
            problems.add(where, f"unknown key {str(key)[:50]!r} (allowed: {', '.join(sorted(allowed))})")


def _text(where: str, key: str, value: object, problems: _Problems, *, max_length: int = _MAX_TEXT) -> str:
    """A non-empty one-line text, NFC-normalised; "" (after a problem is recorded) when it is not one."""
    if not isinstance(value, str) or not value.strip():
        problems.add(where, f"{key} must be a non-empty text")
        return ""
    text = unicodedata.normalize("NFC", value.strip())
    if any(unicodedata.category(char) in {"Cc", "Cs"} for char in text):
        problems.add(where, f"{key} must not contain control characters or line breaks")
    if len(text) > max_length:
        problems.add(where, f"{key} must be at most {max_length} characters")
    return text


def _procedure(index: int, raw: object, problems: _Problems) -> Procedure | None:
    where = f"procedures[{index}]"
    if not isinstance(raw, dict):
        problems.add(where, "must be a mapping")
        return None
    before = len(problems.items)
    code = raw.get("code")
    if isinstance(code, str) and _CODE.fullmatch(code):
        where = code
    else:
        problems.add(where, f"code must match ^{_CODE.pattern}$")
    _unknown_keys(where, raw, _PROCEDURE_KEYS, problems)
    procedure = Procedure(
        code=str(code),
        name=_text(where, "name", raw.get("name"), problems),
        name_en=_text(where, "name_en", raw.get("name_en"), problems),
        agency=_agency(where, raw.get("agency"), problems),
        fields=_fields(where, raw.get("fields"), problems),
        required_documents=_documents(where, raw.get("required_documents"), problems),
        dependant_documents=_documents(where, raw.get("dependant_documents", []), problems, "dependant_documents"),
        processing_days=_processing_days(where, raw.get("processing_days"), problems),
    )
    _check_dependants(procedure, problems)
    return procedure if len(problems.items) == before else None


def _processing_days(where: str, raw: object, problems: _Problems) -> int:
    # bool is an int in Python: `processing_days: yes` must not read as 1 day
    if isinstance(raw, bool) or not isinstance(raw, int) or not 1 <= raw <= _MAX_PROCESSING_DAYS:
        problems.add(where, f"processing_days must be a whole number of working days from 1 to {_MAX_PROCESSING_DAYS}")
        return 1
    return raw


def _check_dependants(procedure: Procedure, problems: _Problems) -> None:
    used = set(procedure.required_documents) | set(procedure.source_types)
    for code in procedure.dependant_documents:
        if code not in used:
            problems.add(procedure.code, f"dependant_documents: {code} is neither required nor a field's source")


def _agency(where: str, raw: object, problems: _Problems) -> AgencyRef:
    if not isinstance(raw, dict):
        problems.add(where, "agency must be a mapping with a code and a name")
        return AgencyRef("", "")
    _unknown_keys(f"{where}.agency", raw, _AGENCY_KEYS, problems)
    code = _text(where, "agency code", raw.get("code"), problems, max_length=64)
    if any(char.isspace() for char in code):
        problems.add(where, "agency code must not contain spaces")
    return AgencyRef(code, _text(where, "agency name", raw.get("name"), problems))


def _documents(where: str, raw: object, problems: _Problems, key: str = "required_documents") -> tuple[str, ...]:
    if not isinstance(raw, list):
        problems.add(where, f"{key} must be a list of wallet document types (may be empty)")
        return ()
    for code in raw:
        if not isinstance(code, str) or code not in CATALOG:
            problems.add(where, f"{key}: unknown wallet document type {str(code)[:50]!r}")
    for code in sorted({c for c in raw if isinstance(c, str) and raw.count(c) > 1}):
        problems.add(where, f"{key}: {code} is listed more than once")
    return tuple(str(code) for code in raw)


def _fields(where: str, raw: object, problems: _Problems) -> tuple[ProcedureField, ...]:
    if not isinstance(raw, list) or not raw:
        problems.add(where, "fields must be a non-empty list")
        return ()
    fields = [f for i, item in enumerate(raw) if (f := _field(where, i, item, problems)) is not None]
    names = [item.get("name") for item in raw if isinstance(item, dict)]
    for name in sorted({n for n in names if isinstance(n, str) and names.count(n) > 1}):
        problems.add(f"{where}.{name}", "field name is used more than once")
    return tuple(fields)


def _field(where: str, index: int, raw: object, problems: _Problems) -> ProcedureField | None:
    here = f"{where}.fields[{index}]"
    if not isinstance(raw, dict):
        problems.add(here, "must be a mapping")
        return None
    before = len(problems.items)
    name = raw.get("name")
    if isinstance(name, str) and _FIELD_NAME.fullmatch(name):
        here = f"{where}.{name}"
    else:
        problems.add(here, f"name must match ^{_FIELD_NAME.pattern}$")
    _unknown_keys(here, raw, _FIELD_KEYS, problems)
    label = _text(here, "label", raw.get("label"), problems)
    label_en = _text(here, "label_en", raw.get("label_en"), problems)
    source = _source(here, raw.get("source"), problems)
    if source is None and raw.get("source") is not None:
        return None  # a broken source: the field's shape cannot be told
    field = _sourced(here, raw, *source, problems) if source else _asked(here, raw, problems)
    if field is None or len(problems.items) != before:
        return None
    kind, required, source_of, labelled, pattern, max_length = field
    return ProcedureField(
        str(name),
        label,
        label_en,
        kind,
        required,
        source_of,
        choices=tuple(value for value, _vi, _en in labelled),
        pattern=pattern,
        max_length=max_length,
        choice_labels=labelled,
    )


def _source(here: str, raw: object, problems: _Problems) -> tuple[Source, FieldSpec] | None:
    if raw is None:
        return None
    type_code, _, field_name = raw.partition(".") if isinstance(raw, str) else ("", "", "")
    doc = CATALOG.get(type_code)
    spec = next((s for s in doc.fields if s.name == field_name), None) if doc else None
    if not isinstance(raw, str) or raw.count(".") != 1:
        problems.add(here, f"source must be written TYPE.field, as cccd.full_name (got {str(raw)[:60]!r})")
    elif doc is None:
        problems.add(here, f"source {raw}: unknown wallet document type {type_code!r}")
    elif spec is None:
        problems.add(here, f"source {raw}: {type_code} has no field {field_name!r}")
    else:
        return Source(type_code, field_name), spec
    return None


def _sourced(here: str, raw: Mapping[str, Any], source: Source, spec: FieldSpec, problems: _Problems) -> _Shape:
    """The shape of a prefilled field: the paper field's own, so that a prefilled value always fits."""
    if "type" in raw and raw["type"] != spec.kind:
        problems.add(here, f"type {str(raw['type'])[:20]!r} differs from {spec.kind!r}, the kind of {source}")
    given = {
        "choices": _restated(raw.get("choices")),
        "pattern": raw.get("pattern"),
        "max_length": raw.get("max_length"),
    }
    own = {"choices": spec.choice_labels, "pattern": spec.pattern, "max_length": spec.max_length}
    for key, value in given.items():
        if key in raw and value != own[key]:
            problems.add(here, f"{key} differs from the one of {source} (leave it out: it comes from the source)")
    if set(spec.choices) != {value for value, _vi, _en in spec.choice_labels}:
        problems.add(here, f"{source} has choices without labels in the wallet's catalog")
    required = raw.get("required", spec.required)
    if not isinstance(required, bool):
        problems.add(here, "required must be true or false")
    elif required and not spec.required:
        problems.add(here, f"{source} is optional on the paper, so the field must be required: false")
    return spec.kind, required is True, source, spec.choice_labels, spec.pattern, spec.max_length


def _asked(here: str, raw: Mapping[str, Any], problems: _Problems) -> _Shape | None:
    kind = _KINDS.get(raw["type"]) if isinstance(raw.get("type"), str) else None
    if kind is None:
        problems.add(here, f"type must be one of {', '.join(FIELD_KINDS)} for a field without a source")
        return None
    required = raw.get("required", True)
    if not isinstance(required, bool):
        problems.add(here, "required must be true or false")
    choices = _choices(here, kind, raw.get("choices"), problems)
    pattern = _pattern(here, kind, raw.get("pattern"), problems)
    max_length = raw.get("max_length", _DEFAULT_MAX_LENGTH)
    if "max_length" in raw and kind != "string":
        problems.add(here, "max_length applies to string fields only")
    elif not isinstance(max_length, int) or isinstance(max_length, bool) or not 1 <= max_length <= _MAX_LENGTH_LIMIT:
        problems.add(here, f"max_length must be an integer from 1 to {_MAX_LENGTH_LIMIT}")
        max_length = _DEFAULT_MAX_LENGTH
    return kind, required is True, None, choices, pattern, max_length


def _restated(raw: object) -> object:
    """Choices a sourced field restates, in the shape the paper's are held (compared, never used)."""
    quiet = _Problems()
    labelled = _labelled(".", raw, quiet) if isinstance(raw, list) else raw
    return raw if quiet.items else labelled


def _choices(here: str, kind: FieldKind, raw: object, problems: _Problems) -> ChoiceLabels:
    if kind not in ("enum", "list"):
        if raw is not None:
            problems.add(here, "choices apply to enum and list fields only")
        return ()
    if not isinstance(raw, list) or not raw:
        problems.add(here, f"an {kind} field without a source needs a non-empty list of choices")
        return ()
    return _labelled(here, raw, problems)


def _labelled(here: str, raw: list[Any], problems: _Problems) -> ChoiceLabels:
    """Each choice as (value, Vietnamese label, English label); a bare code is refused, since people would read it."""
    choices: list[tuple[str, str, str]] = []
    for index, item in enumerate(raw):
        where = f"{here}.choices[{index}]"
        if not isinstance(item, dict):
            problems.add(where, f"must be a mapping {{value, label, label_en}} (got {str(item)[:30]!r})")
            continue
        value = item.get("value")
        if isinstance(value, str) and value and value.strip() == value:
            where = f"{here}.choices[{value[:30]}]"
        else:
            problems.add(where, "value must be a non-empty text without surrounding spaces (quote numbers: '1')")
        _unknown_keys(where, item, _CHOICE_KEYS, problems)
        label = _text(where, "label", item.get("label"), problems)
        label_en = _text(where, "label_en", item.get("label_en"), problems)
        choices.append((str(value), label, label_en))
    for position, what in ((0, "value"), (1, "label"), (2, "label_en")):
        seen = [choice[position] for choice in choices if choice[position]]
        for repeated in sorted({text for text in seen if seen.count(text) > 1}):
            problems.add(here, f"choices: the {what} {repeated[:40]!r} is used more than once")
    return tuple(choices)


def _pattern(here: str, kind: FieldKind, raw: object, problems: _Problems) -> str | None:
    if raw is None:
        return None
    if kind != "string":
        problems.add(here, "pattern applies to string fields only")
        return None
    # Patterns reach browsers too (ECMAScript): anchored ASCII keeps both engines in agreement.
    if not isinstance(raw, str) or not raw.isascii() or not raw.startswith("^") or not raw.endswith("$"):
        problems.add(here, "pattern must be an ASCII regular expression anchored with ^ and $")
        return None
    try:
        re.compile(raw)
    except re.error as error:
        problems.add(here, f"pattern does not compile ({error})")
        return None
    return raw
