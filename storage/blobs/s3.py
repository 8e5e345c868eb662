"""A blob store in an S3 bucket, through the synchronous `minio` SDK run in worker threads."""

from __future__ import annotations

import contextlib
import queue
import threading
from collections import deque
from collections.abc import AsyncGenerator, AsyncIterable, Callable, Iterator
from typing import BinaryIO, Generic, TypeVar, TypeVarTuple, cast

import anyio
import anyio.from_thread
import anyio.to_thread
import urllib3
from minio import Minio
from minio.datatypes import Object
from minio.error import InvalidResponseError, S3Error, ServerError
from urllib3.exceptions import HTTPError
from urllib3.response import BaseHTTPResponse

from storage.blobs.base import (
    DEFAULT_CHUNK_SIZE,
    DEFAULT_CONTENT_TYPE,
    BlobInfo,
    BlobNotFound,
    BlobStoreError,
    BlobStoreUnavailable,
    validate_key,
    validate_prefix,
)

T = TypeVar("T")
Ts = TypeVarTuple("Ts")

MIN_PART_SIZE = 5 << 20  # S3 rejects multipart parts below 5 MiB (except the last)
# The SDK's put_object holds about three parts at its peak (the one sent, the next gathered, its copy): 5 MiB
# parts keep an upload near 16 MiB.
DEFAULT_PART_SIZE = MIN_PART_SIZE
READ_AHEAD_CHUNKS = 2  # a get holds at most this many chunks beyond the one its caller works on
_POLL_SECONDS = 0.05


def minio_client(
    endpoint: str,
    *,
    access_key: str,
    secret_key: str,
    secure: bool = True,
    region: str = "us-east-1",
    connect_timeout: float = 2.0,
    read_timeout: float = 30.0,
) -> Minio:
    """A Minio client that gives up in seconds when the server is down.

    minio's own pool retries 5 times with 5-minute timeouts: a request handler would hang for
    minutes before reporting "storage down". Here a refused connection fails at once and a silent
    host within 2 × `connect_timeout`; the one retry covers a stale pooled connection.
    """
    http = urllib3.PoolManager(
        timeout=urllib3.Timeout(connect=connect_timeout, read=read_timeout),
        retries=urllib3.Retry(total=1, backoff_factor=0.1),
        maxsize=10,
    )
    return Minio(endpoint, access_key=access_key, secret_key=secret_key, secure=secure, region=region, http_client=http)


