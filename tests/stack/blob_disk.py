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
    """Take every free block of each folder's filesystem."""
    for folder in folders:
        stats = os.statvfs(folder)
        free = stats.f_bfree * stats.f_frsize
        filler = folder / "filler"
        _run("fallocate", "-l", str(max(free - 4096, 4096)), str(filler))
        with contextlib.suppress(OSError), (folder / "filler-tail").open("wb") as out:
            while True:  # whatever fallocate's rounding left
                out.write(b"\0" * 4096)
                out.flush()
                os.fsync(out.fileno())


def empty(folders: list[Path]) -> None:
    for folder in folders:
        for name in ("filler", "filler-tail"):
            (folder / name).unlink(missing_ok=True)


def _run(*command: str) -> None:
    result = subprocess.run(list(command), check=False, capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(command)}: {result.stderr.strip()}")
