"""Public services (UI.md: "Public services"): the procedures, a procedure's page with `Bắt đầu`, the dossier's form
prefilled from the wallet (each value with its source, issuer-signed ones locked), submission, the dossier's page with
its code, status, history and result, the rating, and deleting a draft. Every change goes through the services the
API calls (`forms.service.ApplicationService`, `wallet.service.WalletService`); rules stay in the domain."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.datastructures import State
from litestar.response import Template
from pydantic import ValidationError

from api.unit import UnitOfWork
from forms.catalog import Procedure, ProcedureField
from forms.errors import (
    AlreadyRated,
    AlreadySubmitted,
    ApplicationIncomplete,
    ApplicationInvalid,
    ApplicationNotEditable,
    FieldReadOnly,
    FormsError,
    NotSubmitted,
    TooManyDrafts,
)
from forms.prefill import wanted_types
from forms.schemas import ApplicationCreate, ApplicationUpdate, RatingCreate
from identity.sessions import Principal
from wallet.schemas import DocumentPublic
from wallet.service import WalletService
from web.controllers.services_dossier import (
    SECTION,
    Dossier,
    attempt,
    chosen_papers,
    control_value,
    in_thread,
    load,
    procedure_name,
    read_form,
    service,
    type_label,
)
from web.controllers.services_upload import DossierPaperPages
from web.i18n import gettext as _
from web.i18n import pick
from web.messages import N_
from web.pages import citizen_page, form_value, see_other
from web.paper_forms import shown_value as shown_text
from web.templating import local_date

RADIO_LIMIT = 6  # more choices than this show as a select
UNREADABLE = {"date": N_("Enter a real date, for example 02/03/1995"), "int": N_("Enter a whole number, like 2")}
PROBLEMS = {
    "must be exactly 12 digits": N_("Enter exactly 12 digits"),
    "must not contain control characters": N_("Remove the special characters"),
    "must be one uppercase letter followed by 7 digits": N_("Enter one capital letter followed by 7 digits"),
}


def source_hint(dossier: Dossier, name: str) -> str | None:
    provenance = dossier.application.provenance.get(name)
    if provenance is None:
        return None
    paper = type_label(provenance.type)
    if provenance.provenance == "issuer_signed":
        return _("From your {paper}, issued by an agency: certified, it cannot be changed.").format(paper=paper)
    return _("From your {paper}, uploaded by you.").format(paper=paper)


def field_views(dossier: Dossier, posted: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
    application, views = dossier.application, []
    for field in dossier.procedure.fields:
        value = application.fields.get(field.name)
        missing = field.name in application.missing_fields
        hints = [source_hint(dossier, field.name)]
        if missing and field.source:
            hints.append(_("Missing: your wallet does not hold this."))
        elif missing:
            hints.append(_("Missing: please answer."))
        if field.type == "date" and field.name not in application.read_only:
            hints.append(_("For example 02/03/1995 (dd/mm/yyyy)"))
        options = [(code, pick(vi, en)) for code, vi, en in field.choice_labels]
        views.append(
            {
                "name": field.name,
                "label": pick(field.label, field.label_en),
                "kind": field.type,
                "optional": not field.required,
                "value": posted[field.name] if posted and field.name in posted else control_value(field, value),
                "text": shown_text(field.spec(), value),
                "options": options,
                "radios": len(options) <= RADIO_LIMIT,
                "read_only": field.name in application.read_only,
                "prefilled": field.name in application.provenance,
                "missing": missing,
                "hint": " ".join(hint for hint in hints if hint) or None,
                "max_length": field.max_length if field.type == "string" else None,
            }
        )
    return views


def paper_choice(paper: DocumentPublic) -> str:
    """One paper among several of a type, told apart by whom it names, who issued it and when it changed."""
    parts = [str(paper.fields.get("full_name") or "")]
    if paper.issuer is not None:
        parts.append(_("issued by {agency}").format(agency=paper.issuer.name))
    else:
        parts.append(_("uploaded by you"))
    if paper.status == "expired":
        parts.append(_("expired"))
    parts.append(_("updated {date}").format(date=local_date(paper.updated_at.date())))
    return " · ".join(part for part in parts if part)


def paper_views(dossier: Dossier) -> list[dict[str, Any]]:
    application, procedure = dossier.application, dossier.procedure
    attached = {a.type: a.document_id for a in application.attached_documents}
    rows = []
    for code in wanted_types(procedure):
        held = [p for p in dossier.papers if p.type == code and p.status != "revoked"]
        paper = next((p for p in held if p.id == attached.get(code)), None)
        rows.append(
            {
                "type": code,
                "label": type_label(code),
                "required": code in procedure.required_documents,
                "paper": paper,
                "origin": _("issued by an agency") if paper and paper.issuer else _("uploaded by you"),
                "options": [(p.id, paper_choice(p)) for p in held] if paper and len(held) > 1 else [],
                "add": f"/papers/add?type={code}&next=/applications/{application.id}",
            }
        )
    return rows


def agency_note(dossier: Dossier) -> str | None:
    """What the agency asked for (needs_info) or why it refused (rejected): the note of the move to that status."""
    status = dossier.application.status
    if status not in ("needs_info", "rejected"):
        return None
    moves = [e for e in dossier.application.history if e.status == status]
    return moves[-1].note if moves else None


def problem_messages(dossier: Dossier, error: FormsError) -> dict[str, str]:
    """The domain's refusal, one message per field in the form's order, anchored on the field's control."""
    procedure, said = dossier.procedure, {}
    if isinstance(error, FieldReadOnly):
        said = {name: _("This comes from a paper an agency issued and cannot be changed") for name in error.errors}
    elif isinstance(error, ApplicationIncomplete | ApplicationInvalid):
        for key, problems in error.errors.items():
            if key.startswith("documents."):
                code = key.removeprefix("documents.")
                said[f"doc-{code}"] = _("Add your {paper}").format(paper=type_label(code))
            elif (field := procedure.field(key)) is not None:
                said[key] = field_problem(field, problems[0] if problems else "")
    order = [f.name for f in procedure.fields] + [f"doc-{code}" for code in wanted_types(procedure)]
    return {key: said[key] for key in order if key in said} | {k: v for k, v in said.items() if k not in order}


