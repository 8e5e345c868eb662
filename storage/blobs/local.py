"""A blob store in a local folder: one file per key, for development, tests and single-node setups."""

from __future__ import annotations

import builtins
import contextlib
import os
import stat
import tempfile
from collections.abc import AsyncGenerator, AsyncIterable, Awaitable, Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from io import BufferedReader
from pathlib import Path
from typing import BinaryIO, TypeVar, TypeVarTuple

import anyio
import anyio.to_thread

from storage.blobs.base import (
    DEFAULT_CHUNK_SIZE,
    DEFAULT_CONTENT_TYPE,
    BlobInfo,
    BlobNotFound,
    BlobStoreError,
    BlobStoreUnavailable,
    Write,
    validate_key,
    validate_prefix,
)

T = TypeVar("T")
Ts = TypeVarTuple("Ts")

_TMP_DIR = ".tmp"
_FILE_MODE = 0o600
_DIR_MODE = 0o700
# Small chunks are gathered into one write so a stream of 4 KiB chunks does not cost a thread hop each; an upload's
# sealed batch (up to 4 MiB, `wallet.files`) comes as a run of pieces its sealer holds already, so it goes in one
# write at no cost in memory: a 10 MiB scan takes three hops instead of ten.
_WRITE_BATCH = 4 << 20
# A concurrent delete may prune a freshly made empty folder before our rename lands in it.
_INSTALL_ATTEMPTS = 5
_MISSING = (FileNotFoundError, NotADirectoryError, IsADirectoryError)


@dataclass(frozen=True, slots=True)
class _Entry:
    key: str
    path: Path
    is_dir: bool
    size: int = 0
    mtime: float = 0.0


class LocalBlobStore:
    """Stores each blob as a file under `root` (`root/<key>`), written atomically.

    A put writes to a temporary file in `root/.tmp/` and renames it into place, with one fsync per new
    key (`_install` says why that is enough): readers see the old object or the new one, never a
    partial file. Files are
    created 0600 and folders 0700. Every blocking call runs in a worker thread. The content type is
    not stored. Unlike S3, a key cannot be both an object and a folder ("a" and "a/b"): such a put
    raises BlobStoreError.
    """

    def __init__(self, root: Path) -> None:
        self._root = root
        self._tmp = root / _TMP_DIR

    def __repr__(self) -> str:
        return f"LocalBlobStore(root={str(self._root)!r})"

    async def put(self, key: str, chunks: AsyncIterable[bytes], *, content_type: str = DEFAULT_CONTENT_TYPE) -> int:
        return await self._installed(key, lambda file: _write_all(file, chunks))

    async def put_through(self, key: str, steps: AsyncIterable[Callable[[Write], None]]) -> int:
        """`base.WritesThrough`: each step writes straight to the temporary file, in the worker thread it runs in."""
        return await self._installed(key, lambda file: _run_steps(file, steps))

    def get(self, key: str, *, chunk_size: int = DEFAULT_CHUNK_SIZE) -> AsyncGenerator[bytes, None]:
        if chunk_size < 1:
            raise ValueError("chunk_size must be positive")
        return self._read(key, self._path(key), chunk_size)

    def get_through(
        self, key: str, each: Callable[[memoryview], T], *, chunk_size: int = DEFAULT_CHUNK_SIZE
    ) -> AsyncGenerator[T, None]:
        """`base.read_through`: each chunk read into one buffer and handed to `each` in the same worker-thread hop."""
        if chunk_size < 1:
            raise ValueError("chunk_size must be positive")
        return self._read_through(key, self._path(key), each, chunk_size)

    async def delete(self, key: str) -> None:
        await _io(_remove, self._path(key), self._root)

    async def exists(self, key: str) -> bool:
        return await _io(_is_file, self._path(key))

    def list(self, prefix: str = "", *, start_after: str = "") -> AsyncGenerator[BlobInfo, None]:
        return self._walk(validate_prefix(prefix), start_after)

    async def check(self) -> None:
        await _io(self._probe)

    # -- internals ---------------------------------------------------------------------------------------------------

    def _path(self, key: str) -> Path:
        return self._root / validate_key(key)

    async def _installed(self, key: str, fill: Callable[[BinaryIO], Awaitable[int]]) -> int:
        """`fill` a new temporary file, then install it under `key`; returns what `fill` returned (its size)."""
        target = self._path(key)
        file, tmp = await _io(self._open_temp)
        try:
            size = await fill(file)
            await _io(_install, file, tmp, target, self._root)
        except BaseException:
            # Shielded so that a cancelled put still removes its temporary file.
            with anyio.CancelScope(shield=True):
                await anyio.to_thread.run_sync(_discard, file, tmp)
            raise
        return size

    def _open_temp(self) -> tuple[BinaryIO, Path]:
        _make_dirs(self._root, self._tmp)
        fd, name = tempfile.mkstemp(dir=self._tmp, prefix="put-")  # mkstemp creates the file 0600
        return os.fdopen(fd, "wb"), Path(name)

    def _probe(self) -> None:
        """Prove the folder is writable, not merely present."""
        _make_dirs(self._root, self._tmp)
        with tempfile.NamedTemporaryFile(dir=self._tmp, prefix="check-") as probe:
            probe.write(b"ok")
            probe.flush()

    async def _read(self, key: str, path: Path, chunk_size: int) -> AsyncGenerator[bytes, None]:
        file = await _io(_open_existing, path)
        if file is None:
            raise BlobNotFound(key)
        try:
            while chunk := await _io(file.read, chunk_size):
                yield chunk
        finally:
            with anyio.CancelScope(shield=True):
                await anyio.to_thread.run_sync(file.close)

    async def _read_through(
        self, key: str, path: Path, each: Callable[[memoryview], T], chunk_size: int
    ) -> AsyncGenerator[T, None]:
        file = await _io(_open_existing, path)
        if file is None:
            raise BlobNotFound(key)
        buffer = bytearray(chunk_size)  # one for the whole read, not a new object a chunk (fresh memory: page faults)
        try:
            while (result := await _io(_read_into, file, buffer, each)) is not None:
                yield result[0]
        finally:
            with anyio.CancelScope(shield=True):
                await anyio.to_thread.run_sync(file.close)

    async def _walk(self, prefix: str, start_after: str) -> AsyncGenerator[BlobInfo, None]:
        """Depth-first walk from the deepest folder the prefix names; yields keys in byte order, those after
        `start_after` only. A folder whose keys all sort before it is skipped unread: every key under `d/` sorts
        after `d/`, and before `start_after` when `start_after` follows `d/` without lying inside it."""
        directory = prefix.rpartition("/")[0]
        start = self._root / directory if directory else self._root
        stack: builtins.list[Iterator[_Entry]] = [iter(await _io(_scan, start, directory))]
        while stack:
            entry = next(stack[-1], None)
            if entry is None:
                stack.pop()
            elif entry.is_dir:
                folder = entry.key + "/"
                if folder.startswith(prefix) and (folder > start_after or start_after.startswith(folder)):
                    stack.append(iter(await _io(_scan, entry.path, entry.key)))
            elif entry.key.startswith(prefix) and entry.key > start_after:
                yield BlobInfo(entry.key, entry.size, datetime.fromtimestamp(entry.mtime, tz=UTC))


