"""py-spy around benchmark processes: record a flame graph (SVG) of a running process or of a command, and read the
SVG back into the functions that took the most time themselves.

py-spy samples the Python stacks of another process from outside (`process_vm_readv`, ptrace to attach); it needs
the right to trace that process: root (as here) or CAP_SYS_PTRACE (a container needs `--cap-add SYS_PTRACE`);
under Yama's `ptrace_scope` 1 an unprivileged py-spy can profile only a command it starts itself. Sampling is
`--nonblocking`: py-spy reads the stacks without stopping the process. Both modes work here as root;
stopping it for every sample (the default) made idle worker threads look busy (the kernel then reports every thread
stopped, so py-spy cannot tell the idle ones), twice as many samples of threads waiting on their queues for the same
throughput. A rare stack read mid-change is the price; shares of time are what a profile shows, not speed figures.
"""

from __future__ import annotations

import html
import math
import os
import re
import subprocess
import sys
from bisect import bisect_left, bisect_right
from collections import defaultdict
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from api.logging import OWN_PACKAGES

PY_SPY = Path(sys.executable).with_name("py-spy")
RATE = 100  # samples a second, py-spy's default
WRITE_TIMEOUT = 60.0  # seconds py-spy may take beyond its sampling time to write the SVG

# One frame of py-spy's (inferno's) SVG: `<g><title>name (file:line) (N samples, P%)</title><rect ... y="68" ...
# fg:x="30" fg:w="69"/>`; fg:x and fg:w count samples, y is the row (one row per stack depth).
_FRAME = re.compile(r'<g><title>([^<]*)</title><rect [^>]*?y="([\d.]+)"[^>]*?fg:x="(\d+)" fg:w="(\d+)"')
_SAMPLES = re.compile(r" \([\d,]+ samples?, [\d.]+%\)$")


@dataclass(frozen=True)
class Frame:
    name: str  # "function (file:line)", as py-spy names it; with --function the line is the function's first
    depth: int
    start: int  # in samples
    width: int


@dataclass(frozen=True)
class Hotspot:
    name: str
    own: int  # samples with this function on top of the stack (inclusive ones in `own_code_totals`)
    share: float  # of all samples
    caller: str = ""  # the caller that gave it the most of them

    @property
    def own_code(self) -> bool:
        """The function is in one of the service's packages (py-spy names files from their package folder)."""
        file = self.name.rpartition(" (")[2]
        return file.startswith(tuple(f"{package}/" for package in OWN_PACKAGES))


def _command(svg: Path, rate: int) -> list[str]:
    # --function: one box per function, not per line, so a function's own time is one figure
    # PROFILE_GIL=1: only the thread holding the GIL is sampled, so the graph is where the process's Python CPU goes
    # (threads waiting for a lock, a turn or the database drop out)
    gil = ["--gil"] if os.environ.get("PROFILE_GIL") == "1" else []
    return [
        str(PY_SPY),
        "record",
        *gil,
        "--nonblocking",
        "--rate",
        str(rate),
        "--function",
        "--format",
        "flamegraph",
        "--output",
        str(svg),
    ]


@contextmanager
def recording(pid: int, svg: Path, seconds: float, *, rate: int = RATE) -> Iterator[None]:
    """py-spy attached to `pid` for `seconds` (rounded up to whole seconds) while the body runs; the SVG is written
    when sampling ends. The body should keep the process busy for at least that long."""
    duration = max(1, math.ceil(seconds))
    command = [*_command(svg, rate), "--pid", str(pid), "--duration", str(duration)]
    spy = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        yield
        output, _ = spy.communicate(timeout=duration + WRITE_TIMEOUT)
    finally:
        if spy.poll() is None:
            spy.kill()
            spy.wait()
    _check(spy.returncode, output.decode(errors="replace"), svg)


def record_command(argv: Sequence[str], svg: Path, *, env: Mapping[str, str], cwd: Path, rate: int = RATE) -> str:
    """Run `argv` (a Python program) under py-spy from start to end; returns its output and py-spy's."""
    done = subprocess.run(
        [*_command(svg, rate), "--", *argv], env=dict(env), cwd=cwd, capture_output=True, text=True, check=False
    )
    _check(done.returncode, done.stdout + done.stderr, svg)
    return done.stdout


def _check(returncode: int | None, output: str, svg: Path) -> None:
    if returncode != 0 or not svg.is_file():
        raise RuntimeError(f"py-spy exited {returncode} without writing {svg}:\n{output[-4000:]}")


