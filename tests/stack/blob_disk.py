"""The blob store's disk, made small enough to fill: each SeaweedFS volume server's data folder on a filesystem of its
own (an ext4 image, loop-mounted), and a filler file that takes every free block of it while the fault lasts.

It needs root (mount, losetup); `available()` says whether this machine allows it. The image is sparse and the filler
is allocated with fallocate, so filling several gigabytes costs no writing."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

# SeaweedFS's volume servers (`-max=0`) allow one volume per free `-volumeSizeLimitMB` (1 GiB in the stack): the disk
# must hold a few, since the bucket's collection grows several at once.
IMAGE_MB = 8192
MARGIN = 64 * 1024 * 1024


def available() -> bool:
    return os.geteuid() == 0 and all(shutil.which(tool) for tool in ("mkfs.ext4", "mount", "umount", "fallocate"))


@contextlib.contextmanager
def small_disks(folders: list[Path], work: Path) -> Iterator[list[Path]]:
    """Each of `folders` a mounted filesystem of IMAGE_MB for the duration; unmounted and deleted afterwards."""
    mounted: list[Path] = []
    try:
        for n, folder in enumerate(folders):
            image = work / f"blob-disk-{n}.img"
            with image.open("wb") as out:
                out.truncate(IMAGE_MB * 1024 * 1024)
            _run("mkfs.ext4", "-q", "-F", "-m", "0", "-E", "lazy_itable_init=1,lazy_journal_init=1", str(image))
            folder.mkdir(parents=True, exist_ok=True, mode=0o700)
            _run("mount", "-o", "loop", str(image), str(folder))
            mounted.append(folder)
            folder.chmod(0o700)
        yield mounted
    finally:
        for folder in mounted:
            subprocess.run(["umount", "-l", str(folder)], check=False, capture_output=True)


def fill(folders: list[Path]) -> None:
    """Take every free block of each folder's filesystem: fallocate all but a margin (ext4 needs some blocks to map a
    large file), then write the rest until the filesystem says it is full."""
    for folder in folders:
        stats = os.statvfs(folder)
        free = stats.f_bfree * stats.f_frsize
        _run("fallocate", "-l", str(max(free - MARGIN, 4096)), str(folder / "filler"))
        with (folder / "filler-tail").open("wb", buffering=0) as out:
            for chunk in (b"\0" * 1024 * 1024, b"\0" * 4096) * 3:  # again once flushed: delayed allocation
                with contextlib.suppress(OSError):
                    while True:
                        out.write(chunk)
                with contextlib.suppress(OSError):
                    os.fsync(out.fileno())
        _assert_full(folder)


def _assert_full(folder: Path) -> None:
    """Full as a writer sees it (ext4 keeps a few thousand blocks of its own, which statvfs counts as free)."""
    probe = folder / "probe"
    try:
        with probe.open("wb", buffering=0) as out:
            out.write(b"\0" * 65536)
            os.fsync(out.fileno())
    except OSError:
        return
    finally:
        probe.unlink(missing_ok=True)
    raise RuntimeError(f"{folder} still takes writes after being filled")


def empty(folders: list[Path]) -> None:
    for folder in folders:
        for name in ("filler", "filler-tail"):
            (folder / name).unlink(missing_ok=True)


def _run(*command: str) -> None:
    result = subprocess.run(list(command), check=False, capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(command)}: {result.stderr.strip()}")
