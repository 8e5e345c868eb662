"""A paper's new version from a streamed multipart form, the one pipeline of `POST /documents`, `PUT /documents/{id}`
and the pages' "add a paper" and "update" forms: each file is sealed into the blob store while it streams
(`Draft.add_file`: type by content, size limit, quota), then the metadata is committed in one transaction; on any
failure, the CSRF gate's refusal included, the draft is discarded, so no blob outlives a paper that never was."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any, TypeVar

import anyio
from litestar import Request

from api.container import Container
from api.deps import container_of
from api.limits import multipart_limits
from api.multipart import FileConsumer, Gate, StreamedForm, read_multipart
from storage.db import read_only, transaction
from wallet.catalog import Holder
from wallet.files import IngestedFile
from wallet.schemas import DocumentPublic
from wallet.service import Draft, WalletService

T = TypeVar("T")
FormReader = Callable[[StreamedForm], Any]


async def _own_transaction(container: Container, work: Callable[[WalletService], T], *, write: bool) -> T:
    """`work(service)` in a thread, in a transaction of its own (`api.unit.OWN_TRANSACTIONS`: the two phases)."""
    return await anyio.to_thread.run_sync(_in_transaction, container, work, write)


async def _holder_and_draft(
    container: Container, citizen_id: str, start: Callable[[WalletService], Draft], *, write: bool
) -> tuple[Holder, Draft]:
    """The citizen's identity and the new version's draft (in a transaction of its own) in one thread hop: the
    request's body waits for both, and each hop waits for a worker and for the GIL."""

    def run() -> tuple[Holder, Draft]:
        return container.holder_of(citizen_id), _in_transaction(container, start, write)

    return await anyio.to_thread.run_sync(run)


def _in_transaction(container: Container, work: Callable[[WalletService], T], write: bool) -> T:
    with transaction(container.engine if write else read_only(container.engine)) as session:
        return work(WalletService(session, container.wallet))


async def upload_new(
    request: Request[Any, Any, Any],
    citizen_id: str,
    *,
    type_of: Callable[[StreamedForm], str],
    fields_of: FormReader,
    gate: Gate | None = None,
    skip_empty_files: bool = False,
) -> DocumentPublic:
    """A new paper of the type `type_of(form)` with the fields `fields_of(form)` (a JSON object or its text)."""
    container = container_of(request.app.state)
    holder, draft = await _holder_and_draft(container, citizen_id, lambda svc: svc.start_new(citizen_id), write=False)

    def commit(svc: WalletService, form: StreamedForm) -> DocumentPublic:
        return svc.commit_new(draft, type_code=type_of(form), fields=fields_of(form), holder=holder)

    return await _upload(request, container, draft, commit, gate=gate, skip_empty_files=skip_empty_files)


async def upload_version(
    request: Request[Any, Any, Any],
    citizen_id: str,
    document_id: str,
    *,
    fields_of: FormReader,
    gate: Gate | None = None,
    skip_empty_files: bool = False,
) -> DocumentPublic:
    """The paper's next version; without a file it keeps the current version's scans."""
    container = container_of(request.app.state)
    holder, draft = await _holder_and_draft(
        container, citizen_id, lambda svc: svc.start_update(citizen_id, document_id), write=True
    )

    def commit(svc: WalletService, form: StreamedForm) -> DocumentPublic:
        return svc.commit_update(draft, fields=fields_of(form), holder=holder)

    return await _upload(request, container, draft, commit, gate=gate, skip_empty_files=skip_empty_files)


async def _upload(
    request: Request[Any, Any, Any],
    container: Container,
    draft: Draft,
    commit: Callable[[WalletService, StreamedForm], DocumentPublic],
    *,
    gate: Gate | None,
    skip_empty_files: bool,
) -> DocumentPublic:
    """Stream the files into the store first, then commit the metadata; undo the files on any failure."""
    on_file: FileConsumer[IngestedFile | None] = _skipping_empty(draft) if skip_empty_files else draft.add_file
    try:
        form = await read_multipart(
            request,
            on_file,
            max_files=container.wallet.config.max_files,
            gate=gate,
            limits=multipart_limits(container.settings),
        )
        return await _own_transaction(container, lambda svc: commit(svc, form), write=True)
    except BaseException:
        await draft.discard()
        raise


def _skipping_empty(draft: Draft) -> FileConsumer[IngestedFile | None]:
    """A browser sends a file input left empty as a part with an empty filename and no bytes: not a file."""

    async def consume(name: str, filename: str | None, chunks: AsyncIterator[bytes]) -> IngestedFile | None:
        if filename:
            return await draft.add_file(name, filename, chunks)
        async for _chunk in chunks:
            pass  # drained, so the parser never waits on it
        return None

    return consume
