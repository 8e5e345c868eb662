"""Scans in and out of the blob store: sealed while they stream, opened and checked while they stream."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from functools import partial

import anyio
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

from crypto.aead import Context
from crypto.errors import DecryptionError
from crypto.stream import StreamDecryptor, StreamEncryptor, sealed_size
from storage.blobs import BlobNotFound, BlobStore, BlobStoreUnavailable
from storage.blobs.base import Write, WritesThrough, read_through
from wallet.errors import DocumentCorrupted, FileTooLarge, QuotaExceeded, StorageUnavailable, UnsupportedFileType
from wallet.filetypes import SNIFF_BYTES, FileType, safe_filename, sniff

FILE_PURPOSE = "file"
# An upload is sealed and written in batches that start at 1 MiB and double up to 4 MiB: a small file costs one
# batch, a 10 MiB one four thread hops instead of ten, and what one upload holds in memory stays bounded by two of the
# largest batches (`seal_upload`).
_FIRST_BATCH = 1024 * 1024
_LARGEST_BATCH = 4 * 1024 * 1024
# A batch the quota does not cover yet claims this much more beyond it (never past the file size limit), so a
# 10 MiB scan costs two claims (a short write transaction each), not four; the last batch settles the claim to the
# exact sealed size. What an upload in flight holds beyond its sealed bytes stays below two of the largest batches.
_CLAIM_AHEAD = 2 * _LARGEST_BATCH

Claim = Callable[[int], None]
"""Blocking, called in the sealing worker thread: change the upload's quota claim by n bytes (n < 0 gives back);
raises QuotaExceeded, having changed nothing, when the citizen's quota cannot take n more."""


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
    """Limits and running state of one upload: size and sniffed type, checked on each chunk as it arrives."""

    max_bytes: int
    size: int = 0
    head: bytes = b""
    file_type: FileType | None = None

    def take(self, chunk: bytes) -> None:
        self.size += len(chunk)
        if self.size > self.max_bytes:
            raise FileTooLarge()
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


@dataclass
class _Sealer:
    """The work of an upload's batch, done in one worker-thread hop: the whole-file SHA-256 (kept in the metadata
    for the janitor's scrub and for whoever needs a digest), the STREAM encryption, and the quota claim that must
    cover the sealed bytes before the store gets them. Hashing and sealing release the GIL on large buffers, so a
    batch seals while the event loop receives the next one. A batch is sealed chunk by chunk and handed on as those
    pieces: joining megabytes into one new object costs more than sealing them."""

    encryptor: StreamEncryptor
    claim: Claim
    most: int  # the sealed size of the largest file allowed: no claim goes past it
    digest: hashlib._Hash = field(default_factory=hashlib.sha256)
    sealed: int = 0  # bytes sealed so far, header included
    claimed: int = 0
    exact: bool = False  # a claim ahead was refused: near the quota, claim only what is sealed
    buffer: bytearray = field(default_factory=bytearray)  # `write`'s sealed batch, reused

    def seal(self, batch: list[bytes], *, head: bytes = b"", last: bool = False) -> list[bytes]:
        pieces = [head] if head else []
        for chunk in batch:
            self.digest.update(chunk)
            pieces += self.encryptor.update_segments(chunk)
        if last:
            pieces.append(self.encryptor.finalize())
        self.sealed += sum(map(len, pieces))
        self._cover(last=last)
        return pieces

    def write(self, batch: list[bytes], write: Write, *, last: bool) -> None:
        """As `seal` for a store that writes at once (`WritesThrough`): the batch sealed into one buffer kept from batch
        to batch, claimed, then written; no new object a segment. The header goes first with the first batch."""
        head = self.encryptor.header() if self.sealed == 0 else b""
        need = len(head) + self.encryptor.sealed_length(sum(map(len, batch)))
        if len(self.buffer) < need:
            self.buffer = bytearray(need)
        with memoryview(self.buffer) as out:
            out[: len(head)] = head
            written = len(head)
            for chunk in batch:
                self.digest.update(chunk)
                written += self.encryptor.update_into(chunk, out[written:])
            batch.clear()  # the plaintext is sealed: it need not wait for the disk
            final = self.encryptor.finalize() if last else b""
            self.sealed += written + len(final)
            self._cover(last=last)
            write(out[:written])
        if final:
            write(memoryview(final))

    def _cover(self, *, last: bool) -> None:
        """Claim what the sealed bytes need, ahead when the file goes on; the last batch gives back what was claimed
        ahead and not used, so an upload keeps exactly its stored size. A refused claim ahead is tried again for the
        bytes in hand only, and so is every later one: a file that fits is never refused for the margin."""
        short = self.sealed - self.claimed
        if last:
            if short:
                self._claim(short)
            return
        if short <= 0:
            return
        ahead = 0 if self.exact else min(_CLAIM_AHEAD, self.most - self.sealed)
        if ahead > 0:
            try:
                self._claim(short + ahead)
                return
            except QuotaExceeded:
                self.exact = True
        self._claim(short)

    def _claim(self, amount: int) -> None:
        self.claim(amount)
        self.claimed += amount


