"""The procedure catalog: the e-forms citizens fill in, each field pulled from a wallet paper where one holds it.

The procedures are data (`procedures.yaml` next to this module, or any file given to `ProcedureCatalog.load`), so a
procedure is added by editing a file, not code. The file is checked as a whole when loaded and every problem is named
at once (`CatalogInvalid`): a typo in a key or a source must stop the start, not hide a field from every citizen.

A field's `source` ("TYPE.field") names the wallet paper and field that prefill it; such a field takes its kind,
choices, pattern and length from the paper's schema, so a prefilled value always passes the form's own checks.
`validate_values` checks typed values with the wallet's own per-kind rules (`wallet.kinds`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from forms.catalog_loader import parse_catalog
from forms.errors import ApplicationInvalid, CatalogInvalid, ProcedureNotFound
from forms.procedure import AgencyRef, FieldKind, Procedure, ProcedureField, Source

__all__ = [
    "AgencyRef",
    "FieldKind",
    "Procedure",
    "ProcedureCatalog",
    "ProcedureField",
    "Source",
    "validate_values",
]

SHIPPED = Path(__file__).with_name("procedures.yaml")


@dataclass(frozen=True)
class ProcedureCatalog:
    procedures: tuple[Procedure, ...]

    @classmethod
    def load(cls, path: Path) -> ProcedureCatalog:
        """The catalog in a YAML file, or `CatalogInvalid` listing every problem in it."""
        try:
            text = Path(path).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            raise CatalogInvalid([f"{path}: cannot be read ({error.__class__.__name__})"]) from None
        procedures, problems = parse_catalog(text)
        if problems:
            raise CatalogInvalid([f"{Path(path).name}: {problem}" for problem in problems])
        return cls(tuple(procedures))

    @classmethod
    def shipped(cls) -> ProcedureCatalog:
        """The six procedures of DOMAIN.md, parsed once per process (the catalog is immutable)."""
        return _shipped()

    def get(self, code: str) -> Procedure:
        found = next((p for p in self.procedures if p.code == code), None)
        if found is None:
            raise ProcedureNotFound(f"Không tìm thấy thủ tục: {str(code)[:64]}")
        return found

    def all(self) -> list[Procedure]:
        return list(self.procedures)

    def by_agency(self, agency_code: str) -> list[Procedure]:
        return [p for p in self.procedures if p.agency.code == agency_code]


@cache
def _shipped() -> ProcedureCatalog:
    return ProcedureCatalog.load(SHIPPED)


def validate_values(procedure: Procedure, values: Mapping[str, object]) -> dict[str, object]:
    """Check the given values (a subset of the procedure's fields) by each field's type; return JSON-ready clean
    values for exactly the given keys (None or "" clears a field → None). Raise `ApplicationInvalid` naming every
    problem: unknown field names, wrong types, bad dates ("YYYY-MM-DD"), enum not in choices, list items not in
    choices, pattern mismatch, too long, control characters.

    Whether a required field is filled is not checked here: a draft may be incomplete until it is submitted.
    """
    if not isinstance(values, Mapping):
        raise ApplicationInvalid({"fields": ["must be an object"]})
    errors: dict[str, list[str]] = {}
    clean: dict[str, object] = {}
    for key, raw in values.items():
        field = procedure.field(key) if isinstance(key, str) else None
        if field is None:
            errors.setdefault(str(key)[:100], []).append("unknown field")
            continue
        value, problems = field.check(raw)
        if problems:
            errors[field.name] = problems
        else:
            clean[field.name] = value
    if errors:
        raise ApplicationInvalid(errors)
    return clean


def public_catalog(catalog: ProcedureCatalog) -> list[dict[str, Any]]:
    """`GET /procedures`: every procedure in file order, each as `Procedure.public()`."""
    return [procedure.public() for procedure in catalog.procedures]
