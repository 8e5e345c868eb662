"""The blob store contract: one protocol, its errors, and the key grammar every backend enforces."""

from __future__ import annotations

import contextlib
import re
from collections.abc import AsyncGenerator, AsyncIterable, AsyncIterator, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol, TypeVar, runtime_checkable

import anyio.to_thread

DEFAULT_CONTENT_TYPE = "application/octet-stream"
DEFAULT_CHUNK_SIZE = 1 << 20
T = TypeVar("T")

# S3 caps keys at 1024 bytes and most filesystems cap a name at 255 bytes; enforcing both here
# keeps a key that works on one backend working on every other.
MAX_KEY_LENGTH = 1024
MAX_SEGMENT_LENGTH = 255

# A segment may not start with "." so that ".", "..", hidden files and the local store's `.tmp/`
# folder can never be addressed by a key.
_SEGMENT = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9._-]*")
_PARTIAL_SEGMENT = re.compile(r"[A-Za-z0-9._-]*")


class BlobStoreError(Exception):
    """Base for every failure of a blob store."""


class BlobNotFound(BlobStoreError):
    """No object is stored under the requested key."""

    def __init__(self, key: str) -> None:
        super().__init__(f"no blob stored under {key!r}")
        self.key = key


class BlobStoreUnavailable(BlobStoreError):
    """The backend could not be reached or failed (network, 5xx, disk I/O)."""


@dataclass(frozen=True, slots=True)
class BlobInfo:
    """One stored object, as seen by `BlobStore.list`."""

    key: str
    size: int
    modified_at: datetime  # timezone-aware, UTC


@runtime_checkable
class BlobStore(Protocol):
    """Streams opaque objects in and out of a backend, addressed by `/`-separated keys.

    Keys are validated by `validate_key` (invalid keys raise ValueError before any I/O).
    Listing is in the backend's key order, the same on every call (byte order on the local folder and on AWS S3;
    SeaweedFS orders folder by folder), so `start_after` resumes a walk.
    """

    async def put(self, key: str, chunks: AsyncIterable[bytes], *, content_type: str = DEFAULT_CONTENT_TYPE) -> int:
        """Store the chunks under `key` and return the number of bytes written.

        Memory stays flat whatever the size. Atomic: a put that fails or is cancelled before it
        returns leaves no new object under `key` (a previous object there is kept).
        """
        ...

    def get(self, key: str, *, chunk_size: int = DEFAULT_CHUNK_SIZE) -> AsyncIterator[bytes]:
        """Stream the object; raises BlobNotFound before the first chunk if there is none.

        Close the iterator when stopping early (`contextlib.aclosing`) to release the connection or file.
        """
        ...

    async def delete(self, key: str) -> None:
        """Remove the object; deleting a missing key is not an error."""
        ...

    async def exists(self, key: str) -> bool:
        """Whether an object is stored under `key`."""
        ...

    def list(self, prefix: str = "", *, start_after: str = "") -> AsyncIterator[BlobInfo]:
        """Every object whose key starts with `prefix` (a plain string prefix, as in S3) and sorts after
        `start_after` (S3's `start-after`): a walk stopped at a key resumes right after it, deleted or not."""
        ...

    async def check(self) -> None:
        """Health probe: returns if the backend is usable, raises BlobStoreUnavailable otherwise."""
        ...


@runtime_checkable
class ReadsThrough(Protocol):
    """A store that can hand each chunk it reads to a function in the worker thread that read it (`read_through`)."""

    def get_through(
        self, key: str, each: Callable[[memoryview], T], *, chunk_size: int = DEFAULT_CHUNK_SIZE
    ) -> AsyncGenerator[T, None]: ...


Write = Callable[[memoryview], None]
"""Writes bytes to the object being put, at once: the caller may reuse their buffer as soon as it returns."""


@runtime_checkable
class WritesThrough(Protocol):
    """A store that can run each step of a put in a worker thread with a function that writes to the object at once,
    so the bytes can be made in a buffer reused from step to step."""

    async def put_through(self, key: str, steps: AsyncIterable[Callable[[Write], None]]) -> int:
        """Run every step, in order, each in a worker thread, given `Write`; then store the object as `put` does (same
        atomicity: a failed or cancelled step leaves no new object). Returns the number of bytes written."""
        ...


def read_through(
    store: BlobStore, key: str, each: Callable[[memoryview], T], *, chunk_size: int = DEFAULT_CHUNK_SIZE
) -> AsyncGenerator[T, None]:
    """`each(chunk)` of every chunk of the object, in order, each run in a worker thread; raises as `get` does.

    `each` gets a view that is valid only during the call (a store may read the next chunk into the same buffer), so
    it must copy what it keeps. A store that reads in worker threads itself (`ReadsThrough`) runs `each` in the hop
    that read the chunk, and reuses one buffer: half the thread hops, and no fresh memory a chunk; any other store's
    chunks go through one hop each."""
    if isinstance(store, ReadsThrough):
        return store.get_through(key, each, chunk_size=chunk_size)
    return _each_in_thread(store.get(key, chunk_size=chunk_size), each)


async def _each_in_thread(chunks: AsyncIterator[bytes], each: Callable[[memoryview], T]) -> AsyncGenerator[T, None]:
    async with contextlib.aclosing(chunks):  # type: ignore[type-var]  # every backend's `get` is a generator
        async for chunk in chunks:
            yield await anyio.to_thread.run_sync(each, memoryview(chunk))


def validate_key(key: str) -> str:
    """Return `key` if it is a valid blob key, else raise ValueError saying why.

    A key is a relative path of 1–255 character segments of `[A-Za-z0-9._-]` that do not start
    with "."; at most 1024 characters.
    """
    if not isinstance(key, str) or not key:
        raise ValueError("blob key must be a non-empty string")
    if len(key) > MAX_KEY_LENGTH:
        raise ValueError(f"blob key longer than {MAX_KEY_LENGTH} characters")
    if key.startswith("/"):
        raise ValueError(f"blob key must be relative, not start with '/': {key!r}")
    for segment in key.split("/"):
        _check_segment(key, segment)
    return key


def validate_prefix(prefix: str) -> str:
    """Return `prefix` if some valid key could start with it, else raise ValueError.

    Everything up to the last "/" must be a valid key; what follows may be any partial segment.
    """
    if not isinstance(prefix, str):
        raise ValueError("blob prefix must be a string")
    if prefix.startswith("/"):
        raise ValueError(f"blob prefix must be relative, not start with '/': {prefix!r}")
    directory, _, partial = prefix.rpartition("/")
    if directory:
        validate_key(directory)
    if len(prefix) > MAX_KEY_LENGTH or not _PARTIAL_SEGMENT.fullmatch(partial):
        raise ValueError(f"invalid blob prefix {prefix!r}")
    return prefix


def _check_segment(key: str, segment: str) -> None:
    if not segment:
        raise ValueError(f"blob key has an empty segment ('//' or a trailing '/'): {key!r}")
    if segment in {".", ".."}:
        raise ValueError(f"blob key may not contain '.' or '..' segments: {key!r}")
    if len(segment) > MAX_SEGMENT_LENGTH:
        raise ValueError(f"blob key segment longer than {MAX_SEGMENT_LENGTH} characters: {key!r}")
    if not _SEGMENT.fullmatch(segment):
        raise ValueError(f"blob key segments use only A-Z a-z 0-9 . _ - and may not start with '.': {key!r}")