async def _io(func: Callable[[*Ts], T], *args: *Ts) -> T:
    """Run a blocking file operation in a worker thread, translating OS errors."""
    with _translate_os_errors():
        return await anyio.to_thread.run_sync(func, *args)


@contextlib.contextmanager
def _translate_os_errors() -> Iterator[None]:
    try:
        yield
    except OSError as exc:
        raise BlobStoreUnavailable(f"local blob store I/O failed: {exc}") from exc


async def _write_all(file: BinaryIO, chunks: AsyncIterable[bytes]) -> int:
    size = 0
    pending: builtins.list[bytes] = []
    pending_size = 0
    async for chunk in chunks:
        pending.append(chunk)
        pending_size += len(chunk)
        size += len(chunk)
        if pending_size >= _WRITE_BATCH:
            await _io(file.writelines, pending)
            pending, pending_size = [], 0
    await _io(_flush, file, pending)
    return size


async def _run_steps(file: BinaryIO, steps: AsyncIterable[Callable[[Write], None]]) -> int:
    size = 0

    def write(data: memoryview) -> None:
        nonlocal size
        file.write(data)
        size += len(data)

    async for step in steps:
        await _io(step, write)
    await _io(file.flush)
    return size


def _flush(file: BinaryIO, pending: builtins.list[bytes]) -> None:
    file.writelines(pending)
    file.flush()


