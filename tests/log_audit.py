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


_WORD = re.compile(r"\w+")
_ESCAPE = re.compile(r"\\u([0-9a-fA-F]{4})")


def _unescaped(line: str) -> str:
    """The line with JSON's \\uXXXX escapes read back, so a name written escaped is found as written."""
    return _ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), line)


def _by_first_word(markers: dict[str, str]) -> dict[str, list[tuple[re.Pattern[str], str, bool]]]:
    """Markers indexed by their first word, each with its whole-word pattern and whether it is a short number (looked
    for only once our own ids are blanked out): a line is then read word by word, not once per marker."""
    index: dict[str, list[tuple[re.Pattern[str], str, bool]]] = {}
    for value, kind in markers.items():
        words = _WORD.findall(value)
        if not words:
            continue
        pattern = re.compile(rf"(?<![\w]){re.escape(value)}(?![\w])")
        index.setdefault(words[0], []).append((pattern, kind, value.isdigit() and len(value) <= 8))
    return index


def scan(lines: Iterable[tuple[str, int, str]], markers: dict[str, str]) -> list[Finding]:
    """Every line holding a marker (as a whole word, as written or JSON-escaped) or a secret's shape."""
    index = _by_first_word(markers)
    findings = []
    for file, number, raw in lines:
        line = _unescaped(raw)
        quiet = _NOISE.sub(" ", line)
        hits = []
        for text, short in ((line, False), (quiet, True)):
            for word in dict.fromkeys(_WORD.findall(text)):
                hits += [
                    kind
                    for pattern, kind, is_short in index.get(word, ())
                    if is_short == short and pattern.search(text)
                ]
        hits += [what for what, shape in _SHAPES.items() if shape.search(quiet)]
        findings += [Finding(file, number, what, raw) for what in dict.fromkeys(hits)]
    return findings


def audit(root: Path) -> list[Finding]:
    return scan(log_lines(root / "logs"), read_markers(root / "markers"))


def start(root: Path) -> None:
    """Point this process and every process it starts at `root` (inherited through the environment)."""
    os.environ[LOG_COPY_DIR_ENV] = str(root / "logs")
    os.environ[MARKERS_DIR_ENV] = str(root / "markers")