async def seal_upload(
    store: BlobStore,
    chunks: AsyncIterator[bytes],
    *,
    blob_key: str,
    data_key: bytes,
    context: Context,
    max_bytes: int,
    claim: Claim,
) -> tuple[FileType, int, str, int]:
    """Stream `chunks` through size/type checks, SHA-256 and STREAM encryption into the store.
    Returns (type, plaintext size, sha256 hex, stored size). Any refusal aborts the put, which
    leaves no object behind. `claim(n)` claims quota (`Claim`): every sealed byte is claimed in the hop that seals
    it, before the store can get it, and when the put is done the claims add up to the stored size.

    Two tasks make a pipeline: one reads the next batch and seals it (and claims it) in a worker thread while the
    other hands the batch before to the store, so the request is read on while the store works. What one upload
    holds is about two batches (`_LARGEST_BATCH` each, plaintext and sealed) and what the store buffers. A store that
    writes at once (`WritesThrough`, the local folder) gets each batch sealed, claimed and written in one hop, into
    a buffer reused from batch to batch, while the next batch is read."""
    progress = _Progress(max_bytes=max_bytes)
    sealer = _Sealer(StreamEncryptor(data_key, context=context), claim, most=sealed_size(max_bytes))
    try:
        async with anyio.create_task_group() as tasks:
            if isinstance(store, WritesThrough):
                batches, taken = anyio.create_memory_object_stream[_Batch](0)
                tasks.start_soon(_gather, chunks, progress, batches)
                stored = await store.put_through(blob_key, _steps(taken, sealer))
            else:
                # No buffer: the sealer hands a batch over only when the writer takes it, so at most two are in flight.
                send, receive = anyio.create_memory_object_stream[_Sealed](0)
                tasks.start_soon(_seal_batches, chunks, progress, sealer, send)
                stored = await store.put(blob_key, _sealed(receive))
    except BaseExceptionGroup as group:
        error = _first_cause(group)
        if isinstance(error, BlobStoreUnavailable):
            raise StorageUnavailable() from error
        raise error from error.__cause__
    return progress.finish(), progress.size, sealer.digest.hexdigest(), stored


async def _seal_batches(
    chunks: AsyncIterator[bytes], progress: _Progress, sealer: _Sealer, send: MemoryObjectSendStream[_Sealed]
) -> None:
    """The sealing side: one thread hop to seal and claim a batch (and, on the other side, one store write) for each
    batch, not for each of the ~64 KiB pieces the request arrives in."""
    async with send:
        head = sealer.encryptor.header()
        async for batch, last in _batches(chunks, progress):
            pieces = await anyio.to_thread.run_sync(partial(sealer.seal, batch, head=head, last=last))
            head = b""
            batch.clear()  # the plaintext goes before the wait for the writer
            await send.send(_Sealed(pieces, last=last))


async def _batches(chunks: AsyncIterator[bytes], progress: _Progress) -> AsyncIterator[tuple[list[bytes], bool]]:
    """The request's chunks in batches from `_FIRST_BATCH` to `_LARGEST_BATCH`, each with whether it is the last;
    size and type are refused at the chunk that crosses the line."""
    batch: list[bytes] = []
    batch_size, batch_limit = 0, _FIRST_BATCH
    async for chunk in chunks:
        progress.take(chunk)
        batch.append(chunk)
        batch_size += len(chunk)
        if batch_size >= batch_limit:
            yield batch, False
            batch, batch_size = [], 0
            batch_limit = min(2 * batch_limit, _LARGEST_BATCH)
    progress.finish()
    yield batch, True


async def _gather(chunks: AsyncIterator[bytes], progress: _Progress, send: MemoryObjectSendStream[_Batch]) -> None:
    """The reading side of a store that writes at once: the next batch is read while the one before is written."""
    async with send:
        async for batch, last in _batches(chunks, progress):
            await send.send(_Batch(batch, last))


async def _steps(receive: MemoryObjectReceiveStream[_Batch], sealer: _Sealer) -> AsyncIterator[Callable[[Write], None]]:
    """The writing side: each batch's step (seal, claim, write), run by the store in a worker thread."""
    async with receive:
        async for batch in receive:
            yield partial(sealer.write, batch.chunks, last=batch.last)
            if batch.last:
                return
    raise _SealingStopped  # the reading side failed: the put must not keep a blob cut short


