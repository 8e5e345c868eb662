"""The citizen's wallet (API.md: "The citizen's wallet")."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, delete, get, post, put
from litestar.datastructures import State
from litestar.status_codes import HTTP_201_CREATED, HTTP_204_NO_CONTENT

from api.auth import BEARER
from api.deps import container_of
from api.downloads import stream_file
from api.multipart import StreamedForm
from api.openapi import MultipartDocumentOperation
from api.pagination import CURSOR, LIMIT, page_cursor
from api.uploads import in_wallet, upload_new, upload_version
from identity.sessions import Principal
from wallet.catalog import catalog_public
from wallet.errors import FieldsInvalid
from wallet.schemas import DocumentPage, DocumentPublic, DocumentTypePublic, VersionList

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
        request: Request[Any, Any, State],
        principal: Principal,
        type: str | None = None,
        limit: int | None = LIMIT,
        cursor: str | None = CURSOR,
    ) -> DocumentPage:
        items, next_cursor = await _in_transaction(
            request, lambda svc: svc.page(principal.subject_id, type_code=type, limit=limit, cursor=page_cursor(cursor))
        )
        return DocumentPage(items=items, next_cursor=next_cursor)

    @get("/{document_id:str}")
    async def get_document(
        self, request: Request[Any, Any, State], principal: Principal, document_id: str
    ) -> DocumentPublic:
        document: DocumentPublic = await _in_transaction(
            request, lambda svc: svc.get(principal.subject_id, document_id)
        )
        return document

    @put("/{document_id:str}", request_max_body_size=None, operation_class=MultipartDocumentOperation)
    async def update(self, request: Request[Any, Any, State], principal: Principal, document_id: str) -> DocumentPublic:
        return await upload_version(request, principal.subject_id, document_id, fields_of=_fields)

    @get("/{document_id:str}/versions")
    async def versions(self, request: Request[Any, Any, State], principal: Principal, document_id: str) -> VersionList:
        items = await _in_transaction(request, lambda svc: svc.versions(principal.subject_id, document_id))
        return VersionList(items=items)

    @delete("/{document_id:str}", status_code=HTTP_204_NO_CONTENT)
    async def remove(self, request: Request[Any, Any, State], principal: Principal, document_id: str) -> None:
        blob_keys = await _in_transaction(
            request, lambda svc: svc.delete(principal.subject_id, document_id), write=True
        )
        await container_of(request.app.state).delete_blobs(blob_keys)

    @get("/{document_id:str}/files/{file_id:str}")
    async def download(
        self, request: Request[Any, Any, State], principal: Principal, document_id: str, file_id: str
    ) -> Response[Any]:
        plan = await _in_transaction(request, lambda svc: svc.download(principal.subject_id, document_id, file_id))
        return await stream_file(plan)


async def _in_transaction(request: Request[Any, Any, State], work: Any, *, write: bool | None = None) -> Any:
    """Run `work(service)` in a thread, in one transaction (read-only unless it writes)."""
    writes = request.method not in {"GET", "HEAD"} if write is None else write
    return await in_wallet(container_of(request.app.state), work, write=writes)


def _required(form: StreamedForm, name: str) -> str:
    value = form.fields.get(name, "").strip()
    if not value:
        raise FieldsInvalid({name: ["is required"]})
    return value


def _fields(form: StreamedForm) -> str:
    return form.fields.get("fields", "{}")