def _install(file: BinaryIO, tmp: Path, target: Path, root: Path) -> None:
    """Put the finished temporary file under its key, durably, with one fsync for a new key.

    A new key is renamed into place first and then its file fsynced. On the journaling filesystems this
    store is meant for (ext4, XFS, btrfs) a file's fsync also commits the metadata changes made before
    it that touch the file, its rename included (ext4 and XFS commit their log up to that point, btrfs
    logs the file's new name), so when fsync returns both the bytes and the name are on disk; a second
    fsync of the folder would cost a second log flush for nothing. A crash before fsync returns may
    leave the key empty or partial, but the put has not returned, so nothing refers to it: the wallet
    records a pending blob before each upload and the janitor removes it. Replacing an existing object
    keeps the stricter order (fsync, rename, fsync the folder) so the old object is never lost to a
    failure half-way. New folders are fsynced once, when created (`_make_dirs`)."""
    replacing = _is_file(target)
    if replacing:
        os.fsync(file.fileno())
    _rename(tmp, target, root)
    if replacing:
        _fsync_dir(target.parent)
    else:
        _sync_installed(file, target)
    file.close()


def _rename(tmp: Path, target: Path, root: Path) -> None:
    for attempt in range(_INSTALL_ATTEMPTS):
        try:
            # A delete in the same folder may prune it, or its parent, while it is made or before the rename lands.
            _make_dirs(root, target.parent)
            tmp.replace(target)
        except FileNotFoundError:
            if attempt + 1 == _INSTALL_ATTEMPTS:
                raise
        except IsADirectoryError:
            raise _conflict(target) from None
        else:
            return


def _sync_installed(file: BinaryIO, target: Path) -> None:
    """fsync the renamed file; if that fails, take it back out so a failed put leaves no new object."""
    try:
        os.fsync(file.fileno())
    except OSError:
        with contextlib.suppress(OSError):
            if target.stat().st_ino == os.fstat(file.fileno()).st_ino:  # not another put's object since
                target.unlink()
        raise


def _read_into(file: BufferedReader, buffer: bytearray, each: Callable[[memoryview], T]) -> tuple[T] | None:
    """`each` of the next chunk, or None at the end of the file."""
    read = file.readinto(buffer)
    if not read:
        return None
    with memoryview(buffer) as view:
        return (each(view[:read]),)


def _open_existing(path: Path) -> BufferedReader | None:
    try:
        return path.open("rb")
    except _MISSING:
        return None


def _discard(file: BinaryIO, tmp: Path) -> None:
    # The put's own error is the one to report: a failing cleanup must not replace it.
    with contextlib.suppress(OSError):
        file.close()
    with contextlib.suppress(OSError):
        tmp.unlink(missing_ok=True)


def _is_file(path: Path) -> bool:
    """Path.is_file() would also answer False to an I/O error; only a missing file is "no"."""
    try:
        return stat.S_ISREG(path.stat().st_mode)
    except _MISSING:
        return False


def _remove(path: Path, root: Path) -> None:
    try:
        path.unlink()
    except _MISSING:
        return  # deleting a missing key is not an error
    _fsync_dir(path.parent)
    # Prune folders left empty so that an erased owner's key prefix does not linger as a folder name.
    for parent in path.parents:
        if parent == root or root not in parent.parents:
            break
        try:
            parent.rmdir()
        except OSError:
            break  # not empty (or already gone): stop pruning


def _make_dirs(root: Path, directory: Path) -> None:
    """Create `directory` and its missing parents 0700, one by one: mkdir(parents=True) ignores `mode`."""
    if not root.is_dir():
        root.mkdir(mode=_DIR_MODE, parents=True, exist_ok=True)
    below_root = [folder for folder in (directory, *directory.parents) if root in folder.parents]
    for folder in reversed(below_root):
        try:
            folder.mkdir(mode=_DIR_MODE)
        except FileExistsError:
            if not folder.is_dir():
                raise _conflict(folder) from None
            continue
        _fsync_dir(folder.parent)


def _conflict(path: Path) -> BlobStoreError:
    return BlobStoreError(f"a local blob key cannot be both an object and a folder: {path.name!r}")


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _scan(directory: Path, key: str) -> builtins.list[_Entry]:
    """The entries of one folder, sorted so that a depth-first walk yields keys in byte order."""
    entries: builtins.list[_Entry] = []
    try:
        with os.scandir(directory) as found:
            for item in found:
                if item.name.startswith("."):
                    continue  # `.tmp/` and anything else no key can name
                entry_key = f"{key}/{item.name}" if key else item.name
                if item.is_dir(follow_symlinks=False):
                    entries.append(_Entry(entry_key, Path(item.path), is_dir=True))
                elif item.is_file(follow_symlinks=False):
                    info = item.stat(follow_symlinks=False)
                    entries.append(_Entry(entry_key, Path(item.path), False, info.st_size, info.st_mtime))
    except _MISSING:
        return []
    # "a/b" sorts before "a-c" as a key only if folder "a" is compared as "a/".
    entries.sort(key=lambda e: e.key + "/" if e.is_dir else e.key)
    return entries