def read_frames(svg: Path) -> list[Frame]:
    """Every box of a py-spy flame graph, the root (`all`) at depth 0."""
    raw = [(html.unescape(m[1]), float(m[2]), int(m[3]), int(m[4])) for m in _FRAME.finditer(svg.read_text())]
    if not raw:
        raise ValueError(f"{svg} holds no flame graph frames (no samples?)")
    root_y = next(y for name, y, _, _ in raw if _SAMPLES.sub("", name) == "all")
    # rows are evenly spaced and py-spy may draw the root at the top or the bottom: rank rows by distance from it
    rows = sorted({y for _, y, _, _ in raw}, key=lambda y: abs(y - root_y))
    depth = {y: n for n, y in enumerate(rows)}
    return [Frame(_SAMPLES.sub("", name), depth[y], x, w) for name, y, x, w in raw]


class _Tree:
    """The boxes of one flame graph with their parents: a child lies within its parent's span, one row deeper."""

    def __init__(self, frames: list[Frame]) -> None:
        self.rows: dict[int, list[Frame]] = defaultdict(list)
        for frame in sorted(frames, key=lambda f: (f.depth, f.start)):
            self.rows[frame.depth].append(frame)
        self.starts = {depth: [f.start for f in row] for depth, row in self.rows.items()}
        self.total = sum(f.width for f in self.rows[0])

    def parent(self, frame: Frame) -> Frame | None:
        index = bisect_right(self.starts.get(frame.depth - 1, []), frame.start) - 1
        return self.rows[frame.depth - 1][index] if frame.depth > 0 and index >= 0 else None

    def children_width(self, frame: Frame) -> int:
        row = self.rows.get(frame.depth + 1, [])
        width = 0
        for child in row[bisect_left(self.starts.get(frame.depth + 1, []), frame.start) :]:
            if child.start >= frame.start + frame.width:
                break
            width += child.width
        return width

    def ancestors(self, frame: Frame) -> Iterator[Frame]:
        parent = self.parent(frame)
        while parent is not None and parent.depth > 0:
            yield parent
            parent = self.parent(parent)


def hotspots(frames: list[Frame], top: int = 15) -> tuple[int, list[Hotspot]]:
    """(all samples, the `top` functions by own time): a box's own samples are its width less its children's; each
    function is named with the caller that gave it the most of them."""
    tree = _Tree(frames)
    own: dict[str, int] = defaultdict(int)
    callers: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for frame in frames:
        if frame.depth == 0:
            continue
        samples = frame.width - tree.children_width(frame)
        own[frame.name] += samples
        parent = tree.parent(frame)
        callers[frame.name][parent.name if parent is not None and parent.depth > 0 else ""] += samples
    ranked = sorted(own.items(), key=lambda item: item[1], reverse=True)[:top]
    return tree.total, [
        Hotspot(name, samples, samples / tree.total if tree.total else 0.0, max(callers[name].items(), key=_count)[0])
        for name, samples in ranked
    ]


def own_code_totals(frames: list[Frame], top: int = 5) -> list[Hotspot]:
    """The service's own functions by inclusive time (their samples and their callees', a recursion counted once)."""
    tree = _Tree(frames)
    inclusive: dict[str, int] = defaultdict(int)
    for frame in frames:
        spot = Hotspot(frame.name, 0, 0.0)
        if frame.depth > 0 and spot.own_code and all(a.name != frame.name for a in tree.ancestors(frame)):
            inclusive[frame.name] += frame.width
    ranked = sorted(inclusive.items(), key=_count, reverse=True)[:top]
    return [Hotspot(name, samples, samples / tree.total if tree.total else 0.0) for name, samples in ranked]


def _count(item: tuple[str, int]) -> int:
    return item[1]


def summary(title: str, svg: Path, top: int = 15) -> str:
    """A few lines naming the `top` functions by own time in `svg` (each with its main caller), then the service's
    own functions that took the most time with their callees; `*` marks the service's own code."""
    frames = read_frames(svg)
    total, spots = hotspots(frames, top)
    lines = [f"{title}: {total} samples, top {len(spots)} functions by own time ({svg})"]
    for spot in spots:
        caller = f"  <- {spot.caller}" if spot.caller else ""
        lines.append(f"  {spot.share:6.1%} {spot.own:6d} {'*' if spot.own_code else ' '} {spot.name}{caller}")
    lines.append(f"{title}: the service's own functions by inclusive time")
    # Fifteen: the middleware and the guard wrap every handler, so with fewer a light handler would not show.
    lines += [f"  {spot.share:6.1%} {spot.own:6d} * {spot.name}" for spot in own_code_totals(frames, top=15)]
    return "\n".join(lines)
