"""Once-only: fill a dossier from the papers the wallet already holds. Pure functions over the wallet's public
views, so the rules are testable without a database.

The best paper of a type is the one an agency would trust most: active before expired (revoked never), issuer-signed
before self-uploaded, newest first. A value pulled from a paper carries its provenance; one pulled from an
issuer-signed paper is read-only, since the state already certified it."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from forms.catalog import Procedure

from wallet.schemas import DocumentPublic

_USABLE = frozenset({"active", "expired"})


@dataclass
class Sheet:
    """A dossier's sealed content: the values, where each pulled value came from, and the last submitted copy."""

    fields: dict[str, Any]
    provenance: dict[str, dict[str, Any]] = field(default_factory=dict)
    submitted: dict[str, Any] | None = None

    @classmethod
    def blank(cls, procedure: Procedure) -> Sheet:
        return cls({f.name: None for f in procedure.fields})

    @classmethod
    def loads(cls, raw: bytes) -> Sheet:
        data = json.loads(raw)
        return cls(data["fields"], data["provenance"], data.get("submitted"))

    def dumps(self) -> bytes:
        content = {"fields": self.fields, "provenance": self.provenance, "submitted": self.submitted}
        return json.dumps(content, ensure_ascii=False).encode()

    @property
    def prefilled(self) -> list[str]:
        return [name for name in self.fields if name in self.provenance]

    @property
    def read_only(self) -> list[str]:
        return [name for name in self.prefilled if self.provenance[name]["provenance"] == "issuer_signed"]

    def entered(self, name: str) -> bool:
        """The citizen typed this value (pulled values are never counted as typed)."""
        return name not in self.provenance and not is_empty(self.fields.get(name))

    def set_entered(self, name: str, value: Any) -> None:
        self.fields[name] = value
        self.provenance.pop(name, None)


def is_empty(value: Any) -> bool:
    return value is None or value in ("", [])


def _rank(paper: DocumentPublic) -> tuple[bool, bool, float, str]:
    # sorted() ascending: False sorts first, so "is not active" and "is not issuer-signed" lose.
    return (paper.status != "active", paper.provenance != "issuer_signed", -paper.updated_at.timestamp(), paper.id)


def best_paper(papers: Iterable[DocumentPublic]) -> DocumentPublic | None:
    usable = sorted((p for p in papers if p.status in _USABLE), key=_rank)
    return usable[0] if usable else None


def best_by_type(papers: Iterable[DocumentPublic]) -> dict[str, DocumentPublic]:
    grouped: dict[str, list[DocumentPublic]] = {}
    for paper in papers:
        grouped.setdefault(paper.type, []).append(paper)
    best = {code: best_paper(group) for code, group in grouped.items()}
    return {code: paper for code, paper in best.items() if paper is not None}


def wanted_types(procedure: Procedure) -> list[str]:
    """The types a dossier may reference: its required papers, then those its fields are pulled from."""
    return list(dict.fromkeys([*procedure.required_documents, *procedure.source_types]))


def pull(procedure: Procedure, sheet: Sheet, papers: Mapping[str, DocumentPublic]) -> None:
    """Fill every sourced field the citizen has not typed from `papers` (one per type); a field whose paper is
    gone or lacks the value goes back to empty."""
    for spec in procedure.fields:
        if spec.source is None or sheet.entered(spec.name):
            continue
        paper = papers.get(spec.source.type)
        value = paper.fields.get(spec.source.field) if paper is not None else None
        if paper is None or is_empty(value):
            sheet.fields[spec.name] = None
            sheet.provenance.pop(spec.name, None)
            continue
        sheet.fields[spec.name] = value
        sheet.provenance[spec.name] = {
            "source": str(spec.source),
            "document_id": paper.id,
            "type": paper.type,
            "provenance": paper.provenance,
            "version": paper.version,
        }


def missing_fields(procedure: Procedure, sheet: Sheet) -> list[str]:
    return [f.name for f in procedure.fields if f.required and is_empty(sheet.fields.get(f.name))]


def missing_documents(procedure: Procedure, attached_types: Sequence[str]) -> list[str]:
    return [code for code in procedure.required_documents if code not in attached_types]


def used_types(procedure: Procedure, sheet: Sheet) -> set[str]:
    return {sheet.provenance[f.name]["type"] for f in procedure.fields if f.name in sheet.provenance}
