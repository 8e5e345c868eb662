"""A paper the dossier lacks, added from the dossier's form (as `POST /api/v1/applications/{id}/documents`): the
type's fields and its scans, streamed through the papers' pipeline (`api.uploads`, CSRF checked before any file is
stored: `web.uploads`), kept in the wallet so it is never asked again, then attached to the dossier. No words here
(the template says them, `services.po`); the fields' problems read as on the papers pages."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import anyio
from litestar import Controller, Request, Response, get, post
from litestar.datastructures import State
from litestar.exceptions import ClientException, NotFoundException
from litestar.response import Template

from api.deps import container_of
from api.multipart import MalformedMultipart
from api.unit import UnitOfWork
from forms.errors import ApplicationInvalid, ApplicationNotEditable
from identity.errors import ValidationFailed
from identity.sessions import Principal
from wallet.catalog import DocumentType
from wallet.errors import FieldsInvalid, FileTooLarge, QuotaExceeded, UnsupportedFileType
from wallet.service import MIB
from web.controllers.papers import field_errors
from web.controllers.services_dossier import SECTION, check_upload, in_thread, service, type_label, wanted_paper
from web.pages import citizen_page, see_other
from web.paper_forms import Value, controls, holder_values, typed_values
from web.uploads import UPLOAD_OPT, csrf_gate, upload_paper

REFUSED = (FieldsInvalid, UnsupportedFileType, FileTooLarge, QuotaExceeded, ValidationFailed)


def file_problem(refused: Exception) -> str:
    """Which of the file's problems the page names (the template words it)."""
    if isinstance(refused, UnsupportedFileType):
        return "type"
    if isinstance(refused, FileTooLarge):
        return "size"
    return "quota" if isinstance(refused, QuotaExceeded) else "count"


def upload_page(
    unit: UnitOfWork,
    citizen: Principal,
    application_id: str,
    paper: DocumentType,
    values: Mapping[str, Value],
    **more: Any,
) -> Template:
    """The type's form; `errors` (the fields') or `file_problem` make it a refusal (422)."""
    refused = bool(more.get("errors") or more.get("file_problem"))
    config = unit.container.wallet.config
    return citizen_page(
        unit,
        citizen,
        "services/upload.html",
        section=SECTION,
        status=422 if refused else 200,
        app_id=application_id,
        type_code=paper.code,
        label=type_label(paper.code),
        controls=controls(paper, values),
        errors=more.get("errors") or {},
        file_problem=more.get("file_problem"),
        max_mb=config.max_file_bytes // MIB,
        max_files=config.max_files,
    )


class DossierPaperPages(Controller):
    path = "/applications/{application_id:str}/papers/{type_code:str}"

    @get("")
    async def upload_form(
        self,
        request: Request[Any, Any, State],
        citizen: Principal,
        unit: UnitOfWork,
        application_id: str,
        type_code: str,
    ) -> Response[Any]:
        paper, container = wanted_paper(type_code), container_of(request.app.state)
        try:
            await in_thread(lambda: check_upload(container, citizen.subject_id, application_id, paper.code))
        except ApplicationNotEditable:
            return see_other(f"/applications/{application_id}")
        except ApplicationInvalid as not_wanted:  # a type this procedure takes no paper of
            raise NotFoundException() from not_wanted
        values: dict[str, Value] = {}
        if paper.code == "cccd":  # what the account knows of its own card, as on the papers pages
            values = holder_values(await anyio.to_thread.run_sync(container.holder_of, citizen.subject_id))
        return upload_page(unit, citizen, application_id, paper, values)

    @post("", opt=UPLOAD_OPT, request_max_body_size=None)
    async def upload(
        self,
        request: Request[Any, Any, State],
        citizen: Principal,
        unit: UnitOfWork,
        application_id: str,
        type_code: str,
    ) -> Response[Any]:
        paper, container = wanted_paper(type_code), container_of(request.app.state)
        back = f"/applications/{application_id}"
        try:
            await in_thread(lambda: check_upload(container, citizen.subject_id, application_id, paper.code))
        except (ApplicationNotEditable, ApplicationInvalid):
            return see_other(back)
        gate = csrf_gate(request)
        try:
            document = await upload_paper(request, citizen.subject_id, paper, gate)
        except REFUSED as refused:
            if not gate.passed or isinstance(refused, MalformedMultipart):
                raise ClientException() from refused  # not a form of these pages
            typed = typed_values(paper, gate.form)
            if isinstance(refused, FieldsInvalid):
                errors = field_errors(paper, refused.errors)
                return upload_page(unit, citizen, application_id, paper, typed, errors=errors)
            return upload_page(unit, citizen, application_id, paper, typed, file_problem=file_problem(refused))
        try:
            await in_thread(lambda: service(unit).attach_uploaded(citizen.subject_id, application_id, document))
        except (ApplicationNotEditable, ApplicationInvalid):
            return see_other(back)  # submitted meanwhile: the paper stays in the wallet all the same
        return see_other(f"{back}?done=uploaded")
