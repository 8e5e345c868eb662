"""A procedure's e-form as the catalog holds it: immutable values built by `forms.catalog_loader`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from identity.text import text_problems
from wallet.kinds import FieldKind, FieldSpec, check_value

__all__ = ["AgencyRef", "ChoiceLabels", "FieldKind", "Procedure", "ProcedureField", "Source", "due_after"]

# Processing times are counted in the agency's working days, in Vietnam's time (UTC+7, no daylight saving time).
_VIETNAM = timezone(timedelta(hours=7), "ICT")
_SATURDAY = 5

ChoiceLabels = tuple[tuple[str, str, str], ...]  # (value, Vietnamese label, English label), as `FieldSpec` holds them


@dataclass(frozen=True)
class Source:
    """The wallet paper field that prefills a form field."""

    type: str  # wallet document type code
    field: str

    def __str__(self) -> str:
        return f"{self.type}.{self.field}"


@dataclass(frozen=True)
class ProcedureField:
    name: str
    label: str  # Vietnamese, as printed on the paper form
    label_en: str
    type: FieldKind
    required: bool
    source: Source | None
    choices: tuple[str, ...] = ()
    pattern: str | None = None
    max_length: int = 500
    # Every choice of an enum or list with its labels: people read labels, the API's values are the codes.
    choice_labels: ChoiceLabels = ()

    def spec(self) -> FieldSpec:
        """The field as the wallet's per-kind checks see it (the same rules as a paper's field)."""
        return FieldSpec(
            self.name,
            self.type,
            self.required,
            self.label,
            self.label_en,
            self.choices,
            self.pattern,
            self.max_length,
            self.choice_labels,
        )

    def choice_label(self, value: str, *, english: bool = False) -> str:
        """The label of one choice in the language asked (the code itself if the catalog has none)."""
        return self.spec().choice_label(value, english=english)

    def check(self, value: object) -> tuple[object, list[str]]:
        """(the JSON-ready clean value, []) or (None, the problems); None and blanks clear the field.

        Typed text is read by officers, so a word of it may not mix scripts either (a paper's field may)."""
        clean, problems = check_value(self.spec(), value)
        if self.type == "string" and isinstance(clean, str) and (mixed := text_problems(clean, kind="free")):
            return None, mixed
        return clean, problems

    def public(self) -> dict[str, Any]:
        shown: dict[str, Any] = {
            "name": self.name,
            "label": self.label,
            "label_en": self.label_en,
            "type": self.type,
            "required": self.required,
        }
        if self.source is not None:
            shown["source"] = str(self.source)
        if self.choices and self.type in ("enum", "list"):
            shown["choices"] = list(self.choices)
            shown["choice_labels"] = [{"value": c, "label": vi, "label_en": en} for c, vi, en in self.choice_labels]
        if self.pattern:
            shown["pattern"] = self.pattern
        return shown


@dataclass(frozen=True)
class AgencyRef:
    code: str
    name: str


@dataclass(frozen=True)
class Procedure:
    code: str
    name: str  # Vietnamese
    name_en: str
    agency: AgencyRef
    fields: tuple[ProcedureField, ...]
    required_documents: tuple[str, ...]  # wallet type codes
    # Types whose papers here are about the applicant's dependant (a child's birth certificate), not the applicant.
    dependant_documents: tuple[str, ...] = ()
    # The legal processing time in working days (Monday to Friday), counted from the complete dossier's receipt.
    processing_days: int = 1

    def field(self, name: str) -> ProcedureField | None:
        return next((field for field in self.fields if field.name == name), None)

    @property
    def source_types(self) -> tuple[str, ...]:
        """The wallet type codes the fields are prefilled from, in order of first use."""
        return tuple(dict.fromkeys(field.source.type for field in self.fields if field.source is not None))

    def public(self) -> dict[str, Any]:
        """`GET /procedures/{code}` (API.md), with English names and each field's choices and pattern."""
        return {
            "code": self.code,
            "name": self.name,
            "name_en": self.name_en,
            "agency": {"code": self.agency.code, "name": self.agency.name},
            "fields": [field.public() for field in self.fields],
            "required_documents": list(self.required_documents),
            "dependant_documents": list(self.dependant_documents),
            "processing_days": self.processing_days,
        }


def due_after(received_at: datetime, working_days: int) -> datetime:
    """When a dossier received at `received_at` is due: that many working days later, at the same time of day.

    Days are Vietnam's calendar days and Saturdays and Sundays do not count, so a dossier received on a Friday
    afternoon with 1 day is due on Monday afternoon and one received on a Saturday with 1 day is due on Monday.
    Public holidays are not known to the catalog and count as working days."""
    local = received_at.astimezone(_VIETNAM)
    left = working_days
    while left > 0:
        local += timedelta(days=1)
        if local.weekday() < _SATURDAY:
            left -= 1
    return local.astimezone(received_at.tzinfo or UTC)
