"""The citizen's papers (UI.md: "Papers"): the list, adding a paper with its scans, a paper's page with its files,
source and verification QR, new versions, and deletion. Uploads stream through `api.uploads`, the pipeline of
`POST /documents`, with their CSRF token checked from the form's first part (`web.uploads`)."""

from __future__ import annotations

import base64
import re
from collections.abc import Callable
from typing import Any, TypeVar

import anyio
import segno
from litestar import Controller, Request, Response, get, post
from litestar.datastructures import State
from litestar.exceptions import ClientException, NotFoundException
from litestar.params import Parameter
from litestar.response import Template

from api.deps import container_of
from api.downloads import stream_file
from api.multipart import MalformedMultipart
from api.unit import OWN_WRITES, UnitOfWork
from api.uploads import upload_version
from identity.errors import ValidationFailed
from identity.qr import QrCapacityExceeded, qr_svg
from identity.sessions import Principal
from wallet.catalog import CATALOG, DocumentType, FieldSpec, document_type
from wallet.errors import (
    DocumentInUse,
    DocumentNotFound,
    FieldsInvalid,
    FileNotFound,
    FileTooLarge,
    IssuerSignedReadonly,
    QuotaExceeded,
    UnknownDocumentType,
    UnsupportedFileType,
)
from wallet.holding import HeldPapers
from wallet.schemas import DocumentPublic, VersionPublic
from wallet.service import MIB, WalletService
from web.i18n import current, pick
from web.i18n import gettext as _
from web.messages import N_
from web.pages import citizen_page, see_other
from web.paper_forms import (
    Value,
    controls,
    holder_values,
    shown_fields,
    stored_values,
    typed_values,
    wallet_fields,
)
from web.uploads import UPLOAD_OPT, CsrfGate, csrf_gate, upload_paper

PAGE_SIZE = 100
T = TypeVar("T")
SECTION = "/papers"
FILE_FIELD = "file"


def type_label(code: str) -> str:
    paper = document_type(code)
    return pick(paper.name_vi, paper.name_en)


def _notices() -> dict[str, str]:
    return {
        "added": _("The paper is saved in your wallet."),
        "updated": _("The new version is saved."),
        "deleted": _("The paper and its scans are deleted."),
    }


