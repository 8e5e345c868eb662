"""The hash chain of the access log: the canonical encoding of an entry and its SHA-256.

Every entry carries `seq` (1, 2, 3, … with no gap), `prev_hash` (the `entry_hash` of entry `seq - 1`, or 64 zeros
for the first) and `entry_hash`, the SHA-256 of the encoding below. Editing, deleting, inserting or reordering
entries therefore breaks the chain at the first entry touched; signed checkpoints (`audit.checkpoints`) pin it so
that a rewrite of the whole tail is caught as well.

Encoding, version 1 (frozen: a change needs a new version, and the verifier must keep reading version 1):

    b"congdanso/audit-log/v1" 0x00
    seq                 int64, big-endian
    at                  int64, big-endian: microseconds since 1970-01-01T00:00:00Z
    id, citizen_id, actor_type, actor_code, actor_name, action, document_id, consent_id, purpose
                        each: uint32 big-endian byte length, then the UTF-8 bytes; absent (NULL) is 0xFFFFFFFF
    prev_hash           the 32 raw bytes

Each field is length-prefixed, so no two different entries share an encoding ("ab" + "c" differs from "a" + "bc",
NULL differs from ""). Every column of the row is covered, so an edit of any of them is detected.

Encoding, version 2 (an entry naming the person who acted for the agency, `actor_person` not NULL): the domain
`b"congdanso/audit-log/v2" 0x00`, then version 1's fields, then `actor_person` as a length-prefixed text, then
prev_hash. An entry's version follows from its row (NULL `actor_person`: version 1), so clearing or setting the
column changes the encoding and breaks the chain there, like any other edit.
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

CHAIN_VERSION = 2
HASH_HEX_CHARS = 64
GENESIS_HASH = "0" * HASH_HEX_CHARS
"""The `prev_hash` of entry 1."""

_DOMAIN = b"congdanso/audit-log/v1\x00"
_DOMAIN_V2 = b"congdanso/audit-log/v2\x00"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
_ABSENT = b"\xff\xff\xff\xff"
_INTS = struct.Struct(">qq")
_LENGTH = struct.Struct(">I")


class ChainedEntry(Protocol):
    """What the chain covers: an `AccessLogEntry`, or a database row with the same column names."""

    @property
    def id(self) -> str: ...
    @property
    def seq(self) -> int: ...
    @property
    def at(self) -> datetime: ...
    @property
    def citizen_id(self) -> str: ...
    @property
    def actor_type(self) -> str: ...
    @property
    def actor_code(self) -> str: ...
    @property
    def actor_name(self) -> str: ...
    @property
    def action(self) -> str: ...
    @property
    def document_id(self) -> str | None: ...
    @property
    def consent_id(self) -> str | None: ...
    @property
    def purpose(self) -> str | None: ...
    @property
    def actor_person(self) -> str | None: ...


@dataclass(frozen=True)
class ChainHead:
    """The last entry of the chain: the next one gets `seq + 1` and `prev_hash = entry_hash`."""

    seq: int
    entry_hash: str


EMPTY_HEAD = ChainHead(0, GENESIS_HASH)


def micros_since_epoch(at: datetime) -> int:
    """The encoded time of an entry; ValueError for a naive time."""
    if at.tzinfo is None:
        raise ValueError("an access-log time must be timezone-aware")
    return (at - _EPOCH) // _MICROSECOND


ROW_COLUMNS = (
    "seq",
    "at",
    "id",
    "citizen_id",
    "actor_type",
    "actor_code",
    "actor_name",
    "action",
    "document_id",
    "consent_id",
    "purpose",
    "actor_person",
)
"""The columns `ChainHasher.row_hash` reads, in this order (its `row[2:11]` are the texts of version 1)."""

MEMO_LIMIT = 4096


class ChainHasher:
    """Hashes entries one after another, as `audit verify` and the chaining pass do over thousands of them.

    The length-prefixed encodings of texts are remembered (at most MEMO_LIMIT of them): agencies, actions, purposes
    and citizens recur from one entry to the next, and re-encoding them was most of the encoder's time. The bytes
    are those of `encode_entry`, which a test checks on varied entries."""

    def __init__(self) -> None:
        self._memo: dict[str | None, bytes] = {None: _ABSENT}

    def _encoded(self, value: str) -> bytes:
        raw = value.encode()
        encoded = _LENGTH.pack(len(raw)) + raw
        if len(self._memo) < MEMO_LIMIT:
            self._memo[value] = encoded
        return encoded

    def row_hash(self, row: Sequence[Any], micros: int, prev_hash: str) -> str:
        """The `entry_hash` of an entry given as `row` (values in the order of ROW_COLUMNS; its `at` is not read,
        `micros` is that time, from `micros_since_epoch`) after `prev_hash` (64 hex characters; ValueError else)."""
        if len(prev_hash) != HASH_HEX_CHARS:
            raise ValueError("prev_hash must be 64 hex characters")
        get, encoded = self._memo.get, self._encoded
        person = row[11]
        digest = hashlib.sha256(_DOMAIN if person is None else _DOMAIN_V2)
        digest.update(_INTS.pack(row[0], micros))
        digest.update(b"".join([get(value) or encoded(value) for value in row[2:11]]))
        if person is not None:
            digest.update(get(person) or encoded(person))
        digest.update(bytes.fromhex(prev_hash))
        return digest.hexdigest()


def _text(value: str | None) -> bytes:
    if value is None:
        return _ABSENT
    raw = value.encode()
    return _LENGTH.pack(len(raw)) + raw


def encode_entry(entry: ChainedEntry, prev_hash: str) -> bytes:
    """The canonical bytes of an entry (version 2 when it names a person, else 1); `prev_hash` is 64 hex characters."""
    person = entry.actor_person
    return b"".join(
        (
            _DOMAIN if person is None else _DOMAIN_V2,
            _INTS.pack(entry.seq, micros_since_epoch(entry.at)),
            _text(entry.id),
            _text(entry.citizen_id),
            _text(entry.actor_type),
            _text(entry.actor_code),
            _text(entry.actor_name),
            _text(entry.action),
            _text(entry.document_id),
            _text(entry.consent_id),
            _text(entry.purpose),
            b"" if person is None else _text(person),
            bytes.fromhex(prev_hash),
        )
    )


def entry_hash(entry: ChainedEntry, prev_hash: str) -> str:
    """SHA-256 of the entry's canonical encoding, as 64 lowercase hex characters.

    Raises ValueError if `prev_hash` is not hex (a tampered row) or the time is naive."""
    if len(prev_hash) != HASH_HEX_CHARS:
        raise ValueError("prev_hash must be 64 hex characters")
    return hashlib.sha256(encode_entry(entry, prev_hash)).hexdigest()