def field_problem(field: ProcedureField, problem: str) -> str:
    label = pick(field.label, field.label_en)
    if problem == "required":
        if field.type in ("enum", "list"):
            return _("Choose “{label}”").format(label=label)
        return _("Enter “{label}”").format(label=label)
    if problem in PROBLEMS:
        return _(PROBLEMS[problem])
    if problem.startswith("must be at most"):
        return _("Enter at most {count} characters").format(count=field.max_length)
    if field.type in ("enum", "list"):
        return _("Choose among the options")
    return _("Check this answer")


def _dossier_page(
    unit: UnitOfWork, citizen: Principal, dossier: Dossier, *, status: int = 200, **context: Any
) -> Template:
    defaults: dict[str, Any] = {"errors": {}, "posted": None, "rating": {}, "done": None}
    context = defaults | context
    return citizen_page(
        unit,
        citizen,
        "services/dossier.html",
        section=SECTION,
        status=status,
        dossier=dossier,
        app=dossier.application,
        name=procedure_name(dossier.procedure),
        fields=field_views(dossier, context.pop("posted")),
        papers=paper_views(dossier),
        note=agency_note(dossier),
        result_label=type_label(dossier.result.type) if dossier.result else "",
        **context,
    )


class ServicesPages(Controller):
    path = "/services"

    @get("")
    async def services(self, citizen: Principal, unit: UnitOfWork, done: str | None = None) -> Template:
        catalog = unit.container.forms.catalog

        def read() -> list[dict[str, Any]]:
            items, _next = service(unit).page(citizen.subject_id, status=None, limit=100, cursor=None)
            return [{"item": item, "name": procedure_name(catalog.get(item.procedure_code))} for item in items]

        dossiers = await in_thread(read)
        procedures = [{"procedure": p, "name": procedure_name(p)} for p in catalog.all()]
        return citizen_page(
            unit,
            citizen,
            "services/list.html",
            section=SECTION,
            procedures=procedures,
            dossiers=dossiers,
            done=done,
        )

    @get("/{code:str}")
    async def procedure(self, citizen: Principal, unit: UnitOfWork, code: str) -> Template:
        return await _procedure_page(unit, citizen, code)

    @post("/{code:str}/start")
    async def start(self, citizen: Principal, unit: UnitOfWork, code: str) -> Response[Any]:
        data = ApplicationCreate(procedure_code=code[:64] or "-")
        try:
            created = await in_thread(lambda: service(unit).create(citizen.subject_id, data))
        except TooManyDrafts:
            limit = unit.container.forms.max_drafts
            message = _("You already have {count} drafts, the most you may keep: submit or delete one first")
            return await _procedure_page(unit, citizen, code, status=409, errors={"start": message.format(count=limit)})
        return see_other(f"/applications/{created.id}")


