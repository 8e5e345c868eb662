"""The citizen's wallet (API.md: "The citizen's wallet")."""

from __future__ import annotations

from typing import Any

import anyio
from litestar import Controller, Request, Response, delete, get, post, put
from litestar.datastructures import State
from litestar.status_codes import HTTP_201_CREATED, HTTP_204_NO_CONTENT

from api.auth import BEARER, requires
from api.deps import container_of
from api.downloads import stream_file
from api.multipart import read_multipart
from api.openapi import MultipartDocumentOperation
from identity.sessions import Principal
from storage.db import read_only, transaction
from wallet.catalog import catalog_public
from wallet.errors import FieldsInvalid
from wallet.schemas import DocumentPage, DocumentPublic, DocumentTypePublic, VersionList
from wallet.service import Draft, WalletService

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
    guards = [requires("citizen")]  # noqa: RUF012 - Litestar reads it as a class attribute

    @post("", status_code=HTTP_201_CREATED, request_max_body_size=None, operation_class=MultipartDocumentOperation)
    async def create(self, request: Request[Any, Any, State], principal: Principal) -> DocumentPublic:
        container = container_of(request.app.state)
        holder = await anyio.to_thread.run_sync(container.holder_of, principal.subject_id)
        draft = await _in_transaction(request, lambda svc: svc.start_new(principal.subject_id), write=False)
        return await _upload(
            request,
            draft,
            lambda svc, form: svc.commit_new(
                draft, type_code=_required(form, "type"), fields=form.get("fields", "{}"), holder=holder
            ),
        )

    @get("")
    async def list_documents(
        self,
        request: Request[Any, Any, State],
        principal: Principal,
        type: str | None = None,
        limit: int | None = None,
        cursor: str | None = None,
    ) -> DocumentPage:
        items, next_cursor = await _in_transaction(
            request, lambda svc: svc.page(principal.subject_id, type_code=type, limit=limit, cursor=cursor)
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
        container = container_of(request.app.state)
        holder = await anyio.to_thread.run_sync(container.holder_of, principal.subject_id)
        draft = await _in_transaction(request, lambda svc: svc.start_update(principal.subject_id, document_id))
        return await _upload(
            request, draft, lambda svc, form: svc.commit_update(draft, fields=form.get("fields", "{}"), holder=holder)
        )

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
    container = container_of(request.app.state)
    writes = request.method not in {"GET", "HEAD"} if write is None else write
    engine = container.engine if writes else read_only(container.engine)

    def run() -> Any:
        with transaction(engine) as session:
            return work(WalletService(session, container.wallet))

    return await anyio.to_thread.run_sync(run)


async def _upload(request: Request[Any, Any, State], draft: Draft, commit: Any) -> DocumentPublic:
    """Stream the files into the store first, then commit the metadata; undo the files on any failure."""
    container = container_of(request.app.state)
    try:
        form = await read_multipart(request, draft.add_file, max_files=container.wallet.config.max_files)
        document: DocumentPublic = await _in_transaction(request, lambda svc: commit(svc, form.fields), write=True)
    except BaseException:
        await draft.discard()
        raise
    return document


def _required(form: dict[str, str], name: str) -> str:
    value = form.get(name, "").strip()
    if not value:
        raise FieldsInvalid({name: ["is required"]})
    return value
