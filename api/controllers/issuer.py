"""Agencies issue signed papers into citizens' wallets and revoke them (API.md: "QR identity and verification")."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import anyio
from litestar import Controller, Request, post
from litestar.datastructures import State
from litestar.openapi.spec import OpenAPIMediaType, OpenAPIType, Operation, RequestBody, Schema
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED

from api.auth import BEARER
from api.deps import container_of
from api.unit import UnitOfWork
from identity.sessions import Principal
from wallet.errors import FileTooLarge
from wallet.issuer import IssueRequest, IssuerService, issue
from wallet.issuer_schemas import IssuedDocument, IssueDocumentCreate, RevokedDocument

# Room for the fields and the JSON around a file whose base64 takes 4/3 of its size.
BODY_SLACK = 1024 * 1024
# A body up to this size is parsed on the event loop: a paper's fields take about 5 µs, 16 KiB about 50 µs, less than
# the hop to a worker thread and back (about 140 µs of CPU here) that a body of megabytes needs.
INLINE_PARSE_BYTES = 16 * 1024


ISSUED_FILE_SCHEMA = Schema(
    type=OpenAPIType.OBJECT,
    required=["content_base64"],
    properties={name: Schema(type=OpenAPIType.STRING) for name in ("filename", "content_type", "content_base64")},
    description="one scan: PDF, JPEG, PNG, WebP or HEIC, recognised by content",
)


@dataclass
class IssueDocumentOperation(Operation):
    """The body of POST /issuer/documents: read under a size limit of its own, so Litestar cannot infer it."""

    def __post_init__(self) -> None:
        code = Schema(type=OpenAPIType.STRING, pattern=r"^[A-Za-z0-9][A-Za-z0-9._:/-]{0,63}$")
        schema = Schema(
            type=OpenAPIType.OBJECT,
            required=["national_id", "type", "fields"],
            properties={
                "national_id": Schema(type=OpenAPIType.STRING, pattern="^[0-9]{12}$"),
                "type": Schema(type=OpenAPIType.STRING, description="document type code"),
                "fields": Schema(type=OpenAPIType.OBJECT, description="the paper's fields"),
                "file": ISSUED_FILE_SCHEMA,
                "dossier_code": code,
                "procedure_code": code,
            },
        )
        self.request_body = RequestBody(required=True, content={"application/json": OpenAPIMediaType(schema=schema)})


class IssuerController(Controller):
    path = "/issuer/documents"
    security = BEARER
    tags = ("issuer",)

    @post("", status_code=HTTP_201_CREATED, request_max_body_size=None, operation_class=IssueDocumentOperation)
    async def issue_document(self, request: Request[Any, Any, State], principal: Principal) -> IssuedDocument:
        container = container_of(request.app.state)
        body = await read_limited_body(request)
        if len(body) <= INLINE_PARSE_BYTES:
            parsed = _parse(principal.subject_id, body)
        else:  # parsing and base64-decoding up to tens of megabytes: off the event loop
            parsed = await anyio.to_thread.run_sync(_parse, principal.subject_id, body)
        return await issue(container.wallet, container.issuing, parsed)

    @post("/{document_id:str}/revoke", status_code=HTTP_200_OK)
    async def revoke(self, principal: Principal, unit: UnitOfWork, document_id: str) -> RevokedDocument:
        container = unit.container
        return await unit.run(
            lambda: IssuerService(unit.session, container.wallet, container.issuing).revoke(
                principal.subject_id, document_id
            )
        )


def _parse(agency_code: str, body: bytes) -> IssueRequest:
    return IssueRequest.from_create(agency_code, IssueDocumentCreate.parse(body))


async def read_limited_body(request: Request[Any, Any, State]) -> bytes:
    """A JSON body carrying one base64 scan, refused (413) past what the largest allowed file needs."""
    return await _read_body(request, limit=_body_limit(request))


def _body_limit(request: Request[Any, Any, State]) -> int:
    return container_of(request.app.state).wallet_config.max_file_bytes * 4 // 3 + BODY_SLACK


async def _read_body(request: Request[Any, Any, State], *, limit: int) -> bytes:
    """The whole body, refused (413) as soon as it passes `limit`."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise FileTooLarge()
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise FileTooLarge()
        chunks.append(chunk)
    return b"".join(chunks)
