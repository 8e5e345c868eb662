"""The suite-wide check that no log line holds personal data or a secret.

Every process under test (pytest's workers and the servers they start) appends its log lines as JSON to a file in
`CDS_LOG_COPY_DIR` (see `api.logging`); the factories append every test citizen's national ID, name, phone and PIN,
and every OTP code read from the outbox, to `CDS_LOG_MARKERS_DIR`. At the end of the session the controller process
reads both and fails the run on any line holding a marker, or anything shaped like a token or a client secret.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from api.logging import LOG_COPY_DIR_ENV

MARKERS_DIR_ENV = "CDS_LOG_MARKERS_DIR"
MIN_MARKER_LENGTH = 6

# Values of our own making that hold no personal data but are full of digits: timestamps, request ids, UUIDs and
# hashes. Short numeric markers (a PIN, an OTP code) are looked for only once these are blanked out.
_NOISE = re.compile(
    r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:?\d{2})?"
    r"|[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
    r"|\b[0-9a-fA-F]{16,}\b"
)
# Secrets that have a recognisable shape whoever they belong to.
_SHAPES = {
    "a JWT (access token)": re.compile(r"eyJ[\w-]{8,}\.eyJ[\w-]{8,}\.[\w-]*"),
    "a 43-character URL-safe secret (refresh token, client secret)": re.compile(r"(?<![\w-])[\w-]{43}(?![\w-])"),
}


@dataclass(frozen=True)
class Finding:
    file: str
    line_number: int
    what: str
    line: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line_number}: {self.what}: {self.line[:300]}"


def record_marker(kind: str, value: str) -> None:
    """Note a test citizen's value (no-op outside a checked session)."""
    folder = os.environ.get(MARKERS_DIR_ENV)
    if not folder or len(value) < MIN_MARKER_LENGTH:  # a refused input ("", "12") would match everywhere
        return
    Path(folder).mkdir(parents=True, exist_ok=True)
    with (Path(folder) / f"{os.getpid()}.jsonl").open("a", encoding="utf-8") as out:
        out.write(json.dumps({"kind": kind, "value": value}, ensure_ascii=False) + "\n")


def read_markers(folder: Path) -> dict[str, str]:
    """value → kind, from every process's marker file."""
    markers: dict[str, str] = {}
    for path in sorted(folder.glob("*.jsonl")) if folder.is_dir() else []:
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                entry = json.loads(line)
                markers[entry["value"]] = entry["kind"]
    return markers


def log_lines(folder: Path) -> Iterator[tuple[str, int, str]]:
    for path in sorted(folder.glob("*.jsonl")) if folder.is_dir() else []:
        for number, line in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines(), start=1):
            yield path.name, number, line


def scan(lines: Iterable[tuple[str, int, str]], markers: dict[str, str]) -> list[Finding]:
    """Every line holding a marker (as a whole word) or a secret's shape."""
    patterns = [
        (re.compile(rf"(?<![\w]){re.escape(form)}(?![\w])"), kind, value)
        for value, kind in markers.items()
        for form in dict.fromkeys([value, json.dumps(value)[1:-1]])  # as written, and JSON-escaped
    ]
    short = [(pattern, kind) for pattern, kind, value in patterns if value.isdigit() and len(value) <= 8]
    long = [(pattern, kind) for pattern, kind, value in patterns if not (value.isdigit() and len(value) <= 8)]
    findings = []
    for file, number, line in lines:
        quiet = _NOISE.sub(" ", line)
        hits = [kind for pattern, kind in long if pattern.search(line)]
        hits += [kind for pattern, kind in short if pattern.search(quiet)]
        hits += [what for what, shape in _SHAPES.items() if shape.search(quiet)]
        findings += [Finding(file, number, what, line) for what in dict.fromkeys(hits)]
    return findings


def audit(root: Path) -> list[Finding]:
    return scan(log_lines(root / "logs"), read_markers(root / "markers"))


def start(root: Path) -> None:
    """Point this process and every process it starts at `root` (inherited through the environment)."""
    os.environ[LOG_COPY_DIR_ENV] = str(root / "logs")
    os.environ[MARKERS_DIR_ENV] = str(root / "markers")
