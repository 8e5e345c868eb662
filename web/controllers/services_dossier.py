"""The dossier behind the public services pages (`web.controllers.services`): loading it with the wallet's papers,
reading its posted form, and running the domain's steps, through the same services the API calls. No words here: the
pages' words live in `services.py` and the templates, whose catalog is `services.po`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

import anyio
from litestar.exceptions import NotFoundException

from api.container import Container
from api.unit import UnitOfWork
from forms.catalog import Procedure, ProcedureField
from forms.errors import ApplicationNotFound, ProcedureNotFound
from forms.prefill import wanted_types
from forms.schemas import ApplicationPublic
from forms.service import EDITABLE, ApplicationService
from identity.sessions import Principal
from storage.db import in_savepoint, read_only, transaction
from wallet.catalog import DocumentType, document_type
from wallet.errors import UnknownDocumentType
from wallet.schemas import DocumentPublic
from wallet.service import WalletService
from web.i18n import pick
from web.messages import parse_date
from web.pages import form_value
from web.paper_forms import day_month_year

T = TypeVar("T")
SECTION = "/services"
Unreadable = Literal["date", "int"]  # what a typed value could not be read as


def type_label(code: str) -> str:
    paper = document_type(code)
    return pick(paper.name_vi, paper.name_en)


def procedure_name(procedure: Procedure) -> str:
    return pick(procedure.name, procedure.name_en)


@dataclass(frozen=True)
class Dossier:
    application: ApplicationPublic
    procedure: Procedure
    papers: list[DocumentPublic]  # the wallet's papers of the types the dossier may use
    result: DocumentPublic | None  # the result paper, when the wallet shows it (not held)

    @property
    def editable(self) -> bool:
        return self.application.status in EDITABLE


def control_value(field: ProcedureField, value: Any) -> str | list[str]:
    """A stored value as a form control shows it: dates dd/mm/yyyy, lists as lists, the rest as text."""
    if value is None:
        return [] if field.type == "list" else ""
    if field.type == "date":
        return day_month_year(str(value))
    return [str(item) for item in value] if field.type == "list" else str(value)


def read_form(dossier: Dossier, form: Any) -> tuple[dict[str, Any], dict[str, Any], dict[str, Unreadable]]:
    """(the values changed, for the domain; the values as typed, to show again; what could not be read, by field).
    Only changes go to the domain: an unchanged value would count as typed over a paper chosen in the same save. A
    locked choice shows its label, not its value, so it is never read back; a locked text is, and the domain refuses
    it if it was changed."""
    values: dict[str, Any] = {}
    typed: dict[str, Any] = {}
    unreadable: dict[str, Unreadable] = {}
    for field in dossier.procedure.fields:
        if field.type in ("enum", "list") and field.name in dossier.application.read_only:
            continue
        if field.type == "list":
            ticked = [v for v in form.getall(field.name) if isinstance(v, str)] if field.name in form else []
            typed[field.name], values[field.name] = ticked, ticked or None
            continue
        text = typed[field.name] = form_value(form, field.name)
        values[field.name] = text or None
        if text and field.type == "date":
            day = parse_date(text)
            values[field.name] = day.isoformat() if day else None
            if day is None:
                unreadable[field.name] = "date"
        elif text and field.type == "int":
            digits = text.replace(" ", "").replace(".", "")
            values[field.name] = int(digits) if digits.isdigit() else None
            if not digits.isdigit():
                unreadable[field.name] = "int"
    stored = dossier.application.fields
    return {name: value for name, value in values.items() if value != stored.get(name)}, typed, unreadable


def chosen_papers(dossier: Dossier, form: Any) -> dict[str, str]:
    """The papers picked in place of the attached ones (only changes: an unchanged pick would pin the paper)."""
    attached = {a.type: a.document_id for a in dossier.application.attached_documents}
    picked = {code: form_value(form, f"doc-{code}") for code in wanted_types(dossier.procedure)}
    return {code: chosen for code, chosen in picked.items() if chosen and chosen != attached.get(code)}


# -- domain work --------------------------------------------------------------------------------------------------
def service(unit: UnitOfWork) -> ApplicationService:
    return ApplicationService(unit.session, unit.container.forms, unit.notifier)


def load(unit: UnitOfWork, citizen: Principal, application_id: str) -> Dossier:
    application = service(unit).get(citizen.subject_id, application_id)
    procedure = unit.container.forms.catalog.get(application.procedure_code)
    wallet = WalletService(unit.session, unit.container.wallet)
    papers = wallet.of_types(citizen.subject_id, wanted_types(procedure))
    result = None
    if application.result is not None:
        found = wallet.current(citizen.subject_id, [application.result.document_id])  # nothing while it is held
        result = found[0] if found else None
    return Dossier(application, procedure, papers, result)


def attempt(unit: UnitOfWork, work: Callable[[], T]) -> T:
    """Run one domain step in a savepoint: a refusal leaves nothing half-done, a success stays."""
    return in_savepoint(unit.session, work)


async def in_thread(work: Callable[[], T]) -> T:
    """Domain work off the event loop; an unknown (or another citizen's) dossier or procedure is a 404 page."""
    try:
        return await anyio.to_thread.run_sync(work)
    except (ApplicationNotFound, ProcedureNotFound) as exc:
        raise NotFoundException() from exc


def wanted_paper(type_code: str) -> DocumentType:
    try:
        return document_type(type_code)
    except UnknownDocumentType as unknown:
        raise NotFoundException() from unknown


def check_upload(container: Container, citizen_id: str, application_id: str, type_code: str) -> None:
    """May this dossier take a paper of this type? In a transaction of its own, never the request's: the upload
    commits the paper in its own transaction, which must not wait for a lock the request holds."""
    with transaction(read_only(container.engine)) as session:
        forms = ApplicationService(session, container.forms, container.notifier(session))
        forms.check_upload(citizen_id, application_id, type_code)