class S3BlobStore:
    """Stores each blob as an object of one S3 bucket, streamed in both directions.

    A put of less than `part_size` bytes is one PUT; a larger one is a multipart upload of
    `part_size` parts, completed only when the input ends, aborted if it fails or is cancelled, so
    that no object and no parts remain. While a part is sent, up to one part of input is read ahead
    (memory stays near four parts); a get reads `READ_AHEAD_CHUNKS` chunks ahead of its caller in a
    thread of its own. Every SDK call runs in a worker thread. Objects are limited to 10,000 parts
    (about 48 GiB at the default part size).
    """

    def __init__(self, client: Minio, bucket: str, *, part_size: int = DEFAULT_PART_SIZE) -> None:
        if part_size < MIN_PART_SIZE:
            raise ValueError(f"part_size must be at least {MIN_PART_SIZE} bytes (S3 minimum)")
        self._client = client
        self._bucket = bucket
        self._part_size = part_size

    def __repr__(self) -> str:
        return f"S3BlobStore(bucket={self._bucket!r}, part_size={self._part_size})"

    @property
    def bucket(self) -> str:
        return self._bucket

    async def ensure_bucket(self) -> None:
        """Create the bucket if it does not exist yet."""
        if not await _call(self._client.bucket_exists, self._bucket):
            await _call(self._make_bucket)

    def _make_bucket(self) -> None:
        try:
            self._client.make_bucket(self._bucket)
        except S3Error as exc:
            if exc.code != "BucketAlreadyOwnedByYou":  # we lost a race with another of our creators
                raise

    async def put(self, key: str, chunks: AsyncIterable[bytes], *, content_type: str = DEFAULT_CONTENT_TYPE) -> int:
        validate_key(key)
        reader = _ChunkReader(ahead=self._part_size)
        try:
            async with anyio.create_task_group() as tasks:
                # The input is read into the next part while the SDK sends the current one.
                tasks.start_soon(reader.fill, chunks)
                try:
                    await _call(self._put_object, key, reader, content_type)
                finally:
                    reader.stop()
        except BaseExceptionGroup as group:  # the task group's: `fill` never raises, so it holds the put's error
            error = group.exceptions[0]
            if isinstance(error, _InputStopped):
                # The SDK aborted its multipart upload; the caller sees why the input stopped (or its cancellation).
                raise reader.failure or error from None
            raise error from error.__cause__
        return reader.size

    def _put_object(self, key: str, reader: _ChunkReader, content_type: str) -> None:
        # One PUT below part size, else a multipart upload the SDK aborts if anything fails (one part at a time).
        self._client.put_object(
            self._bucket,
            key,
            cast(BinaryIO, reader),  # the SDK only calls read(size)
            length=-1,
            part_size=self._part_size,
            content_type=content_type,
            num_parallel_uploads=1,
        )

    def get(self, key: str, *, chunk_size: int = DEFAULT_CHUNK_SIZE) -> AsyncGenerator[bytes, None]:
        if chunk_size < 1:
            raise ValueError("chunk_size must be positive")
        return self._read(validate_key(key), chunk_size, _same)

    def get_through(
        self, key: str, each: Callable[[memoryview], T], *, chunk_size: int = DEFAULT_CHUNK_SIZE
    ) -> AsyncGenerator[T, None]:
        """`base.read_through`: `each` runs in the read-ahead thread as each chunk arrives, so its results wait for
        the caller as the chunks did, and a result ready is taken without a thread hop."""
        if chunk_size < 1:
            raise ValueError("chunk_size must be positive")
        return self._read(validate_key(key), chunk_size, lambda chunk: each(memoryview(chunk)))

    async def delete(self, key: str) -> None:
        await _call(self._client.remove_object, self._bucket, validate_key(key))

    async def exists(self, key: str) -> bool:
        try:
            await _call(self._client.stat_object, self._bucket, validate_key(key))
        except BlobNotFound:
            return False
        return True

    def list(self, prefix: str = "", *, start_after: str = "") -> AsyncGenerator[BlobInfo, None]:
        return self._list(validate_prefix(prefix), start_after)

    async def check(self) -> None:
        if not await _call(self._client.bucket_exists, self._bucket):
            raise BlobStoreUnavailable(f"S3 bucket {self._bucket!r} does not exist")

    # -- internals ---------------------------------------------------------------------------------------------------

    async def _read(self, key: str, chunk_size: int, each: Callable[[bytes], T]) -> AsyncGenerator[T, None]:
        response = await _call(self._client.get_object, self._bucket, key, key=key)
        ahead = _ReadAhead(response, chunk_size, each)  # the next chunks arrive while the caller works on this one
        try:
            while item := await _next_item(ahead, key):
                yield item[0]
        finally:
            with anyio.CancelScope(shield=True):
                await anyio.to_thread.run_sync(ahead.close)

    async def _list(self, prefix: str, start_after: str) -> AsyncGenerator[BlobInfo, None]:
        listing = self._client.list_objects(
            self._bucket, prefix=prefix or None, recursive=True, start_after=start_after or None
        )
        objects: Iterator[Object] = iter(listing)
        while (obj := await _call(next, objects, None)) is not None:
            if obj.is_dir or obj.object_name is None:
                continue
            if obj.last_modified is None:
                raise BlobStoreError(f"S3 listing gave no modification time for {obj.object_name!r}")
            yield BlobInfo(obj.object_name, obj.size or 0, obj.last_modified)


class _InputStopped(Exception):
    """The input ended in an error or a cancellation; an `Exception`, so the SDK aborts its multipart upload."""


class _ChunkReader:
    """A blocking `read(size)` over an async iterable, for the SDK's `put_object` in a worker thread.

    `fill` runs on the event loop beside the upload and keeps up to `ahead` bytes of input waiting, so the next part
    is gathered while the SDK sends the current one; `read` (in the SDK's thread) takes them from the event loop.
    """

    def __init__(self, *, ahead: int) -> None:
        self._ahead = ahead
        self._waiting: deque[bytes] = deque()
        self._waiting_size = 0
        self._ended = False
        self._changed = anyio.Event()
        self._scope = anyio.CancelScope()
        self.size = 0
        self.failure: BaseException | None = None

    async def fill(self, chunks: AsyncIterable[bytes]) -> None:
        """Read the input ahead until it ends, fails, or `stop()`; records a failure, never raises one."""
        with self._scope:
            try:
                async for chunk in chunks:
                    while self._waiting_size >= self._ahead:
                        await self._changes()
                    if chunk:
                        self._waiting.append(chunk)
                        self._waiting_size += len(chunk)
                        self._notify()
            except BaseException as exc:  # a cancellation too: the upload must be aborted, not left behind
                self.failure = exc
                if isinstance(exc, anyio.get_cancelled_exc_class()):
                    raise
            finally:
                self._ended = True
                self._notify()

    def stop(self) -> None:
        self._scope.cancel()

    def read(self, size: int = -1) -> bytes:
        """Up to `size` bytes (all the input if negative), in one piece: b"" at the end.

        The SDK gathers a part by concatenating what each read returns (`part += data`), so a read hands it as much
        as the part asks for at once, waiting for that much input (or its end), rather than one small chunk at a
        time: a part of 5 MiB in 64 KiB chunks would otherwise cost it some 200 MiB of copying."""
        try:
            chunk = anyio.from_thread.run(self._next, size)
        except BaseException as exc:
            if self.failure is None:
                self.failure = exc
            raise _InputStopped from exc
        self.size += len(chunk)
        return chunk

    async def _next(self, size: int) -> bytes:
        wanted = self._ahead if size < 0 else min(size, self._ahead)  # `fill` stops at `ahead` bytes waiting
        while self._waiting_size < wanted and not self._ended:
            await self._changes()
        if not self._waiting and self.failure is not None:
            raise _InputStopped
        pieces: list[bytes] = []
        taken = 0
        while self._waiting and (size < 0 or taken < size):
            chunk = self._waiting.popleft()
            if size >= 0 and taken + len(chunk) > size:
                chunk, rest = chunk[: size - taken], chunk[size - taken :]
                self._waiting.appendleft(rest)
            pieces.append(chunk)
            taken += len(chunk)
        self._waiting_size -= taken
        self._notify()
        return pieces[0] if len(pieces) == 1 else b"".join(pieces)

    async def _changes(self) -> None:
        await self._changed.wait()

    def _notify(self) -> None:
        self._changed.set()
        self._changed = anyio.Event()