class PapersPages(Controller):
    path = SECTION

    @get("")
    async def papers(self, citizen: Principal, unit: UnitOfWork, done: str | None = None) -> Template:
        wallet = WalletService(unit.session, unit.container.wallet)

        def read() -> tuple[list[DocumentPublic], int]:
            items, _next = wallet.page(citizen.subject_id, type_code=None, limit=PAGE_SIZE, cursor=None)
            return items, HeldPapers(unit.session, unit.container.wallet).count(citizen.subject_id)

        papers, held = await anyio.to_thread.run_sync(read)
        rows: list[dict[str, Any]] = [{"paper": p, "label": type_label(p.type)} for p in papers]
        flash = _notices().get(done or "")
        return citizen_page(unit, citizen, "papers/list.html", section=SECTION, rows=rows, held=held, flash=flash)

    @get("/add")
    async def choose_type(
        self, citizen: Principal, unit: UnitOfWork, type_code: str | None = Parameter(query="type", default=None)
    ) -> Response[Any]:
        if type_code in CATALOG:
            return see_other(f"{SECTION}/add/{type_code}")
        errors = {} if type_code is None else {"type": _("Choose the type of paper")}
        types = [(code, pick(paper.name_vi, paper.name_en)) for code, paper in CATALOG.items()]
        status = 422 if errors else 200
        return citizen_page(
            unit, citizen, "papers/choose.html", section=SECTION, status=status, types=types, errors=errors
        )

    @get("/add/{type_code:str}")
    async def add_form(
        self, request: Request[Any, Any, State], citizen: Principal, unit: UnitOfWork, type_code: str
    ) -> Template:
        paper = _paper_type(type_code)
        values: dict[str, Value] = {}
        if paper.code == "cccd":
            holder = await anyio.to_thread.run_sync(container_of(request.app.state).holder_of, citizen.subject_id)
            values = holder_values(holder)
        return _paper_form(unit, citizen, paper, values)

    @post("/add/{type_code:str}", opt={**UPLOAD_OPT, **OWN_WRITES}, request_max_body_size=None)
    async def add(
        self, request: Request[Any, Any, State], citizen: Principal, unit: UnitOfWork, type_code: str
    ) -> Response[Any]:
        paper = _paper_type(type_code)
        gate = csrf_gate(request)
        try:
            document = await upload_paper(request, citizen.subject_id, paper, gate)
        except (FieldsInvalid, UnsupportedFileType, FileTooLarge, QuotaExceeded, ValidationFailed) as refused:
            return _refused(unit, citizen, paper, gate, refused)
        return see_other(f"{SECTION}/{document.id}?done=added")

    @get("/{document_id:str}")
    async def show(
        self,
        citizen: Principal,
        unit: UnitOfWork,
        document_id: str,
        done: str | None = None,
    ) -> Template:
        def read(svc: WalletService) -> tuple[DocumentPublic, list[VersionPublic]]:
            return svc.get(citizen.subject_id, document_id), svc.versions(citizen.subject_id, document_id)

        document, versions = await _wallet(unit, read)
        paper = document_type(document.type)
        verification_qr = _qr_image(document.verification.url) if document.verification else None
        return citizen_page(
            unit,
            citizen,
            "papers/show.html",
            section=SECTION,
            document=document,
            label=type_label(document.type),
            fields=shown_fields(paper, document.fields),
            versions=sorted(versions, key=lambda v: v.version, reverse=True),
            verification_qr=verification_qr,
            flash=_notices().get(done or ""),
        )

    @get("/{document_id:str}/files/{file_id:str}")
    async def open_file(self, citizen: Principal, unit: UnitOfWork, document_id: str, file_id: str) -> Response[Any]:
        plan = await _wallet(unit, lambda svc: svc.download(citizen.subject_id, document_id, file_id))
        return await stream_file(plan, inline=True)  # the pages' headers add `Cache-Control: no-store`

    @get("/{document_id:str}/update")
    async def update_form(self, citizen: Principal, unit: UnitOfWork, document_id: str) -> Template:
        document = await _wallet(unit, lambda svc: svc.get(citizen.subject_id, document_id))
        if document.provenance == "issuer_signed":
            return _readonly(unit, citizen, document)
        paper = document_type(document.type)
        return _paper_form(unit, citizen, paper, stored_values(paper, document.fields), document=document)

    @post("/{document_id:str}/update", opt={**UPLOAD_OPT, **OWN_WRITES}, request_max_body_size=None)
    async def update(
        self, request: Request[Any, Any, State], citizen: Principal, unit: UnitOfWork, document_id: str
    ) -> Response[Any]:
        document = await _wallet(unit, lambda svc: svc.get(citizen.subject_id, document_id))
        if document.provenance == "issuer_signed":  # refused before the body is read: nothing would be kept
            return _readonly(unit, citizen, document)
        paper = document_type(document.type)
        gate = csrf_gate(request)
        try:
            await upload_version(
                request,
                citizen.subject_id,
                document_id,
                fields_of=lambda form: wallet_fields(paper, form),
                gate=gate,
                skip_empty_files=True,
            )
        except IssuerSignedReadonly:
            return _readonly(unit, citizen, document)
        except DocumentNotFound as gone:
            raise NotFoundException() from gone
        except (FieldsInvalid, UnsupportedFileType, FileTooLarge, QuotaExceeded, ValidationFailed) as refused:
            return _refused(unit, citizen, paper, gate, refused, document=document)
        return see_other(f"{SECTION}/{document_id}?done=updated")

    @get("/{document_id:str}/delete")
    async def confirm_delete(self, citizen: Principal, unit: UnitOfWork, document_id: str) -> Template:
        document = await _wallet(unit, lambda svc: svc.get(citizen.subject_id, document_id))
        return _delete_page(unit, citizen, document)

    @post("/{document_id:str}/delete")
    async def delete(self, citizen: Principal, unit: UnitOfWork, document_id: str) -> Response[Any]:
        try:
            blob_keys = await _wallet(unit, lambda svc: svc.delete(citizen.subject_id, document_id))
        except DocumentInUse as in_use:
            document = await _wallet(unit, lambda svc: svc.get(citizen.subject_id, document_id))
            return _delete_page(unit, citizen, document, held_by=in_use.held_by)
        # After the commit, as the API does; the janitor catches a miss.
        unit.after_commit(lambda: unit.container.delete_blobs(blob_keys))
        return see_other(f"{SECTION}?done=deleted")


