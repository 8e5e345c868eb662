"""Papers at the counter (issue 12, "Papers at the counter"): from a valid QR scan the officer chooses one of the
agency's procedures, which files a consent request for exactly its papers bound to the scan; the request's page waits
(htmx polling, or `Tải lại` without JavaScript) until the citizen approves on the phone, then shows the papers (each
read in the citizen's access log, naming the officer) and files the dossier at the counter. Also the agency's
requests filed at its counter, newest first. The services are those of the API (`consent`, `assurance.counter_desk`)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.datastructures import State
from litestar.response import Template

from api.downloads import stream_file
from api.unit import UnitOfWork
from assurance.counter_desk import CounterSheet, counter_papers
from consent.errors import ConsentInvalid
from consent.pulls import ConsentPulls
from forms.catalog import Procedure
from forms.errors import ApplicationIncomplete, ApplicationInvalid, FieldReadOnly, FormsError
from identity.sessions import Principal
from wallet.catalog import document_type
from web.controllers.services import UNREADABLE, field_problem
from web.controllers.services_dossier import Dossier, control_value, procedure_name, read_form, type_label
from web.i18n import gettext as _
from web.i18n import pick
from web.messages import N_
from web.officer.controllers.requests_work import Board, board, desk, in_thread, requests_of
from web.officer.pages import staff_page
from web.pages import form_value, is_htmx, page, see_other
from web.paper_forms import shown_value

SECTION = "/officer/requests"
STATUS = {
    "pending": N_("Waiting for the citizen's approval"),
    "approved": N_("Approved"),
    "denied": N_("Denied"),
    "expired": N_("Expired"),
}
TAGS = {"pending": "tag--warn", "approved": "tag--ok", "denied": "tag--bad", "expired": "tag--bad"}
RADIO_LIMIT = 6
_CODE = re.compile(r"^[A-Z0-9-]{1,40}$")


def status_word(status: str) -> str:
    return _(STATUS.get(status, status))


# -- what the pages show --------------------------------------------------------------------------------------------
def paper_names(procedure: Procedure) -> str:
    """The papers a procedure's request asks for, in words (the hint under each choice of procedure)."""
    types, fields = counter_papers(procedure)
    return ", ".join(
        type_label(code) + (" " + _("(some details only)") if fields and code in fields else "") for code in types
    )


def shared_papers(sheet: CounterSheet, request_id: str) -> list[dict[str, Any]]:
    """Each shared paper: its name, its fields as labelled in the wallet's catalog (choices by label), its scans."""
    rows = []
    for paper in sheet.papers:
        kind = document_type(paper.type)
        fields = [
            (pick(spec.label_vi, spec.label_en), shown_value(spec, paper.fields.get(spec.name)))
            for spec in kind.fields
            if spec.name in paper.fields
        ]
        base = f"{SECTION}/{request_id}/papers/{paper.id}/files"
        files = [
            {"file": f, "href": f"{base}/{f.id}", "image": f.content_type in ("image/png", "image/jpeg", "image/webp")}
            for f in paper.files
        ]
        rows.append({"paper": paper, "label": type_label(paper.type), "fields": fields, "files": files})
    return rows


def source_hint(sheet: CounterSheet, name: str) -> str | None:
    provenance = sheet.dossier.provenance.get(name)
    if provenance is None:
        return None
    paper = type_label(provenance.type)
    if provenance.provenance == "issuer_signed":
        return _("From the citizen's {paper}, issued by an agency: certified, it cannot be changed.").format(
            paper=paper
        )
    return _("From the citizen's {paper}, uploaded by the citizen.").format(paper=paper)


