"""The citizen's papers: typed, versioned, sealed, with scans that stream into the blob store first
and get their metadata committed after (a crash in between leaves only a pending blob for the janitor)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, Literal

import anyio
from sqlalchemy import Engine
from sqlmodel import Session

from crypto.aead import Context, open_sealed, seal
from crypto.citizen_keys import CitizenKeys
from crypto.clock import Clock
from crypto.envelope import CitizenKey
from crypto.errors import DecryptionError
from identity.repository import IdentityRepository
from storage.blobs import BlobStore
from storage.db import transaction
from storage.types import new_id
from wallet.attestations import verification_of
from wallet.catalog import Holder, status_for, valid_until, validate_fields
from wallet.errors import (
    DocumentCorrupted,
    DocumentInUse,
    DocumentNotFound,
    FieldsInvalid,
    FileNotFound,
    IssuerSignedReadonly,
    QuotaExceeded,
    TooManyDocuments,
)
from wallet.files import Claim, IngestedFile, file_context, ingested, open_download, seal_upload
from wallet.models import Document, DocumentFile, DocumentVersion, PendingBlob
from wallet.quota import Usage
from wallet.repository import PaperHead, SealedFile, SealedVersion, WalletRepository
from wallet.schemas import DocumentPublic, FilePublic, IssuerPublic, VerificationPublic, VersionPublic

MIB = 1024 * 1024


@dataclass(frozen=True)
class WalletConfig:
    max_file_bytes: int = 20 * MIB
    quota_bytes: int = 1024 * MIB
    max_documents: int = 2000
    max_files: int = 10
    gc_grace: timedelta = timedelta(hours=1)
    gc_slice_blobs: int = 20_000  # blobs a janitor run examines for orphans (`wallet.janitor`)
    page_default: int = 50
    page_max: int = 200


@dataclass(frozen=True)
class WalletDeps:
    """Long-lived collaborators of the wallet services."""

    engine: Engine
    keys: CitizenKeys
    blobs: BlobStore
    clock: Clock
    config: WalletConfig
    verify_url: str = "/api/v1/verify/documents"  # where an attestation's token is checked (printed in QRs)
    # What still relies on a paper (e.g. dossiers an agency is deciding): (session, document id) -> their names.
    holds: Callable[[Session, str], list[str]] = lambda _session, _document_id: []


def fields_context(citizen_id: str, document_id: str, version: int) -> Context:
    return Context("document-fields", citizen=citizen_id, document=document_id, version=version)


def seal_fields(
    data_key: bytes, *, citizen_id: str, document_id: str, version: int, clean: object, file_ids: Sequence[str]
) -> bytes:
    """A version's sealed payload: its validated fields and its files' ids, under the version's data key."""
    payload = json.dumps({"fields": clean, "file_ids": list(file_ids)}, ensure_ascii=False).encode()
    return seal(data_key, payload, context=fields_context(citizen_id, document_id, version))


def file_meta_context(citizen_id: str, document_id: str, version: int, file_id: str) -> Context:
    return Context("file-meta", citizen=citizen_id, document=document_id, version=version, file=file_id)


def file_row_values(draft: Draft, upload: IngestedFile, now: datetime) -> dict[str, Any]:
    """A stored file's `DocumentFile` columns; its name, type, size and SHA-256 sealed under the version's data key."""
    meta = {"filename": upload.filename, "content_type": upload.content_type, "size": upload.size}
    meta["sha256"] = upload.sha256
    context = file_meta_context(draft.citizen_id, draft.document_id, draft.version, upload.file_id)
    return {
        "id": upload.file_id,
        "document_id": draft.document_id,
        "citizen_id": draft.citizen_id,
        "version": draft.version,
        "blob_key": upload.blob_key,
        "stored_size": upload.stored_size,
        "sealed_meta": seal(draft.data_key, json.dumps(meta, ensure_ascii=False).encode(), context=context),
        "created_at": now,
    }


def blob_key_for(citizen_id: str, file_id: str) -> str:
    return f"c/{citizen_id}/{file_id}"


@dataclass(frozen=True)
class Download:
    file: FilePublic
    store: BlobStore
    blob_key: str
    data_key: bytes = field(repr=False)
    context: Context

    async def open(self) -> AsyncIterator[bytearray]:
        """The file's bytes, decrypted once as they stream (`wallet.files.open_download` says what a
        damaged blob does to the response)."""
        return await open_download(
            self.store, blob_key=self.blob_key, data_key=self.data_key, context=self.context, size=self.file.size
        )


