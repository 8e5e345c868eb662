"""Once-only: fill a dossier from the papers the wallet already holds. Pure functions over the wallet's public
views, so the rules are testable without a database.

The best paper of a type is the one an agency would trust most: active before expired (revoked never), issuer-signed
before self-uploaded, newest first, among the papers about the right person (the applicant's own, or their
dependant's where the procedure says so: a parent's wallet may hold a child's birth certificate). A value pulled
from a paper carries its provenance; one pulled from an issuer-signed paper is read-only, since the state already
certified it."""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Collection, Iterable, Mapping, Sequence
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


def _rank(paper: DocumentPublic) -> tuple[bool, bool, float]:
    # sorted() ascending: False sorts first, so "is not active" and "is not issuer-signed" lose.
    return (paper.status != "active", paper.provenance != "issuer_signed", -paper.updated_at.timestamp())


def best_paper(papers: Iterable[DocumentPublic]) -> DocumentPublic | None:
    # Ids are time-ordered (UUIDv7): among papers stored at the same instant the later id is the newer one.
    usable = sorted((p for p in papers if p.status in _USABLE), key=lambda p: p.id, reverse=True)
    usable.sort(key=_rank)  # stable: equal ranks keep the newest-id-first order
    return usable[0] if usable else None


@dataclass(frozen=True)
class Applicant:
    """Who applies, to tell their own papers from those about someone else (a child, a spouse) in their wallet."""

    national_id: str
    full_name: str
    date_of_birth: str  # YYYY-MM-DD


def _same_name(a: object, b: str) -> bool:
    def norm(text: str) -> str:
        return " ".join(unicodedata.normalize("NFC", text).casefold().split())

    return isinstance(a, str) and norm(a) == norm(b)


def about_applicant(paper: DocumentPublic, applicant: Applicant) -> bool | None:
    """Whether the paper is about the applicant: by its national ID, else by date of birth and name; None for a
    paper naming nobody in particular (a household's papers: marriage, proof of residence, a procedure's result)."""
    fields = paper.fields
    national_id = fields.get("number") if paper.type == "cccd" else fields.get("national_id")
    if national_id:
        return bool(national_id == applicant.national_id)
    born = fields.get("date_of_birth")
    if born:
        name = fields.get("full_name") or fields.get("holder_name")
        return bool(born == applicant.date_of_birth and (name is None or _same_name(name, applicant.full_name)))
    return None


def best_by_type(
    papers: Iterable[DocumentPublic], applicant: Applicant | None = None, dependant_types: Collection[str] = ()
) -> dict[str, DocumentPublic]:
    """The best paper of each type among those about the right person: the applicant's own papers, or for
    `dependant_types` papers about someone else (the papers naming nobody qualify for both)."""
    grouped: dict[str, list[DocumentPublic]] = {}
    for paper in papers:
        about = about_applicant(paper, applicant) if applicant is not None else None
        wanted = about is not True if paper.type in dependant_types else about is not False
        if wanted:
            grouped.setdefault(paper.type, []).append(paper)
    best = {code: best_paper(group) for code, group in grouped.items()}
    return {code: paper for code, paper in best.items() if paper is not None}


def wanted_types(procedure: Procedure) -> list[str]:
    """The types a dossier may reference: its required papers, then those its fields are pulled from."""
    return list(dict.fromkeys([*procedure.required_documents, *procedure.source_types]))


def pull(procedure: Procedure, sheet: Sheet, papers: Mapping[str, DocumentPublic]) -> None:
    """Fill every sourced field the citizen has not typed from `papers` (one per type); a field whose paper is
    gone or lacks the value goes back to empty. A value an issuer-signed paper certifies replaces a typed one:
    a dossier never contradicts the signed paper attached to it."""
    for spec in procedure.fields:
        if spec.source is None:
            continue
        paper = papers.get(spec.source.type)
        value = paper.fields.get(spec.source.field) if paper is not None else None
        certified = paper is not None and paper.provenance == "issuer_signed" and not is_empty(value)
        if sheet.entered(spec.name) and not certified:
            continue
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