async def _wallet(unit: UnitOfWork, work: Callable[[WalletService], T]) -> T:
    """Work on the citizen's wallet; a paper or file that is not theirs (or not there) is the page not found."""
    try:
        return await unit.run(lambda: work(WalletService(unit.session, unit.container.wallet)))
    except (DocumentNotFound, FileNotFound) as gone:
        raise NotFoundException() from gone


def _paper_type(code: str) -> DocumentType:
    try:
        return document_type(code)
    except UnknownDocumentType as unknown:
        raise NotFoundException() from unknown


def _paper_form(
    unit: UnitOfWork,
    citizen: Principal,
    paper: DocumentType,
    values: dict[str, Value],
    *,
    document: DocumentPublic | None = None,
    errors: dict[str, str] | None = None,
    again: bool = False,
) -> Template:
    """The type's form (to add a paper, or its next version when `document` is given)."""
    return citizen_page(
        unit,
        citizen,
        "papers/form.html",
        section=SECTION,
        status=422 if errors else 200,
        label=pick(paper.name_vi, paper.name_en),
        controls=controls(paper, values),
        document=document,
        errors=errors or {},
        file_again=again,
        max_mb=unit.container.wallet.config.max_file_bytes // MIB,
    )


def _refused(
    unit: UnitOfWork,
    citizen: Principal,
    paper: DocumentType,
    gate: CsrfGate,
    refused: Exception,
    *,
    document: DocumentPublic | None = None,
) -> Template:
    """The form again with what was typed and why it was refused; the file field asks for the file again."""
    if not gate.passed or isinstance(refused, MalformedMultipart):
        # Not a form of these pages: nothing to show again (the error page says the request was wrong).
        raise ClientException() from refused
    if isinstance(refused, FieldsInvalid):
        errors = field_errors(paper, refused.errors)
    else:
        errors = {FILE_FIELD: _file_message(unit, refused)}
    values = typed_values(paper, gate.form)
    return _paper_form(unit, citizen, paper, values, document=document, errors=errors, again=True)


