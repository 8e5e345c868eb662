"""A paper's fields between the catalog, the pages' forms and the wallet: the controls of a type's form with their
labels and choices in the page's language, the typed values (kept as typed when the form comes back with errors), the
JSON object the wallet validates, and a stored paper's values as people read them (choice labels, dd/mm/yyyy)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from api.multipart import StreamedForm
from wallet.catalog import DocumentType, FieldSpec, Holder
from web.i18n import current, pick
from web.messages import parse_date

Value = str | list[str]  # a control's value as the form shows it: the text typed, or the choices ticked
RADIOS_UP_TO = 4  # an enum with more choices is a select


@dataclass(frozen=True)
class Control:
    """One field of a type's form, ready for the form macros."""

    spec: FieldSpec
    label: str
    value: Value
    options: list[tuple[str, str]] = field(default_factory=list)  # (code, label) of each choice

    @property
    def widget(self) -> str:
        if self.spec.kind == "enum":
            return "radios" if len(self.options) <= RADIOS_UP_TO else "select"
        if self.spec.kind == "list":
            return "checkboxes"
        return self.spec.kind  # string, date, int

    @property
    def selected(self) -> list[str]:
        return self.value if isinstance(self.value, list) else [self.value]

    @property
    def numeric(self) -> bool:
        return self.spec.kind == "int" or (self.spec.pattern or "").startswith("^[0-9]")


def controls(paper: DocumentType, values: Mapping[str, Value]) -> list[Control]:
    return [
        Control(
            spec,
            pick(spec.label_vi, spec.label_en),
            values.get(spec.name, [] if spec.kind == "list" else ""),
            [(code, pick(vi, en)) for code, vi, en in spec.choice_labels],
        )
        for spec in paper.fields
    ]


def typed_values(paper: DocumentType, form: StreamedForm | None) -> dict[str, Value]:
    """What the citizen typed and ticked, to show again."""
    if form is None:
        return {}
    return {
        spec.name: list(form.lists.get(spec.name, [])) if spec.kind == "list" else form.fields.get(spec.name, "")
        for spec in paper.fields
    }


def stored_values(paper: DocumentType, fields: Mapping[str, Any]) -> dict[str, Value]:
    """A stored paper's fields as its update form shows them."""
    values: dict[str, Value] = {}
    for spec in paper.fields:
        raw = fields.get(spec.name)
        if raw is None:
            continue
        if spec.kind == "list":
            values[spec.name] = [str(item) for item in raw]
        elif spec.kind == "date":
            values[spec.name] = day_month_year(raw)
        else:
            values[spec.name] = str(raw)
    return values


def holder_values(holder: Holder) -> dict[str, Value]:
    """What the account already knows of its own ID card (the rest the citizen reads off the card)."""
    return {
        "number": holder.national_id,
        "full_name": holder.full_name,
        "date_of_birth": day_month_year(holder.date_of_birth),
        "sex": holder.sex,
        "nationality": "Việt Nam",  # an ID card is only issued to Vietnamese citizens
    }


def wallet_fields(paper: DocumentType, form: StreamedForm) -> dict[str, object]:
    """The JSON object the wallet validates: a blank is None (not given), a date typed dd/mm/yyyy its ISO form; what
    cannot be read is passed as typed, so the wallet's own rules name the problem."""
    fields: dict[str, object] = {}
    for spec in paper.fields:
        if spec.kind == "list":
            ticked = [item for item in form.lists.get(spec.name, []) if item.strip()]
            fields[spec.name] = ticked or None
            continue
        text = form.fields.get(spec.name, "").strip()
        if not text:
            fields[spec.name] = None
        elif spec.kind == "date":
            parsed = parse_date(text)
            fields[spec.name] = parsed.isoformat() if parsed else text
        elif spec.kind == "int":
            fields[spec.name] = int(text) if text.isascii() and text.isdigit() and len(text) < 10 else text
        else:
            fields[spec.name] = text
    return fields


def shown_value(spec: FieldSpec, raw: Any) -> str:
    """A stored value as people read it: choices by their label, dates dd/mm/yyyy; "" when not given."""
    if raw is None or raw in ("", []):
        return ""
    english = current() == "en"
    if spec.kind == "list":
        return ", ".join(spec.choice_label(str(item), english=english) for item in raw)
    if spec.kind == "enum":
        return spec.choice_label(str(raw), english=english)
    if spec.kind == "date":
        return day_month_year(raw)
    return str(raw)


def shown_fields(paper: DocumentType, fields: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(label, value) of every field of the type, in the catalog's order."""
    return [(pick(spec.label_vi, spec.label_en), shown_value(spec, fields.get(spec.name))) for spec in paper.fields]


def day_month_year(value: date | str) -> str:
    try:
        day = value if isinstance(value, date) else date.fromisoformat(value)
    except ValueError:
        return str(value)
    return day.strftime("%d/%m/%Y")