async def _procedure_page(
    unit: UnitOfWork, citizen: Principal, code: str, *, status: int = 200, errors: Mapping[str, str] | None = None
) -> Template:
    def read() -> tuple[Procedure, list[DocumentPublic], list[Any]]:
        procedure = unit.container.forms.catalog.get(code)
        wallet = WalletService(unit.session, unit.container.wallet)
        papers = [p for p in wallet.of_types(citizen.subject_id, wanted_types(procedure)) if p.status != "revoked"]
        drafts, _next = service(unit).page(citizen.subject_id, status="draft", limit=100, cursor=None)
        return procedure, papers, [d for d in drafts if d.procedure_code == code]

    procedure, papers, drafts = await in_thread(read)
    held = {p.type for p in papers}
    rows = [
        {"type": t, "label": type_label(t), "required": t in procedure.required_documents, "held": t in held}
        for t in wanted_types(procedure)
    ]
    fillable = sum(f.source is not None and f.source.type in held for f in procedure.fields)
    return citizen_page(
        unit,
        citizen,
        "services/procedure.html",
        section=SECTION,
        status=status,
        procedure=procedure,
        name=procedure_name(procedure),
        papers=rows,
        fillable=fillable,
        drafts=drafts,
        errors=dict(errors or {}),
    )


class DossierPages(Controller):
    path = "/applications"

    @get("/{application_id:str}")
    async def dossier(
        self, citizen: Principal, unit: UnitOfWork, application_id: str, done: str | None = None
    ) -> Template:
        dossier = await in_thread(lambda: load(unit, citizen, application_id))
        return _dossier_page(unit, citizen, dossier, done=done)

    @post("/{application_id:str}")
    async def save(
        self, request: Request[Any, Any, State], citizen: Principal, unit: UnitOfWork, application_id: str
    ) -> Response[Any]:
        """`Lưu` (the PATCH) or `Nộp hồ sơ` (the PATCH, then the submission): typed values are kept either way."""
        form = await request.form()
        dossier = await in_thread(lambda: load(unit, citizen, application_id))
        if not dossier.editable:
            return see_other(f"/applications/{application_id}")
        values, typed, unreadable = read_form(dossier, form)
        if unreadable:
            errors = {name: _(UNREADABLE[kind]) for name, kind in unreadable.items()}
            return _dossier_page(unit, citizen, dossier, status=422, errors=errors, posted=typed)
        update = ApplicationUpdate(fields=values, documents=chosen_papers(dossier, form))
        forms = service(unit)
        submit = form_value(form, "action") == "submit"

        def work() -> None:
            attempt(unit, lambda: forms.update(citizen.subject_id, application_id, update))
            if submit:
                attempt(unit, lambda: forms.submit(citizen, application_id))

        try:
            await in_thread(work)
        except (ApplicationInvalid, FieldReadOnly, ApplicationIncomplete) as exc:
            again = await in_thread(lambda: load(unit, citizen, application_id))
            posted = typed if not isinstance(exc, ApplicationIncomplete) else None
            messages = problem_messages(again, exc)
            return _dossier_page(unit, citizen, again, status=422, errors=messages, posted=posted)
        except (ApplicationNotEditable, AlreadySubmitted):
            return see_other(f"/applications/{application_id}")
        return see_other(f"/applications/{application_id}?done={'submitted' if submit else 'saved'}")

    @post("/{application_id:str}/rating")
    async def rate(
        self, request: Request[Any, Any, State], citizen: Principal, unit: UnitOfWork, application_id: str
    ) -> Response[Any]:
        form = await request.form()
        score, comment = form_value(form, "score"), form_value(form, "comment")
        errors: dict[str, str] = {}
        try:
            data = RatingCreate(score=int(score) if score.isdigit() else 0, comment=comment or None)
        except ValidationError as exc:
            fields = {str(e["loc"][0]) for e in exc.errors() if e["loc"]}
            if "score" in fields:
                errors["score"] = _("Choose a score from 1 to 5")
            if "comment" in fields:
                errors["comment"] = _("Write at most 1000 characters")
        if not errors:
            try:
                await in_thread(lambda: service(unit).rate(citizen.subject_id, application_id, data))
            except (AlreadyRated, NotSubmitted):
                return see_other(f"/applications/{application_id}")
            return see_other(f"/applications/{application_id}?done=rated")
        dossier = await in_thread(lambda: load(unit, citizen, application_id))
        rating = {"score": score, "comment": comment}
        return _dossier_page(unit, citizen, dossier, status=422, errors=errors, rating=rating)

    @get("/{application_id:str}/delete")
    async def confirm_delete(self, citizen: Principal, unit: UnitOfWork, application_id: str) -> Response[Any]:
        dossier = await in_thread(lambda: load(unit, citizen, application_id))
        if dossier.application.status != "draft":
            return see_other(f"/applications/{application_id}")
        name = procedure_name(dossier.procedure)
        return citizen_page(unit, citizen, "services/delete.html", section=SECTION, app=dossier.application, name=name)

    @post("/{application_id:str}/delete")
    async def delete(self, citizen: Principal, unit: UnitOfWork, application_id: str) -> Response[Any]:
        try:
            await in_thread(lambda: service(unit).delete_draft(citizen.subject_id, application_id))
        except ApplicationNotEditable:
            return see_other(f"/applications/{application_id}")
        return see_other("/services?done=deleted")


ROUTES = [ServicesPages, DossierPages, DossierPaperPages]
