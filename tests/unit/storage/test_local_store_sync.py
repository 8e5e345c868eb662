"""What the local store asks of the disk: one fsync for a new key, the stricter order when it replaces an object, and
no new object left behind when the fsync fails."""

from __future__ import annotations

import os
import stat
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from storage.blobs import BlobStoreUnavailable, LocalBlobStore, local

pytestmark = pytest.mark.anyio


async def chunks(data: bytes) -> AsyncIterator[bytes]:
    for start in range(0, len(data), 4096):
        yield data[start : start + 4096]


class Syncs:
    """Every fsync the store makes, by kind, passed through to the real one (or failing on a file when told)."""

    def __init__(self, real: Callable[[int], None]) -> None:
        self.real = real
        self.calls: list[tuple[str, int]] = []
        self.fail_files = False

    def __call__(self, fd: int) -> None:
        info = os.fstat(fd)
        kind = "dir" if stat.S_ISDIR(info.st_mode) else "file"
        self.calls.append((kind, info.st_ino))
        if kind == "file" and self.fail_files:
            raise OSError(5, "Input/output error")
        self.real(fd)


@pytest.fixture
def syncs(monkeypatch: pytest.MonkeyPatch) -> Syncs:
    spy = Syncs(os.fsync)
    monkeypatch.setattr(os, "fsync", spy)
    return spy


@pytest.fixture
async def store(tmp_path: Path) -> LocalBlobStore:
    local = LocalBlobStore(tmp_path)
    await local.put("c/one/first", chunks(b"folders made"))  # the folders exist before the puts measured
    return local


class TestOneFsyncPerNewKey:
    async def test_a_new_key_costs_one_fsync_of_its_own_file(
        self, store: LocalBlobStore, tmp_path: Path, syncs: Syncs
    ) -> None:
        data = os.urandom(300_000)
        assert await store.put("c/one/second", chunks(data)) == len(data)
        stored = tmp_path / "c" / "one" / "second"
        assert syncs.calls == [("file", stored.stat().st_ino)]
        assert stored.read_bytes() == data

    async def test_replacing_an_object_syncs_the_file_before_the_rename_and_the_folder_after(
        self, store: LocalBlobStore, tmp_path: Path, syncs: Syncs
    ) -> None:
        await store.put("c/one/first", chunks(b"replaced"))
        stored = tmp_path / "c" / "one" / "first"
        folder = tmp_path / "c" / "one"
        assert syncs.calls == [("file", stored.stat().st_ino), ("dir", folder.stat().st_ino)]
        assert stored.read_bytes() == b"replaced"


class TestFailedFsync:
    async def test_a_new_key_is_taken_back_out(self, store: LocalBlobStore, tmp_path: Path, syncs: Syncs) -> None:
        syncs.fail_files = True
        with pytest.raises(BlobStoreUnavailable):
            await store.put("c/one/second", chunks(b"never durable"))
        assert not await store.exists("c/one/second")
        assert list((tmp_path / ".tmp").iterdir()) == []

    async def test_a_replaced_object_is_kept(self, store: LocalBlobStore, tmp_path: Path, syncs: Syncs) -> None:
        syncs.fail_files = True
        with pytest.raises(BlobStoreUnavailable):
            await store.put("c/one/first", chunks(b"never durable"))
        assert (tmp_path / "c" / "one" / "first").read_bytes() == b"folders made"
        assert list((tmp_path / ".tmp").iterdir()) == []


class TestConcurrentPrune:
    """A delete of the folder's last object prunes the folders it leaves empty, a put's freshly made ones included."""

    async def test_a_put_whose_new_folders_are_pruned_while_it_makes_them_makes_them_again(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        store = LocalBlobStore(tmp_path)
        await store.put("bench/seed", chunks(b"the root exists"))
        real = local._fsync_dir
        pruned: list[Path] = []

        def fsync_dir_after_a_prune(directory: Path) -> None:
            made = directory / "two"
            if not pruned and made.is_dir():
                made.rmdir()  # what a concurrent delete does to an empty folder...
                directory.rmdir()  # ...and to its parent, left empty too
                pruned.append(made)
            real(directory)

        monkeypatch.setattr(local, "_fsync_dir", fsync_dir_after_a_prune)
        assert await store.put("c/two/file", chunks(b"kept")) == 4
        assert pruned == [tmp_path / "c" / "two"]
        assert (tmp_path / "c" / "two" / "file").read_bytes() == b"kept"
        assert list((tmp_path / ".tmp").iterdir()) == []
