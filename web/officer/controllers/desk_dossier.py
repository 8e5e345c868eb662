"""A dossier at the desk: its values as submitted with where each came from, its papers (their fields and scans read
as `GET /api/v1/agency/applications/{id}/documents/...` reads them), its history and due date (`AgencyDesk`; every
read is in the citizen's access log, naming the officer), and the moves `Đang xử lý`, `Yêu cầu bổ sung` and `Từ chối`,
each behind a confirmation page with its note (`AgencyDesk.move`, as `POST .../status`). No words here: the templates
say them (this area's catalog is `officer_desk.po`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import anyio
from litestar import Controller, Request, Response, get, post
from litestar.datastructures import State
from litestar.exceptions import NotFoundException
from litestar.response import Template
from pydantic import ValidationError

from api.downloads import stream_file
from api.unit import WRITES, UnitOfWork
from forms.agency import MOVES, RESULT_FROM, AgencyDesk
from forms.desk import masked_applicants
from forms.errors import ApplicationInvalid, ApplicationNotFound, InvalidTransition
from forms.schemas import FieldProvenance, StatusChange, SubmittedDossier
from identity.sessions import Principal
from wallet.catalog import document_type
from web.i18n import pick
from web.officer.controllers.desk_common import SECTION, at_desk, paper_label
from web.officer.pages import staff_page
from web.pages import form_value, see_other
from web.paper_forms import shown_fields, shown_value

ACTIONS = ("processing", "needs_info", "rejected")  # the moves with a confirmation page; completed is the result's


@dataclass(frozen=True)
class Value:
    label: str
    text: str
    source: FieldProvenance | None  # None: typed by the citizen
    source_label: str


@dataclass(frozen=True)
class Opened:
    dossier: SubmittedDossier
    values: list[Value]
    applicant: str
    procedure: str
    overdue: bool


def _open(desk: AgencyDesk, application_id: str) -> Opened:
    dossier, provenance = desk.read_with_provenance(application_id)
    application = desk.load(application_id)
    procedure = desk.deps.catalog.get(dossier.procedure_code)
    values = []
    for field in procedure.fields:
        source = provenance.get(field.name)
        values.append(
            Value(
                pick(field.label, field.label_en),
                shown_value(field.spec(), dossier.fields.get(field.name)),
                source,
                paper_label(source.type) if source else "",
            )
        )
    applicant = masked_applicants(desk.session, desk.deps, [application.citizen_id]).get(application.citizen_id, "—")
    name = pick(procedure.name, procedure.name_en)
    return Opened(dossier, values, applicant, name, desk.is_overdue(application))


class DeskDossierPages(Controller):
    path = "/dossiers/{application_id:str}"
    opt = WRITES  # the agency's reads append to the citizen's access log

    @get("")
    async def dossier(
        self,
        officer: Principal,
        unit: UnitOfWork,
        application_id: str,
        done: str = "",
    ) -> Template:
        opened = await at_desk(unit, officer, lambda desk: _open(desk, application_id))
        status = opened.dossier.status
        return staff_page(
            unit,
            officer,
            "officer/desk/dossier.html",
            section=SECTION,
            opened=opened,
            app=opened.dossier,
            actions=[a for a in ACTIONS if a in MOVES.get(status, frozenset())],
            can_issue=status in RESULT_FROM,
            paper_label=paper_label,
            done=done,
        )

    @get("/papers/{document_id:str}")
    async def paper(
        self,
        officer: Principal,
        unit: UnitOfWork,
        application_id: str,
        document_id: str,
    ) -> Template:
        kind, version = await at_desk(unit, officer, lambda desk: desk.document_with_type(application_id, document_id))
        paper = document_type(kind)
        return staff_page(
            unit,
            officer,
            "officer/desk/paper.html",
            section=SECTION,
            app_id=application_id,
            paper_id=document_id,
            paper=version,
            label=pick(paper.name_vi, paper.name_en),
            fields=shown_fields(paper, version.fields),
        )

    @get("/papers/{document_id:str}/files/{file_id:str}")
    async def file(
        self, unit: UnitOfWork, officer: Principal, application_id: str, document_id: str, file_id: str
    ) -> Response[Any]:
        plan = await at_desk(unit, officer, lambda desk: desk.download(application_id, document_id, file_id))
        return await stream_file(plan, inline=True)

    @get("/confirm")
    async def confirm(
        self,
        officer: Principal,
        unit: UnitOfWork,
        application_id: str,
        action: str = "",
    ) -> Response[Any]:
        if action not in ACTIONS:
            raise NotFoundException()
        summary = await at_desk(unit, officer, lambda desk: desk.summary(desk.load(application_id)))
        if action not in MOVES.get(summary.status, frozenset()):
            return see_other(f"{SECTION}/{application_id}?done=stale")
        return _confirm_page(unit, officer, summary, action, "", errors={})

    @post("/move")
    async def move(
        self, officer: Principal, unit: UnitOfWork, application_id: str, request: Request[Any, Any, State]
    ) -> Response[Any]:
        form = await request.form()
        action, note = form_value(form, "action"), form_value(form, "note")
        if action not in ACTIONS:
            raise NotFoundException()
        desk = await anyio.to_thread.run_sync(
            lambda: AgencyDesk(unit.session, unit.container.forms, unit.notifier, officer)
        )
        try:
            change = StatusChange(status=action, note=note or None)
            await anyio.to_thread.run_sync(lambda: desk.move(application_id, change))
        except ApplicationNotFound as exc:
            raise NotFoundException() from exc
        except InvalidTransition:
            return see_other(f"{SECTION}/{application_id}?done=stale")
        except (ApplicationInvalid, ValidationError):  # no note where one is needed, or a note too long
            summary = await anyio.to_thread.run_sync(lambda: desk.summary(desk.load(application_id)))
            return _confirm_page(unit, officer, summary, action, note, errors={"note": "missing"})
        return see_other(f"{SECTION}/{application_id}?done={action}")


def _confirm_page(
    unit: UnitOfWork, officer: Principal, summary: Any, action: str, note: str, *, errors: dict[str, str]
) -> Template:
    procedure = unit.container.forms.catalog.get(summary.procedure_code)
    return staff_page(
        unit,
        officer,
        "officer/desk/confirm.html",
        section=SECTION,
        status=422 if errors else 200,
        app=summary,
        procedure=pick(procedure.name, procedure.name_en),
        action=action,
        note=note,
        errors=errors,
    )
