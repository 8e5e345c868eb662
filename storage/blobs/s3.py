"""A blob store in an S3 bucket, through the synchronous `minio` SDK run in worker threads."""

from __future__ import annotations

import builtins
import contextlib
from collections.abc import AsyncGenerator, AsyncIterable, Callable, Iterator
from typing import TypeVar, TypeVarTuple

import anyio
import anyio.to_thread
import urllib3
from minio import Minio
from minio.datatypes import Object, Part
from minio.error import InvalidResponseError, S3Error, ServerError
from minio.helpers import DictType
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
DEFAULT_PART_SIZE = 8 << 20


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
    `part_size` parts (memory stays near two parts), completed only when the input ends, aborted
    if it fails or is cancelled, so that no object and no parts remain. Every SDK call runs in a
    worker thread. Objects are limited to 10,000 parts (about 78 GiB at the default part size).
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
        upload = _Upload(self._client, self._bucket, key, {"Content-Type": content_type})
        try:
            async with contextlib.aclosing(_blocks(chunks, self._part_size)) as blocks:
                async for block in blocks:
                    if not upload.started and len(block) < self._part_size:
                        # Only a short last block is below part size: the whole object fits one PUT.
                        return await upload.put_whole(block)
                    await upload.add_part(block)
                    del block  # why: free this part before the next one is gathered (memory ≈ 2 parts)
            return await upload.complete()
        except BaseException:
            # Shielded so that a cancelled put still aborts its multipart upload.
            with anyio.CancelScope(shield=True):
                await upload.abort()
            raise

    def get(self, key: str, *, chunk_size: int = DEFAULT_CHUNK_SIZE) -> AsyncGenerator[bytes, None]:
        if chunk_size < 1:
            raise ValueError("chunk_size must be positive")
        return self._read(validate_key(key), chunk_size)

    async def delete(self, key: str) -> None:
        await _call(self._client.remove_object, self._bucket, validate_key(key))

    async def exists(self, key: str) -> bool:
        try:
            await _call(self._client.stat_object, self._bucket, validate_key(key))
        except BlobNotFound:
            return False
        return True

    def list(self, prefix: str = "") -> AsyncGenerator[BlobInfo, None]:
        return self._list(validate_prefix(prefix))

    async def check(self) -> None:
        if not await _call(self._client.bucket_exists, self._bucket):
            raise BlobStoreUnavailable(f"S3 bucket {self._bucket!r} does not exist")

    # -- internals ---------------------------------------------------------------------------------------------------

    async def _read(self, key: str, chunk_size: int) -> AsyncGenerator[bytes, None]:
        response = await _call(self._client.get_object, self._bucket, key, key=key)
        try:
            stream = response.stream(chunk_size)
            while (chunk := await _call(next, stream, b"")) != b"":
                yield chunk
        finally:
            with anyio.CancelScope(shield=True):
                await anyio.to_thread.run_sync(_release, response)

    async def _list(self, prefix: str) -> AsyncGenerator[BlobInfo, None]:
        objects: Iterator[Object] = iter(self._client.list_objects(self._bucket, prefix=prefix or None, recursive=True))
        while (obj := await _call(next, objects, None)) is not None:
            if obj.is_dir or obj.object_name is None:
                continue
            if obj.last_modified is None:
                raise BlobStoreError(f"S3 listing gave no modification time for {obj.object_name!r}")
            yield BlobInfo(obj.object_name, obj.size or 0, obj.last_modified)


class _Upload:
    """The state of one put: nothing yet, or a multipart upload with its uploaded parts."""

    def __init__(self, client: Minio, bucket: str, key: str, headers: DictType) -> None:
        self._client = client
        self._bucket = bucket
        self._key = key
        self._headers = headers
        self._upload_id: str | None = None
        self._parts: builtins.list[Part] = []
        self._size = 0

    @property
    def started(self) -> bool:
        return self._upload_id is not None

    async def put_whole(self, data: bytes) -> int:
        await _call(self._client._put_object, self._bucket, self._key, data, self._headers)
        return len(data)

    async def add_part(self, data: bytes) -> None:
        upload_id = self._upload_id
        if upload_id is None:
            upload_id = await _call(self._client._create_multipart_upload, self._bucket, self._key, self._headers)
            self._upload_id = upload_id
        number = len(self._parts) + 1
        # anyio's idle worker thread keeps the arguments of its last call alive; handing the part
        # over in a list that the thread empties frees it once sent (memory ≈ 2 parts, not 3).
        etag = await _call(self._send_part, upload_id, number, [data])
        self._parts.append(Part(number, etag))
        self._size += len(data)

    def _send_part(self, upload_id: str, number: int, handoff: builtins.list[bytes]) -> str:
        return self._client._upload_part(self._bucket, self._key, handoff.pop(), None, upload_id, number)

    async def complete(self) -> int:
        if self._upload_id is None:
            raise BlobStoreError("multipart upload completed before it started")  # _blocks yields ≥ 1 block
        await _call(self._client._complete_multipart_upload, self._bucket, self._key, self._upload_id, self._parts)
        self._upload_id = None  # why: a completed upload must not be aborted by a later failure
        return self._size

    async def abort(self) -> None:
        if self._upload_id is None:
            return
        # Best effort: if the server is down the parts stay until a lifecycle rule
        # (AbortIncompleteMultipartUpload) removes them; they are never visible as an object.
        with contextlib.suppress(BlobStoreError):
            await _call(self._client._abort_multipart_upload, self._bucket, self._key, self._upload_id)
        self._upload_id = None


async def _blocks(chunks: AsyncIterable[bytes], size: int) -> AsyncGenerator[bytes, None]:
    """Regroup chunks into blocks of at least `size` bytes; the last may be shorter (or empty)."""
    pending: builtins.list[bytes] = []
    pending_size = 0
    yielded = False
    async for chunk in chunks:
        pending.append(chunk)
        pending_size += len(chunk)
        if pending_size >= size:
            yield _drain(pending)
            pending_size, yielded = 0, True
    if pending or not yielded:
        yield _drain(pending)


def _drain(pending: builtins.list[bytes]) -> bytes:
    """Join and clear, so the caller's block is the only reference to the data."""
    block = b"".join(pending)
    pending.clear()
    return block


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