def field_views(sheet: CounterSheet, posted: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
    """The dossier's fields for the form macros, as the citizen's dossier form has them, worded for the officer."""
    dossier, views = sheet.dossier, []
    for field in sheet.procedure.fields:
        missing = field.name in dossier.missing_fields
        hints = [source_hint(sheet, field.name)]
        if missing:
            hints.append(_("Missing: the shared papers do not hold this.") if field.source else _("Ask the citizen."))
        if field.type == "date" and field.name not in dossier.read_only:
            hints.append(_("For example 02/03/1995 (dd/mm/yyyy)"))
        options = [(code, pick(vi, en)) for code, vi, en in field.choice_labels]
        value = dossier.fields.get(field.name)
        views.append(
            {
                "name": field.name,
                "label": pick(field.label, field.label_en),
                "kind": field.type,
                "optional": not field.required,
                "value": posted[field.name] if posted and field.name in posted else control_value(field, value),
                "text": shown_value(field.spec(), value),
                "options": options,
                "radios": len(options) <= RADIO_LIMIT,
                "read_only": field.name in dossier.read_only,
                "missing": missing,
                "hint": " ".join(hint for hint in hints if hint) or None,
                "max_length": field.max_length if field.type == "string" else None,
            }
        )
    return views


def problems(sheet: CounterSheet, error: FormsError) -> dict[str, str]:
    """The domain's refusal, one message per field in the form's order."""
    procedure, said = sheet.procedure, {}
    if isinstance(error, FieldReadOnly):
        said = {name: _("This comes from a paper an agency issued and cannot be changed") for name in error.errors}
    elif isinstance(error, ApplicationIncomplete | ApplicationInvalid):
        for key, found in error.errors.items():
            if key.startswith("documents."):
                paper = type_label(key.removeprefix("documents."))
                said["papers"] = _("The citizen shared no {paper}: the dossier needs one").format(paper=paper)
            elif (field := procedure.field(key)) is not None:
                said[key] = field_problem(field, found[0] if found else "")
    order = [f.name for f in procedure.fields] + ["papers"]
    return {key: said[key] for key in order if key in said}


def _state(found: Board, *, filed: dict[str, str] | None = None, **context: Any) -> dict[str, Any]:
    request, sheet = found.request, found.sheet
    defaults: dict[str, Any] = {"errors": {}, "posted": None}
    context = defaults | context
    return {
        "req": request,
        "status_text": status_word(request.status),
        "tag": TAGS.get(request.status, "tag--warn"),
        "procedure_name": procedure_name(found.procedure) if found.procedure else request.purpose,
        "sheet": sheet,
        "unreadable": found.unreadable,
        "papers": shared_papers(sheet, request.id) if sheet else [],
        "fields": field_views(sheet, context.pop("posted")) if sheet else [],
        "missing_papers": [type_label(t) for t in sheet.dossier.missing_documents] if sheet else [],
        "filed": filed,
        **context,
    }


def _request_page(unit: UnitOfWork, officer: Principal, found: Board, *, status: int = 200, **context: Any) -> Template:
    return staff_page(
        unit, officer, "officer/requests/show.html", section=SECTION, status=status, **_state(found, **context)
    )


def _filed(query: Mapping[str, str | None]) -> dict[str, str] | None:
    dossier, code = query.get("filed") or "", query.get("code") or ""
    if not dossier or not _CODE.fullmatch(code) or len(dossier) > 40:
        return None
    return {"id": dossier, "code": code}


# -- the pages -------------------------------------------------------------------------------------------------------
class RequestPages(Controller):
    path = "/requests"  # under the staff router's /officer

    @get("")
    async def requests(self, officer: Principal, unit: UnitOfWork, cursor: str | None = None) -> Template:
        def read() -> tuple[list[dict[str, Any]], str | None]:
            agency, counter = requests_of(unit, officer), desk(unit, officer)
            items, next_cursor = agency.page(limit=20, cursor=(cursor or "")[:64] or None)
            rows = []
            for item in items:
                procedure = counter.procedure_of_purpose(item.purpose)
                name = procedure_name(procedure) if procedure else item.purpose
                rows.append(
                    {"req": item, "name": name, "status_text": status_word(item.status), "tag": TAGS[item.status]}
                )
            return rows, next_cursor

        rows, next_cursor = await in_thread(read)  # the route policy admits only agencies asking for papers
        next_page = f"{SECTION}?cursor={next_cursor}" if next_cursor else None
        return staff_page(
            unit,
            officer,
            "officer/requests/list.html",
            section=SECTION,
            rows=rows,
            next_page=next_page,
            first_page=SECTION if cursor else None,
        )

    @get("/new")
    async def new(self, officer: Principal, unit: UnitOfWork, presence: str = "") -> Template:
        procedures = await in_thread(lambda: desk(unit, officer).procedures())
        return self._new_page(unit, officer, procedures, presence[:64], chosen="")

    @post("/new")
    async def ask(self, request: Request[Any, Any, State], officer: Principal, unit: UnitOfWork) -> Response[Any]:
        form = await request.form()
        presence, chosen = form_value(form, "presence")[:64], form_value(form, "procedure")
        counter = desk(unit, officer)
        procedures = await in_thread(counter.procedures)
        errors: dict[str, str] = {}
        if chosen not in {p.code for p in procedures}:
            errors["procedure"] = _("Choose a procedure")
        elif not presence:
            errors["presence"] = _("Scan the citizen's QR code first")
        else:
            try:
                created = await in_thread(lambda: counter.ask(presence, chosen))
                return see_other(f"{SECTION}/{created.id}")
            except ConsentInvalid as refused:
                if "presence_id" in refused.errors:
                    errors["presence"] = _("The QR scan is no longer valid: scan the citizen's QR code again")
                elif "purpose" in refused.errors:
                    errors["procedure"] = _("A request for this procedure is already waiting for this citizen")
                else:
                    errors["procedure"] = _("This request cannot be sent")
        return self._new_page(unit, officer, procedures, presence, chosen=chosen, errors=errors, status=422)

    def _new_page(
        self,
        unit: UnitOfWork,
        officer: Principal,
        procedures: list[Procedure],
        presence: str,
        *,
        chosen: str,
        errors: dict[str, str] | None = None,
        status: int = 200,
    ) -> Template:
        options = [(p.code, procedure_name(p)) for p in procedures]
        hints = [(procedure_name(p), paper_names(p)) for p in procedures]
        return staff_page(
            unit,
            officer,
            "officer/requests/new.html",
            section=SECTION,
            status=status,
            presence=presence,
            options=options,
            hints=hints,
            chosen=chosen,
            errors=errors or {},
        )

    @get("/{request_id:str}")
    async def show(
        self, request: Request[Any, Any, State], officer: Principal, unit: UnitOfWork, request_id: str
    ) -> Template:
        filed = _filed(request.query_params)
        found = await in_thread(lambda: board(unit, officer, request_id, papers=filed is None))
        return _request_page(unit, officer, found, filed=filed)

    @get("/{request_id:str}/state")
    async def state(
        self, request: Request[Any, Any, State], officer: Principal, unit: UnitOfWork, request_id: str
    ) -> Response[Any]:
        """The request's state for the waiting page's polling: the same again while pending, then the papers."""
        if not is_htmx(request):
            return see_other(f"{SECTION}/{request_id}")
        found = await in_thread(lambda: board(unit, officer, request_id, papers=True))
        return page("officer/requests/_state.html", staff=True, **_state(found))

    @get("/{request_id:str}/papers/{document_id:str}/files/{file_id:str}")
    async def open_file(
        self, officer: Principal, unit: UnitOfWork, request_id: str, document_id: str, file_id: str
    ) -> Response[Any]:
        """A scan, read under the consent like the API's pull (so in the citizen's access log, naming the officer)."""

        def plan() -> Any:
            consent_id = requests_of(unit, officer).get(request_id).consent_id or "-"
            return ConsentPulls(unit.session, unit.container.consent).file(officer, consent_id, document_id, file_id)

        return await stream_file(await in_thread(plan), inline=True)

    @post("/{request_id:str}/dossier")
    async def file_dossier(
        self, request: Request[Any, Any, State], officer: Principal, unit: UnitOfWork, request_id: str
    ) -> Response[Any]:
        """`Nộp hồ sơ tại quầy`: the dossier filed and submitted for the citizen from the consented papers."""
        form = await request.form()
        found = await in_thread(lambda: board(unit, officer, request_id, papers=True))
        sheet = found.sheet
        if sheet is None:
            return see_other(f"{SECTION}/{request_id}")
        values, typed, unreadable = read_form(Dossier(sheet.dossier, sheet.procedure, [], None), form)
        if unreadable:
            errors = {name: _(UNREADABLE[kind]) for name, kind in unreadable.items()}
            return _request_page(unit, officer, found, status=422, errors=errors, posted=typed)
        try:
            filed = await in_thread(lambda: desk(unit, officer).file(sheet, values))
        except (ApplicationIncomplete, ApplicationInvalid, FieldReadOnly) as refused:
            errors = problems(sheet, refused)
            return _request_page(unit, officer, found, status=422, errors=errors, posted=typed)
        return see_other(f"{SECTION}/{request_id}?filed={filed.id}&code={filed.dossier_code}")


ROUTES = [RequestPages]