@dataclass
class Draft:
    """A version in the making: its files go to the blob store before any metadata exists."""

    deps: WalletDeps
    citizen_id: str
    document_id: str
    version: int
    base_version: int  # the version this one supersedes (0 for a new document)
    data_key: bytes = field(repr=False)
    wrapped_data_key: bytes = field(repr=False)
    files: list[IngestedFile | None] = field(default_factory=list)

    @property
    def stored(self) -> list[IngestedFile]:
        return [f for f in self.files if f is not None]

    def sealed_fields(self, clean: object, file_ids: Sequence[str]) -> bytes:
        """This version's payload (`seal_fields`) under its data key."""
        return seal_fields(
            self.data_key,
            citizen_id=self.citizen_id,
            document_id=self.document_id,
            version=self.version,
            clean=clean,
            file_ids=file_ids,
        )

    async def add_file(self, _name: str, filename: str | None, chunks: AsyncIterator[bytes]) -> IngestedFile:
        slot = len(self.files)
        self.files.append(None)  # files keep the order of the upload's parts
        file_id = new_id()
        blob_key = blob_key_for(self.citizen_id, file_id)
        try:
            result = await seal_upload(
                self.deps.blobs,
                chunks,
                blob_key=blob_key,
                data_key=self.data_key,
                context=file_context(self.citizen_id, self.document_id, self.version, file_id),
                max_bytes=self.deps.config.max_file_bytes,
                claim=self._claims(blob_key),
            )
        except BaseException:
            # The put was aborted, so no blob exists; the pending record can go (the janitor would too).
            with anyio.CancelScope(shield=True):
                await anyio.to_thread.run_sync(self._clear_pending, [blob_key])
            raise
        upload = ingested(file_id, blob_key, filename, result)
        self.files[slot] = upload
        return upload

    def _claims(self, blob_key: str) -> Claim:
        """One file's quota claims (`wallet.files.Claim`), each a short transaction in the sealing worker thread. The
        first also records the pending blob, in the same transaction: the key is known to the janitor before the
        store can get a byte of it, and a refused first claim leaves no record behind."""
        recorded = False

        def claim(amount: int) -> None:
            nonlocal recorded
            with transaction(self.deps.engine) as session:
                if not recorded:
                    session.add(
                        PendingBlob(blob_key=blob_key, citizen_id=self.citizen_id, created_at=self.deps.clock.now())
                    )
                    session.flush()
                self._reserve(session, blob_key, amount)
            recorded = True

        return claim

    def _reserve(self, session: Session, blob_key: str, amount: int) -> None:
        """Claim `amount` more bytes for the pending blob (QuotaExceeded rolls the transaction back), or give back
        what a negative amount says was claimed ahead and not used: on the usage row and on the blob's record."""
        usage = Usage(session)
        if amount >= 0:
            if not usage.reserve(self.citizen_id, blob_key, amount, quota=self.deps.config.quota_bytes):
                raise QuotaExceeded()
            return
        usage.give_back(self.citizen_id, blob_key, -amount)

    def _clear_pending(self, blob_keys: list[str]) -> None:
        with transaction(self.deps.engine) as session:
            WalletRepository(session).abandon_pending(blob_keys)

    async def discard(self) -> None:
        """Undo the uploads of a version that will not be committed."""
        keys = [f.blob_key for f in self.stored]
        with anyio.CancelScope(shield=True):
            for key in keys:
                await self.deps.blobs.delete(key)
            await anyio.to_thread.run_sync(self._clear_pending, keys)


