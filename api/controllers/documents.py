"""The citizen's wallet (API.md: "The citizen's wallet")."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from litestar import Controller, Request, Response, delete, get, post, put
from litestar.datastructures import State
from litestar.status_codes import HTTP_201_CREATED, HTTP_204_NO_CONTENT

from api.auth import BEARER
from api.downloads import stream_file
from api.multipart import StreamedForm
from api.openapi import MultipartDocumentOperation
from api.pagination import CURSOR, LIMIT, page_cursor
from api.unit import UnitOfWork
from api.uploads import upload_new, upload_version
from identity.sessions import Principal
from wallet.catalog import catalog_public
from wallet.errors import FieldsInvalid
from wallet.schemas import DocumentPage, DocumentPublic, DocumentTypePublic, VersionList
from wallet.service import WalletService

T = TypeVar("T")
UPLOAD_LIMIT_SLACK = 1024 * 1024


class DocumentTypesController(Controller):
    path = "/document-types"
    tags = ("wallet",)

    @get("", security=[])
    async def list_types(self) -> list[DocumentTypePublic]:
        return [DocumentTypePublic.model_validate(t) for t in catalog_public()]


class DocumentsController(Controller):
    path = "/documents"
    security = BEARER
    tags = ("wallet",)

    @post("", status_code=HTTP_201_CREATED, request_max_body_size=None, operation_class=MultipartDocumentOperation)
    async def create(self, request: Request[Any, Any, State], principal: Principal) -> DocumentPublic:
        return await upload_new(
            request, principal.subject_id, type_of=lambda form: _required(form, "type"), fields_of=_fields
        )

    @get("")
    async def list_documents(
        self,
        principal: Principal,
        unit: UnitOfWork,
        type: str | None = None,
        limit: int | None = LIMIT,
        cursor: str | None = CURSOR,
    ) -> DocumentPage:
        items, next_cursor = await _wallet(
            unit, lambda svc: svc.page(principal.subject_id, type_code=type, limit=limit, cursor=page_cursor(cursor))
        )
        return DocumentPage(items=items, next_cursor=next_cursor)

    @get("/{document_id:str}")
    async def get_document(self, principal: Principal, unit: UnitOfWork, document_id: str) -> DocumentPublic:
        return await _wallet(unit, lambda svc: svc.get(principal.subject_id, document_id))

    @put("/{document_id:str}", request_max_body_size=None, operation_class=MultipartDocumentOperation)
    async def update(self, request: Request[Any, Any, State], principal: Principal, document_id: str) -> DocumentPublic:
        return await upload_version(request, principal.subject_id, document_id, fields_of=_fields)

    @get("/{document_id:str}/versions")
    async def versions(self, principal: Principal, unit: UnitOfWork, document_id: str) -> VersionList:
        items = await _wallet(unit, lambda svc: svc.versions(principal.subject_id, document_id))
        return VersionList(items=items)

    @delete("/{document_id:str}", status_code=HTTP_204_NO_CONTENT)
    async def remove(self, principal: Principal, unit: UnitOfWork, document_id: str) -> None:
        blob_keys = await _wallet(unit, lambda svc: svc.delete(principal.subject_id, document_id))
        unit.after_commit(lambda: unit.container.delete_blobs(blob_keys))

    @get("/{document_id:str}/files/{file_id:str}")
    async def download(self, principal: Principal, unit: UnitOfWork, document_id: str, file_id: str) -> Response[Any]:
        plan = await _wallet(unit, lambda svc: svc.download(principal.subject_id, document_id, file_id))
        return await stream_file(plan)


async def _wallet(unit: UnitOfWork, work: Callable[[WalletService], T]) -> T:
    """The wallet's work, which reads or writes the database and the key store only (files stream afterwards)."""
    return await unit.read(lambda: work(WalletService(unit.session, unit.container.wallet)))


def _required(form: StreamedForm, name: str) -> str:
    value = form.fields.get(name, "").strip()
    if not value:
        raise FieldsInvalid({name: ["is required"]})
    return value


def _fields(form: StreamedForm) -> str:
    return form.fields.get("fields", "{}")
