"""Scans in and out of the blob store: sealed while they stream, opened and checked while they stream."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field

from crypto.aead import Context
from crypto.errors import DecryptionError
from crypto.stream import StreamDecryptor, StreamEncryptor
from storage.blobs import BlobNotFound, BlobStore, BlobStoreUnavailable
from wallet.errors import DocumentCorrupted, FileTooLarge, StorageUnavailable, UnsupportedFileType
from wallet.filetypes import SNIFF_BYTES, FileType, safe_filename, sniff

FILE_PURPOSE = "file"
_WRITE_BATCH = 1024 * 1024


def file_context(citizen_id: str, document_id: str, version: int, file_id: str) -> Context:
    return Context(FILE_PURPOSE, citizen=citizen_id, document=document_id, version=version, file=file_id)


@dataclass
class IngestedFile:
    file_id: str
    blob_key: str
    filename: str
    content_type: str
    size: int
    sha256: str
    stored_size: int


@dataclass
class _Progress:
    """Limits and running state of one upload: size, hash, sniffed type."""

    max_bytes: int
    size: int = 0
    head: bytes = b""
    file_type: FileType | None = None
    digest: hashlib._Hash = field(default_factory=hashlib.sha256)

    def take(self, chunk: bytes) -> None:
        self.size += len(chunk)
        if self.size > self.max_bytes:
            raise FileTooLarge()
        self.digest.update(chunk)
        if self.file_type is None and len(self.head) < SNIFF_BYTES:
            self.head += chunk[: SNIFF_BYTES - len(self.head)]
            if len(self.head) >= SNIFF_BYTES:
                self._sniff()

    def _sniff(self) -> FileType:
        found = sniff(self.head)
        if found is None:
            raise UnsupportedFileType()
        self.file_type = found
        return found

    def finish(self) -> FileType:
        return self.file_type or self._sniff()


async def seal_upload(
    store: BlobStore,
    chunks: AsyncIterator[bytes],
    *,
    blob_key: str,
    data_key: bytes,
    context: Context,
    max_bytes: int,
    reserve: Callable[[int], Awaitable[None]],
) -> tuple[FileType, int, str, int]:
    """Stream `chunks` through size/type checks, SHA-256 and STREAM encryption into the store.
    Returns (type, plaintext size, sha256 hex, stored size). Any refusal aborts the put, which
    leaves no object behind. `reserve(n)` claims quota for each batch before it is written (`QuotaExceeded`)."""
    progress = _Progress(max_bytes=max_bytes)
    encryptor = StreamEncryptor(data_key, context=context)

    async def sealed() -> AsyncIterator[bytes]:
        # Hand the store ~1 MiB at a time: each write may cost a thread hop or a network call.
        pending = bytearray(encryptor.header())
        async for chunk in chunks:
            progress.take(chunk)
            pending += encryptor.update(chunk)
            if len(pending) >= _WRITE_BATCH:
                await reserve(len(pending))
                yield bytes(pending)
                pending.clear()
        progress.finish()
        pending += encryptor.finalize()
        await reserve(len(pending))
        yield bytes(pending)

    try:
        stored = await store.put(blob_key, sealed())
    except BlobStoreUnavailable as exc:
        raise StorageUnavailable() from exc
    return progress.finish(), progress.size, progress.digest.hexdigest(), stored


def ingested(file_id: str, blob_key: str, filename: str | None, result: tuple[FileType, int, str, int]) -> IngestedFile:
    file_type, size, sha256, stored = result
    name = safe_filename(filename, file_type)
    return IngestedFile(file_id, blob_key, name, file_type.content_type, size, sha256, stored)


# Files up to this size are opened and checked entirely before the first byte is sent, so
# tampering is answered with a clear error; larger ones stream and abort on the first bad segment.
VERIFY_AHEAD_BYTES = 4 * 1024 * 1024


async def open_download(
    store: BlobStore, *, blob_key: str, data_key: bytes, context: Context, size: int
) -> AsyncIterator[bytes]:
    """The plaintext of a sealed blob of `size` plaintext bytes, decrypted once as it streams.

    No second pass (no hash): the STREAM AEAD authenticates every segment, bound to this file's
    context, its place in the stream and the last-segment flag, so a flipped, swapped, cut or
    extended blob fails to open. A file of at most `VERIFY_AHEAD_BYTES` is opened whole before this
    returns, so damage raises DocumentCorrupted and the client gets an error, not bytes. A larger one
    is checked that far, then streams: a segment that fails later raises DocumentCorrupted from the
    iterator, which aborts the response mid-way (the client sees a transfer cut short, with fewer
    bytes than its Content-Length, never a whole file with wrong content). The SHA-256 of the
    plaintext recorded at upload stays in the metadata for whatever needs a whole-file digest."""
    source = store.get(blob_key)
    decryptor = StreamDecryptor(data_key, context=context, plaintext_size=size)
    buffered: list[bytes] = []
    opened = 0
    try:
        async for chunk in source:
            plain = _open_chunk(decryptor, chunk)
            buffered.append(plain)
            opened += len(plain)
            if opened > VERIFY_AHEAD_BYTES:
                break
        else:
            _finish(decryptor)
            return _replay(buffered)
    except BlobNotFound as exc:
        raise DocumentCorrupted() from exc
    except BlobStoreUnavailable as exc:
        raise StorageUnavailable() from exc
    return _continue(buffered, source, decryptor)


def _open_chunk(decryptor: StreamDecryptor, chunk: bytes) -> bytes:
    try:
        return decryptor.update(chunk)
    except DecryptionError as exc:
        raise DocumentCorrupted() from exc


def _finish(decryptor: StreamDecryptor) -> None:
    try:
        decryptor.finalize()
    except DecryptionError as exc:
        raise DocumentCorrupted() from exc


async def _replay(buffered: list[bytes]) -> AsyncIterator[bytes]:
    for chunk in buffered:
        yield chunk


async def _continue(
    buffered: list[bytes], source: AsyncIterator[bytes], decryptor: StreamDecryptor
) -> AsyncIterator[bytes]:
    for chunk in buffered:
        yield chunk
    buffered.clear()  # sent: the verified head need not stay in memory while the rest streams
    async for chunk in source:
        if plain := _open_chunk(decryptor, chunk):
            yield plain
    # An exception here aborts the response: the client sees a broken transfer, never wrong content.
    _finish(decryptor)
