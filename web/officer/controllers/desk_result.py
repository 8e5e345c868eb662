"""`Trả kết quả` (Issue result): the result paper's fields (the `tthc_result` type of the wallet's catalog, through the
papers' form controls) and an optional scan, confirmed on its own page, issued by `forms.results.issue_result` as
`POST /api/v1/agency/applications/{id}/result` issues it (signed into the citizen's wallet, the dossier completed, the
notices sent after the commit); then the result's verification QR, printable on one page with its dossier code."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

import segno
from litestar import Controller, Request, Response, get, post
from litestar.datastructures import State
from litestar.exceptions import ClientException, NotFoundException
from litestar.response import Template

from api.deps import container_of
from api.multipart import MalformedMultipart, StreamedForm, read_multipart
from api.unit import OWN_WRITES, UnitOfWork
from forms.errors import ApplicationNotFound, InvalidTransition
from forms.results import ResultOrder, issue_result
from forms.schemas import ApplicationSummary, ResultCreate
from identity.notices import VIETNAM
from identity.qr import QrCapacityExceeded, qr_svg
from identity.sessions import Principal
from wallet.catalog import document_type
from wallet.errors import FieldsInvalid, FileTooLarge, UnsupportedFileType
from wallet.issuer_schemas import IssueFile
from wallet.service import MIB
from web.controllers.papers import field_errors
from web.i18n import pick
from web.officer.controllers.desk_common import SECTION, at_desk
from web.officer.pages import staff_page
from web.pages import see_other
from web.paper_forms import Value, controls, typed_values, wallet_fields
from web.uploads import UPLOAD_OPT, csrf_gate

RESULT_TYPE = "tthc_result"
FROM_DOSSIER = "procedure_code"  # the dossier gives it (`forms.results`), never typed
SCAN_FIELD = "scan"


class DeskResultPages(Controller):
    path = "/dossiers/{application_id:str}/result"

    @get("")
    async def result_form(
        self, request: Request[Any, Any, State], officer: Principal, unit: UnitOfWork, application_id: str
    ) -> Response[Any]:
        summary, agency = await at_desk(
            unit, officer, lambda desk: (desk.summary(desk.load(application_id)), desk.caller.name)
        )
        if summary.status not in ("submitted", "processing"):
            return see_other(f"{SECTION}/{application_id}?done=stale")
        values: dict[str, Value] = {"issued_by": agency, "issue_date": datetime.now(VIETNAM).strftime("%d/%m/%Y")}
        return _form_page(request, unit, officer, summary, values, errors={})

    @post("", opt={**UPLOAD_OPT, **OWN_WRITES}, request_max_body_size=None)
    async def issue(
        self, request: Request[Any, Any, State], officer: Principal, unit: UnitOfWork, application_id: str
    ) -> Response[Any]:
        container, paper = container_of(request.app.state), document_type(RESULT_TYPE)
        limit = container.wallet_config.max_file_bytes
        await at_desk(unit, officer, lambda desk: desk.load(application_id))  # another agency's: 404, body unread
        gate = csrf_gate(request)

        async def keep(_name: str, filename: str | None, chunks: AsyncIterator[bytes]) -> tuple[str, bytes] | None:
            data = bytearray()
            async for chunk in chunks:
                data += chunk
                if len(data) > limit:
                    raise FileTooLarge()
            return (filename or "ket-qua", bytes(data)) if data else None  # an empty file input is no file

        try:
            form = await read_multipart(request, keep, max_files=1, gate=gate)
        except FileTooLarge:
            errors = {SCAN_FIELD: "size"}
            return await self._refused(request, unit, officer, application_id, form=gate.form, errors=errors)
        except MalformedMultipart as exc:
            raise ClientException() from exc
        fields = {k: v for k, v in wallet_fields(paper, form).items() if v is not None and k != FROM_DOSSIER}
        scan = next((f for f in form.files if f is not None), None)
        upload = IssueFile(filename=scan[0], content_base64=base64.b64encode(scan[1]).decode()) if scan else None
        order = ResultOrder(officer, application_id, ResultCreate(fields=fields, file=upload))
        try:
            _answer, queued = await issue_result(container.forms, container.notifier, order)
        except ApplicationNotFound as exc:
            raise NotFoundException() from exc
        except InvalidTransition:
            return see_other(f"{SECTION}/{application_id}?done=stale")
        except FieldsInvalid as refused:
            errors = field_errors(paper, {k: list(v) for k, v in refused.errors.items()})
            return await self._refused(request, unit, officer, application_id, form=form, errors=errors)
        except (UnsupportedFileType, FileTooLarge) as refused:
            problem = "type" if isinstance(refused, UnsupportedFileType) else "size"
            errors = {SCAN_FIELD: problem}
            return await self._refused(request, unit, officer, application_id, form=form, errors=errors)
        await container.dispatcher.dispatch(queued)
        return see_other(f"{SECTION}/{application_id}/result/issued")

    async def _refused(
        self,
        request: Request[Any, Any, State],
        unit: UnitOfWork,
        officer: Principal,
        application_id: str,
        *,
        form: StreamedForm | None,
        errors: dict[str, str],
    ) -> Response[Any]:
        summary = await at_desk(unit, officer, lambda desk: desk.summary(desk.load(application_id)))
        values = typed_values(document_type(RESULT_TYPE), form)
        return _form_page(request, unit, officer, summary, values, errors=errors)

    @get("/issued")
    async def issued(self, officer: Principal, unit: UnitOfWork, application_id: str) -> Template:
        summary, verification = await at_desk(
            unit,
            officer,
            lambda desk: (desk.summary(desk.load(application_id)), desk.result_verification(application_id)),
        )
        if verification is None:
            raise NotFoundException()
        procedure = unit.container.forms.catalog.get(summary.procedure_code)
        return staff_page(
            unit,
            officer,
            "officer/desk/issued.html",
            section=SECTION,
            app=summary,
            procedure=pick(procedure.name, procedure.name_en),
            verification=verification,
            qr=qr_image(verification.url),
        )


def _form_page(
    request: Request[Any, Any, State],
    unit: UnitOfWork,
    officer: Principal,
    summary: ApplicationSummary,
    values: dict[str, Value],
    *,
    errors: dict[str, str],
) -> Template:
    """The result's form; `errors` by field (worded), the scan's problem under `scan` ("type" or "size", worded by the
    template: no words here, this area's catalog is `officer_desk.po`)."""
    paper = document_type(RESULT_TYPE)
    procedure = unit.container.forms.catalog.get(summary.procedure_code)
    max_mb = container_of(request.app.state).wallet_config.max_file_bytes // MIB
    return staff_page(
        unit,
        officer,
        "officer/desk/result.html",
        section=SECTION,
        status=422 if errors else 200,
        app=summary,
        procedure=pick(procedure.name, procedure.name_en),
        controls=[c for c in controls(paper, values) if c.spec.name != FROM_DOSSIER],
        errors=errors,
        max_mb=max_mb,
    )


def qr_image(url: str) -> str:
    """The verification address as a QR image (a data: URI, as the papers pages show theirs)."""
    try:
        svg = qr_svg(url)
    except QrCapacityExceeded:  # a long address: a larger code still prints readably
        return str(segno.make(url, error="m", micro=False).svg_data_uri(scale=4))
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode()).decode("ascii")