async def _sealed(receive: MemoryObjectReceiveStream[_Sealed]) -> AsyncIterator[bytes]:
    """The writing side: each sealed batch's pieces, claimed against the quota already."""
    async with receive:
        async for batch in receive:
            for piece in batch.pieces:
                yield piece
            if batch.last:
                return
    raise _SealingStopped  # the sealer failed: the put must not keep a blob cut short


@dataclass(frozen=True, slots=True)
class _Batch:
    chunks: list[bytes]
    last: bool


@dataclass(frozen=True, slots=True)
class _Sealed:
    pieces: list[bytes]
    last: bool = False


class _SealingStopped(Exception):
    """The sealed stream ended before its last batch: the sealing task's own error says why."""


def _first_cause(group: BaseExceptionGroup[BaseException]) -> BaseException:
    """The error that stopped the upload, not what it caused in the other task: a cancellation, a cut stream, or a
    sealer that found the writer gone."""
    leaves: list[BaseException] = []
    pending: list[BaseException] = [group]
    while pending:
        error = pending.pop()
        if isinstance(error, BaseExceptionGroup):
            pending.extend(reversed(error.exceptions))
        else:
            leaves.append(error)
    effects = (_SealingStopped, anyio.BrokenResourceError, anyio.get_cancelled_exc_class())
    causes = [e for e in leaves if not isinstance(e, effects)]
    return (causes or leaves)[0]


def ingested(file_id: str, blob_key: str, filename: str | None, result: tuple[FileType, int, str, int]) -> IngestedFile:
    file_type, size, sha256, stored = result
    name = safe_filename(filename, file_type)
    return IngestedFile(file_id, blob_key, name, file_type.content_type, size, sha256, stored)


# Files up to this size are opened and checked entirely before the first byte is sent, so
# tampering is answered with a clear error; larger ones stream and abort on the first bad segment.
VERIFY_AHEAD_BYTES = 4 * 1024 * 1024


async def open_download(
    store: BlobStore, *, blob_key: str, data_key: bytes, context: Context, size: int
) -> AsyncIterator[bytearray]:
    """The plaintext of a sealed blob of `size` plaintext bytes, decrypted once as it streams.

    No second pass (no hash): the STREAM AEAD authenticates every segment, bound to this file's
    context, its place in the stream and the last-segment flag, so a flipped, swapped, cut or
    extended blob fails to open. A file of at most `VERIFY_AHEAD_BYTES` is opened whole before this
    returns, so damage raises DocumentCorrupted and the client gets an error, not bytes. A larger one
    is checked that far, then streams: a segment that fails later raises DocumentCorrupted from the
    iterator, which aborts the response mid-way (the client sees a transfer cut short, with fewer
    bytes than its Content-Length, never a whole file with wrong content). The SHA-256 of the
    plaintext recorded at upload stays in the metadata for whatever needs a whole-file digest.

    Each piece is a bytearray of its own (`StreamDecryptor.update` opens every segment straight into it), which
    its caller sends or reads as it is; nothing else holds it."""
    decryptor = StreamDecryptor(data_key, context=context, plaintext_size=size)
    source = read_through(store, blob_key, partial(_open_chunk, decryptor))
    buffered: list[bytearray] = []
    opened = 0
    try:
        async for plain in source:
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


def _open_chunk(decryptor: StreamDecryptor, chunk: memoryview) -> bytearray:
    """Run by the store in the worker thread that read the chunk (`storage.blobs.read_through`): AES-GCM releases
    the GIL, so the event loop sends the chunk before (and serves other requests) meanwhile."""
    try:
        return decryptor.update(chunk)
    except DecryptionError as exc:
        raise DocumentCorrupted() from exc


def _finish(decryptor: StreamDecryptor) -> None:
    try:
        decryptor.finalize()
    except DecryptionError as exc:
        raise DocumentCorrupted() from exc


async def _replay(buffered: list[bytearray]) -> AsyncIterator[bytearray]:
    for chunk in buffered:
        yield chunk


async def _continue(
    buffered: list[bytearray], source: AsyncIterator[bytearray], decryptor: StreamDecryptor
) -> AsyncIterator[bytearray]:
    for plain in buffered:
        yield plain
    buffered.clear()  # sent: the verified head need not stay in memory while the rest streams
    async for plain in source:
        if plain:
            yield plain
    # An exception here aborts the response: the client sees a broken transfer, never wrong content.
    _finish(decryptor)