class WalletService:
    """Reads and writes one citizen's papers. Never commits: the caller owns the transaction."""

    def __init__(self, session: Session, deps: WalletDeps) -> None:
        self._repo = WalletRepository(session)
        self._deps = deps

    # -- writing ------------------------------------------------------------------------------
    def start_new(self, citizen_id: str) -> Draft:
        self._check_room(citizen_id)  # refused before any byte streams in
        return self.draft_new(citizen_id)

    def draft_new(self, citizen_id: str) -> Draft:
        """A new paper's draft, for a caller that has checked the citizen's room itself (issuing reads the count with
        the citizen)."""
        return self._draft(citizen_id, new_id(), version=1, base_version=0)

    def start_update(self, citizen_id: str, document_id: str) -> Draft:
        document = self._owned(citizen_id, document_id)
        if document.provenance == "issuer_signed":
            raise IssuerSignedReadonly()
        return self._draft(
            citizen_id, document.id, version=document.current_version + 1, base_version=document.current_version
        )

    def _draft(self, citizen_id: str, document_id: str, *, version: int, base_version: int) -> Draft:
        key = self._citizen_key(citizen_id, fresh=True)
        data_key, wrapped = key.new_data_key(document=document_id, version=version)
        return Draft(self._deps, citizen_id, document_id, version, base_version, data_key, wrapped)

    def commit_new(self, draft: Draft, *, type_code: str, fields: Any, holder: Holder) -> DocumentPublic:
        clean = validate_fields(type_code, _as_object(fields), holder=holder)
        self._check_room(draft.citizen_id, for_insert=True)  # again: other uploads may have committed meanwhile
        now = self._deps.clock.now()
        document = Document(
            id=draft.document_id,
            citizen_id=draft.citizen_id,
            type=type_code,
            source="citizen",
            provenance="self_uploaded",
            current_version=1,
            created_at=now,
            updated_at=now,
        )
        self._repo.add(document)
        self._write_version(document, draft, clean, [f.file_id for f in draft.stored])
        return self.get(draft.citizen_id, document.id)

    def _check_room(self, citizen_id: str, *, for_insert: bool = False) -> None:
        if self._repo.document_count(citizen_id, for_insert=for_insert) >= self._deps.config.max_documents:
            raise TooManyDocuments()

    def commit_update(self, draft: Draft, *, fields: Any, holder: Holder) -> DocumentPublic:
        document = self._owned(draft.citizen_id, draft.document_id)
        if document.current_version != draft.base_version:
            raise FieldsInvalid({"version": ["the document changed meanwhile; reload and retry"]})
        clean = validate_fields(document.type, _as_object(fields), holder=holder)
        file_ids = [f.file_id for f in draft.stored] or self._current_file_ids(document)
        document.current_version, document.updated_at = draft.version, self._deps.clock.now()
        self._repo.add(document)
        self._write_version(document, draft, clean, file_ids)
        return self.get(draft.citizen_id, document.id)

    def _write_version(self, document: Document, draft: Draft, clean: dict[str, object], file_ids: list[str]) -> None:
        now = self._deps.clock.now()
        sealed = draft.sealed_fields(clean, file_ids)  # the draft is of this document: same citizen, id and version
        self._repo.add(
            DocumentVersion(
                document_id=document.id,
                version=draft.version,
                wrapped_data_key=draft.wrapped_data_key,
                sealed=sealed,
                created_at=now,
            )
        )
        for upload in draft.stored:
            self._repo.add(self._file_row(document, draft, upload))
        self._repo.clear_pending([f.blob_key for f in draft.stored])

    def _file_row(self, document: Document, draft: Draft, upload: IngestedFile) -> DocumentFile:
        return DocumentFile(**file_row_values(draft, upload, self._deps.clock.now()))

    def delete(self, citizen_id: str, document_id: str) -> list[str]:
        """Remove the document with its wrapped data keys (content unrecoverable at once); returns the
        blob keys for the caller to delete after its commit (the janitor catches any it misses). A paper an
        open dossier relies on is kept until the agency decides (`DocumentInUse`); erasing the account still
        removes it (`erase_all`)."""
        document = self._owned(citizen_id, document_id)
        if held_by := self._deps.holds(self._repo.session, document.id):
            raise DocumentInUse(held_by)
        return self._repo.delete_document(document)

    def erase_all(self, citizen_id: str) -> list[str]:
        keys: list[str] = []
        for document in self._repo.documents_of(citizen_id):
            keys += self._repo.delete_document(document)
        return keys

    # -- reading ------------------------------------------------------------------------------
    def get(self, citizen_id: str, document_id: str) -> DocumentPublic:
        document = self._owned(citizen_id, document_id)
        return self._views([document], self._citizen_key(citizen_id))[0]

    def page(
        self, citizen_id: str, *, type_code: str | None, limit: int | None, cursor: str | None
    ) -> tuple[list[DocumentPublic], str | None]:
        size = max(1, min(limit or self._deps.config.page_default, self._deps.config.page_max))
        found = self._repo.page(citizen_id, type_code=type_code, before=cursor, limit=size + 1)
        page = found.documents[:size]
        views = self._views(page, self._citizen_key(citizen_id), (found.versions, found.files)) if page else []
        return views, page[-1].id if len(found.documents) > size else None

    def current(self, citizen_id: str, document_ids: Sequence[str]) -> list[DocumentPublic]:
        """The current version of each of the given documents that still exists and is the citizen's, in the
        order given; the others are left out (a caller sharing papers under consent needs no error for them)."""
        found = {d.id: d for d in self._repo.documents(citizen_id, document_ids)}
        documents = [found[i] for i in dict.fromkeys(document_ids) if i in found]
        return self._views(documents, self._citizen_key(citizen_id)) if documents else []

    def of_types(self, citizen_id: str, type_codes: Sequence[str]) -> list[DocumentPublic]:
        """Every paper of the citizen of the given types, newest first."""
        documents = self._repo.documents_of_types(citizen_id, type_codes)
        return self._views(documents, self._citizen_key(citizen_id)) if documents else []

    def version_of(self, citizen_id: str, document_id: str, version: int) -> VersionPublic:
        """One version of a paper as it was (the copy a submitted dossier froze)."""
        for candidate in self.versions(citizen_id, document_id):
            if candidate.version == version:
                return candidate
        raise DocumentNotFound()

    def versions(self, citizen_id: str, document_id: str) -> list[VersionPublic]:
        document = self._owned(citizen_id, document_id)
        key = self._citizen_key(citizen_id)
        versions = self._repo.versions(document.id)
        files = self._repo.files_of_documents([document.id])
        keys_by_version = {v.version: self._data_key(key, document, v) for v in versions}
        out = []
        for version in versions:
            content = self._open_version(document, version, keys_by_version[version.version])
            status = self._status(document, content["fields"]) if version.version == document.current_version else None
            out.append(
                VersionPublic(
                    version=version.version,
                    status=status or "superseded",
                    created_at=version.created_at,
                    fields=content["fields"],
                    files=self._file_views(document, content["file_ids"], files, keys_by_version),
                )
            )
        return out

    def download(self, citizen_id: str, document_id: str, file_id: str) -> Download:
        """What to send for one file; `Download.open()` opens the blob, authenticating every segment."""
        document = self._owned(citizen_id, document_id)
        row = self._repo.file(document.id, file_id)
        if row is None:
            raise FileNotFound()
        version = self._repo.version(document.id, row.version)
        if version is None:
            raise DocumentCorrupted()
        data_key = self._data_key(self._citizen_key(citizen_id), document, version)
        meta = self._file_meta(document, row, data_key)
        public = FilePublic(id=row.id, filename=meta["filename"], content_type=meta["content_type"], size=meta["size"])
        context = file_context(citizen_id, document.id, row.version, row.id)
        return Download(public, self._deps.blobs, row.blob_key, data_key, context)

    # -- helpers ------------------------------------------------------------------------------
    def _owned(self, citizen_id: str, document_id: str) -> Document:
        document = self._repo.document(citizen_id, document_id)
        if document is None:
            raise DocumentNotFound()
        return document

    def _citizen_key(self, citizen_id: str, *, fresh: bool = False) -> CitizenKey:
        try:
            return self._deps.keys.open_fresh(citizen_id) if fresh else self._deps.keys.open(citizen_id)
        except DecryptionError as exc:
            raise DocumentNotFound() from exc

    def _data_key(self, key: CitizenKey, document: PaperHead, version: DocumentVersion | SealedVersion) -> bytes:
        try:
            return key.unwrap_data_key(version.wrapped_data_key, document=document.id, version=version.version)
        except DecryptionError:
            pass  # perhaps a key another process replaced since this one cached it: once more, from the store
        try:
            fresh = self._deps.keys.open_fresh(document.citizen_id)
            return fresh.unwrap_data_key(version.wrapped_data_key, document=document.id, version=version.version)
        except DecryptionError as exc:
            raise DocumentCorrupted() from exc

    def _open_version(
        self, document: PaperHead, version: DocumentVersion | SealedVersion, data_key: bytes
    ) -> dict[str, Any]:
        context = fields_context(document.citizen_id, document.id, version.version)
        content: dict[str, Any] = json.loads(_open(data_key, version.sealed, context))
        return content

    def _file_meta(self, document: PaperHead, row: DocumentFile | SealedFile, data_key: bytes) -> dict[str, Any]:
        context = file_meta_context(document.citizen_id, document.id, row.version, row.id)
        meta: dict[str, Any] = json.loads(_open(data_key, row.sealed_meta, context))
        return meta

    def _status(self, document: PaperHead, fields: dict[str, Any]) -> Literal["active", "expired", "revoked"]:
        if document.revoked_at is not None:
            return "revoked"
        return status_for(valid_until(document.type, fields), self._today())

    def _today(self) -> date:
        return self._deps.clock.now().date()

    def _current_file_ids(self, document: Document) -> list[str]:
        version = self._repo.version(document.id, document.current_version)
        if version is None:
            return []
        key = self._citizen_key(document.citizen_id)
        content = self._open_version(document, version, self._data_key(key, document, version))
        return list(content["file_ids"])

    def _views(
        self,
        documents: Sequence[PaperHead],
        key: CitizenKey,
        read: tuple[dict[tuple[str, int], SealedVersion], dict[str, SealedFile]] | None = None,
    ) -> list[DocumentPublic]:
        """`read`: every version and file of the documents, when the caller read them already."""
        by_id = {d.id: d for d in documents}
        if read is None:
            read = self._repo.versions_of(list(by_id)), self._repo.files_of_documents(list(by_id))
        versions, files = read
        data_keys: dict[str, dict[int, bytes]] = {doc_id: {} for doc_id in by_id}
        for (doc_id, number), version in versions.items():
            if doc_id in by_id:  # a page's read also returns the versions of the paper after it
                data_keys[doc_id][number] = self._data_key(key, by_id[doc_id], version)
        return [self._view(d, versions, files, data_keys[d.id]) for d in documents]

    def _view(
        self,
        document: PaperHead,
        versions: dict[tuple[str, int], SealedVersion],
        files: dict[str, SealedFile],
        by_version: dict[int, bytes],
    ) -> DocumentPublic:
        """`by_version`: the data key of each of the document's versions."""
        current = versions.get((document.id, document.current_version))
        if current is None:
            raise DocumentCorrupted()
        content = self._open_version(document, current, by_version[current.version])
        fields = content["fields"]
        return DocumentPublic(
            id=document.id,
            type=document.type,
            fields=fields,
            files=self._file_views(document, content["file_ids"], files, by_version),
            source="issuer" if document.source == "issuer" else "citizen",
            provenance="issuer_signed" if document.provenance == "issuer_signed" else "self_uploaded",
            issuer=self._issuer(document),
            status=self._status(document, fields),
            version=document.current_version,
            created_at=document.created_at,
            updated_at=document.updated_at,
            valid_until=valid_until(document.type, fields),
            verification=self._verification(document),
        )

    def _verification(self, document: PaperHead) -> VerificationPublic | None:
        if document.provenance != "issuer_signed":
            return None
        return verification_of(self._repo.session, document.id, document.current_version, self._deps.verify_url)

    def _issuer(self, document: PaperHead) -> IssuerPublic | None:
        if document.issuer_code is None:
            return None
        # Read in this request's transaction: a lookup in one of its own would take a second connection while
        # this one is held, which a full pool never gives back.
        agency = IdentityRepository(self._repo.session).agency(document.issuer_code)
        return IssuerPublic(code=document.issuer_code, name=agency.name if agency is not None else document.issuer_code)

    def _file_views(
        self, document: PaperHead, file_ids: list[str], files: dict[str, SealedFile], data_keys: dict[int, bytes]
    ) -> list[FilePublic]:
        views = []
        for file_id in file_ids:
            row = files.get(file_id)
            if row is None or row.version not in data_keys:
                raise DocumentCorrupted()
            meta = self._file_meta(document, row, data_keys[row.version])
            views.append(
                FilePublic(id=row.id, filename=meta["filename"], content_type=meta["content_type"], size=meta["size"])
            )
        return views


def _as_object(fields: Any) -> dict[str, object]:
    if isinstance(fields, str):
        try:
            fields = json.loads(fields) if fields.strip() else {}
        except (ValueError, RecursionError) as exc:  # malformed, absurdly nested, or over-long numbers
            raise FieldsInvalid({"fields": ["must be a JSON object"]}) from exc
    if not isinstance(fields, dict):
        raise FieldsInvalid({"fields": ["must be a JSON object"]})
    return fields


def _open(key: bytes, token: bytes, context: Context) -> bytes:
    try:
        return open_sealed(key, token, context=context)
    except DecryptionError as exc:
        raise DocumentCorrupted() from exc