def _same(chunk: bytes) -> bytes:
    return chunk


class _ReadAhead(Generic[T]):
    """A thread that reads an object's body up to `READ_AHEAD_CHUNKS` chunks ahead of the caller, handing each
    chunk to `each` and queueing the result: `(result,)`, then `()` at the end."""

    def __init__(self, response: BaseHTTPResponse, chunk_size: int, each: Callable[[bytes], T]) -> None:
        self._response = response
        self._chunks = response.stream(chunk_size)
        self._each = each
        self._queue: queue.Queue[tuple[T] | tuple[()] | BaseException] = queue.Queue(READ_AHEAD_CHUNKS)
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._run, name="s3-read-ahead", daemon=True)
        self._thread.start()

    def next(self) -> tuple[T] | tuple[()]:
        """The next chunk's result, `()` at the end; raises what the read (or `each`) raised."""
        return self._taken(self._queue.get())

    def next_ready(self) -> tuple[T] | tuple[()] | None:
        """The next chunk's result if the thread has it already, else None (without waiting)."""
        try:
            return self._taken(self._queue.get_nowait())
        except queue.Empty:
            return None

    @staticmethod
    def _taken(item: tuple[T] | tuple[()] | BaseException) -> tuple[T] | tuple[()]:
        if isinstance(item, BaseException):
            raise item
        return item

    def close(self) -> None:
        """Stop reading and give the connection back (closed, if the body was not read to its end)."""
        self._stopped.set()
        _release(self._response)  # also ends a read in progress
        while self._thread.is_alive():
            with contextlib.suppress(queue.Empty):
                self._queue.get(timeout=_POLL_SECONDS)  # makes room for a put that waits

    def _run(self) -> None:
        try:
            for chunk in self._chunks:
                if chunk and not self._put((self._each(chunk),)):
                    return
            self._put(())
        except BaseException as exc:  # handed to the reader, which raises it in its own thread
            self._put(exc)

    def _put(self, item: tuple[T] | tuple[()] | BaseException) -> bool:
        while not self._stopped.is_set():
            try:
                self._queue.put(item, timeout=_POLL_SECONDS)
            except queue.Full:
                continue
            return True
        return False


async def _next_item(ahead: _ReadAhead[T], key: str) -> tuple[T] | tuple[()]:
    """A chunk the read-ahead thread holds already is taken at once: a worker thread is needed only to wait for one."""
    with _translate_errors(key):
        item = ahead.next_ready()
    return item if item is not None else await _call(ahead.next, key=key)


async def _call(func: Callable[[*Ts], T], *args: *Ts, key: str | None = None) -> T:
    """Run a blocking SDK call in a worker thread, translating its errors to BlobStoreError."""
    with _translate_errors(key):
        return await anyio.to_thread.run_sync(func, *args)


@contextlib.contextmanager
def _translate_errors(key: str | None) -> Iterator[None]:
    try:
        yield
    except S3Error as exc:
        if exc.code == "NoSuchKey":
            raise BlobNotFound(key or exc.object_name or "") from exc
        if exc.code == "NoSuchBucket" or exc.response.status >= 500:
            raise BlobStoreUnavailable(f"S3 request failed: {exc.code}: {exc.message}") from exc
        raise BlobStoreError(f"S3 request failed: {exc.code}: {exc.message}") from exc
    except (ServerError, InvalidResponseError, HTTPError, OSError) as exc:
        # Connection refused, timeouts, resets, 5xx and non-S3 answers (a proxy's error page).
        raise BlobStoreUnavailable(f"S3 server unreachable or failing: {exc}") from exc


def _release(response: BaseHTTPResponse) -> None:
    # close() before release_conn(): a half-read connection must not go back to the pool.
    response.close()
    response.release_conn()