def _file_message(unit: UnitOfWork, refused: Exception) -> str:
    config = unit.container.wallet.config
    if isinstance(refused, UnsupportedFileType):
        return _("The file must be a photo or a scan: PDF, JPEG, PNG, WebP or HEIC")
    if isinstance(refused, FileTooLarge):
        return _("The file must be smaller than {size} MB").format(size=config.max_file_bytes // MIB)
    if isinstance(refused, QuotaExceeded):
        return _("Your wallet is full. Delete papers you no longer need, then try again.")
    return _("Choose at most {count} files").format(count=config.max_files)


def field_errors(paper: DocumentType, problems: dict[str, list[str]]) -> dict[str, str]:
    """The wallet's problems with the fields (developer English) as people read them, one per field, in the form's
    order; a problem with no field of its own (the paper changed meanwhile) stands by the first field."""
    specs = {spec.name: spec for spec in paper.fields}
    said: dict[str, str] = {}
    for name, found in problems.items():
        spec = specs.get(name)
        target = name if spec is not None else paper.fields[0].name
        said.setdefault(target, _field_message(paper, spec, found[0] if found else ""))
    return {spec.name: said[spec.name] for spec in paper.fields if spec.name in said}


def _label_in_sentence(spec: FieldSpec) -> str:
    """Vietnamese runs the label into the sentence ("Nhập cơ quan cấp"); English quotes it ("Enter “Issued by”")."""
    if current() == "en":
        return spec.label_en
    return spec.label_vi[:1].lower() + spec.label_vi[1:]


_SAME_MESSAGE = {
    "must be exactly 12 digits": N_("Enter exactly 12 digits"),
    "the century/sex digit must be 0 to 5": N_("This is not a valid ID card number"),
    "the century digit does not match the date of birth": N_("The ID card number does not match the date of birth"),
    "the birth-year digits do not match the date of birth": N_("The ID card number does not match the date of birth"),
    "the sex digit does not match the declared sex": N_("The ID card number does not match the sex"),
    "must be your own national ID number": N_("Enter your own ID card number"),
    "must be one uppercase letter followed by 7 digits": N_("Enter a capital letter and 7 digits, like C1234567"),
    "must be 2 uppercase letters followed by 13 digits": N_(
        "Enter 2 capital letters and 13 digits, like DN4790123456789"
    ),
    "must not contain control characters": N_("Remove the special characters"),
    "must be an integer": N_("Enter a whole number, like 2015"),
    "must be a date (YYYY-MM-DD)": N_("Enter a real date, for example 02/03/1995"),
    "is not a real date": N_("Enter a real date, for example 02/03/1995"),
    "must differ from husband_national_id": N_("The wife's ID number must differ from the husband's"),
    "is required unless every class is A1 or A": N_("Enter the date of expiry: only class A1 and A licences have none"),
    "the document changed meanwhile; reload and retry": N_("The paper changed meanwhile. Check it and save again."),
}


def _field_message(paper: DocumentType, spec: FieldSpec | None, problem: str) -> str:  # noqa: PLR0911 - one per kind
    if problem in _SAME_MESSAGE:
        return _(_SAME_MESSAGE[problem])
    if spec is None:
        return _("Check this answer")
    field = _label_in_sentence(spec)
    if problem in ("is required", "must not be empty"):
        if spec.kind == "list":
            return _("Choose at least one: {field}").format(field=field)
        return (_("Choose “{field}”") if spec.kind == "enum" else _("Enter “{field}”")).format(field=field)
    if problem.startswith("unknown province code"):
        return _("This is not a valid ID card number: check its first 3 digits")
    if match := re.fullmatch(r"must not be before (\w+)", problem):
        earlier = next((s for s in paper.fields if s.name == match.group(1)), None)
        other = _label_in_sentence(earlier) if earlier else match.group(1)
        return _("This date cannot be before “{field}”").format(field=other)
    if match := re.fullmatch(r"must be at most (\d+) characters", problem):
        return _("Use at most {count} characters").format(count=match.group(1))
    if match := re.fullmatch(r"must be between (\d+) and (\d+)", problem):
        return _("Enter a number between {low} and {high}").format(low=match.group(1), high=match.group(2))
    if spec.kind in ("enum", "list"):
        return _("Choose one of the options")
    return _("Check this answer")


def _readonly(unit: UnitOfWork, citizen: Principal, document: DocumentPublic) -> Template:
    """An issuer's signed paper is read-only: only the issuing agency can correct it."""
    agency = document.issuer.name if document.issuer else ""
    return citizen_page(
        unit,
        citizen,
        "papers/readonly.html",
        section=SECTION,
        status=409,
        document=document,
        label=type_label(document.type),
        agency=agency,
    )


def _delete_page(
    unit: UnitOfWork, citizen: Principal, document: DocumentPublic, *, held_by: list[str] | None = None
) -> Template:
    return citizen_page(
        unit,
        citizen,
        "papers/delete.html",
        section=SECTION,
        status=409 if held_by else 200,
        document=document,
        label=type_label(document.type),
        held_by=held_by or [],
    )


def _qr_image(url: str) -> str:
    """The verification address as a QR image (a data: URI: the CSP allows those images, never inline script)."""
    try:
        svg = qr_svg(url)
    except QrCapacityExceeded:  # a long address: a larger code is still readable on a printed page
        return str(segno.make(url, error="m", micro=False).svg_data_uri(scale=4))
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode()).decode("ascii")


ROUTES = [PapersPages]
