"""The canonical encoding of an access-log entry and its hash: frozen (a golden vector), unambiguous, complete."""

from __future__ import annotations

import dataclasses
import hashlib
import struct
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from audit.chain import (
    GENESIS_HASH,
    MEMO_LIMIT,
    ROW_COLUMNS,
    ChainHasher,
    encode_entry,
    entry_hash,
    micros_since_epoch,
)

AT = datetime(2026, 11, 24, 8, 0, 0, 123456, tzinfo=UTC)
TEXT = st.text(st.characters(codec="utf-8"), max_size=8)  # what a database column can hold


@dataclass(frozen=True)
class Entry:
    id: str = "01a2-entry"
    seq: int = 1
    at: datetime = AT
    citizen_id: str = "cit-1"
    actor_type: str = "officer"
    actor_code: str = "CA-DN"
    actor_name: str = "Công an thành phố Đà Nẵng"
    action: str = "qr_scan"
    document_id: str | None = None
    consent_id: str | None = None
    purpose: str | None = None
    actor_person: str | None = None


TEXT_FIELDS = ("id", "citizen_id", "actor_type", "actor_code", "actor_name", "action")
OPTIONAL_FIELDS = ("document_id", "consent_id", "purpose")


def _by_hand(entry: Entry, prev_hash: str) -> bytes:
    """The documented layout of version 1, written out independently of the encoder."""
    micros = (entry.at - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1)
    out = b"congdanso/audit-log/v1\x00" + struct.pack(">q", entry.seq) + struct.pack(">q", micros)
    for name in (*TEXT_FIELDS, *OPTIONAL_FIELDS):
        value = getattr(entry, name)
        out += b"\xff\xff\xff\xff" if value is None else struct.pack(">I", len(value.encode())) + value.encode()
    return out + bytes.fromhex(prev_hash)


def _by_hand_v2(entry: Entry, prev_hash: str) -> bytes:
    """The documented layout of version 2: version 1's fields, then the person, under their own domain."""
    assert entry.actor_person is not None
    v1 = _by_hand(entry, prev_hash)
    person = entry.actor_person.encode()
    body = v1[len(b"congdanso/audit-log/v1\x00") : -32]
    return b"congdanso/audit-log/v2\x00" + body + struct.pack(">I", len(person)) + person + bytes.fromhex(prev_hash)


class TestVersion2:
    """An entry naming the officer who acted for the agency."""

    def test_matches_the_documented_layout(self) -> None:
        entry = Entry(actor_person="Trần Thị Bích", purpose="Xác thực danh tính")
        prev = "cd" * 32
        assert encode_entry(entry, prev) == _by_hand_v2(entry, prev)

    def test_setting_or_clearing_the_person_changes_the_hash(self) -> None:
        named = Entry(actor_person="Trần Thị Bích")
        assert entry_hash(named, GENESIS_HASH) != entry_hash(Entry(), GENESIS_HASH)
        assert entry_hash(named, GENESIS_HASH) != entry_hash(Entry(actor_person=""), GENESIS_HASH)
        assert entry_hash(Entry(actor_person="A"), GENESIS_HASH) != entry_hash(Entry(actor_person="B"), GENESIS_HASH)

    def test_version_1_entries_keep_their_hash(self) -> None:
        assert entry_hash(Entry(), GENESIS_HASH) == "c4c59e9a08f26b3e80978b90f05f8bce2538e5665a585aaf9b95fa939053fc4d"


class TestEncoding:
    def test_matches_the_documented_layout(self) -> None:
        entry = Entry(document_id="doc-1", purpose="Đăng ký thường trú")
        prev = "ab" * 32
        assert encode_entry(entry, prev) == _by_hand(entry, prev)
        assert entry_hash(entry, prev) == hashlib.sha256(_by_hand(entry, prev)).hexdigest()

    def test_golden_vector_of_version_1(self) -> None:
        # Changing this digest breaks every chain already stored: make a version 2 instead.
        assert entry_hash(Entry(), GENESIS_HASH) == "c4c59e9a08f26b3e80978b90f05f8bce2538e5665a585aaf9b95fa939053fc4d"

    def test_the_time_zone_of_the_same_instant_does_not_matter(self) -> None:
        elsewhere = AT.astimezone(datetime.now(UTC).astimezone().tzinfo)
        assert entry_hash(Entry(at=elsewhere), GENESIS_HASH) == entry_hash(Entry(), GENESIS_HASH)

    def test_a_naive_time_or_a_malformed_prev_hash_is_refused(self) -> None:
        with pytest.raises(ValueError, match="timezone"):
            entry_hash(Entry(at=AT.replace(tzinfo=None)), GENESIS_HASH)
        for bad in ("", "00", "zz" * 32, GENESIS_HASH + "00"):
            with pytest.raises(ValueError):  # noqa: PT011 - fromhex and the length check word it differently
                entry_hash(Entry(), bad)


class TestEveryColumnIsCovered:
    @pytest.mark.parametrize("name", [*TEXT_FIELDS, *OPTIONAL_FIELDS])
    def test_changing_a_text_column_changes_the_hash(self, name: str) -> None:
        before = Entry(document_id="d", consent_id="c", purpose="p")
        after = dataclasses.replace(before, **{name: getattr(before, name) + "x"})
        assert entry_hash(after, GENESIS_HASH) != entry_hash(before, GENESIS_HASH)

    def test_seq_time_and_prev_hash_are_covered(self) -> None:
        base = entry_hash(Entry(), GENESIS_HASH)
        assert entry_hash(Entry(seq=2), GENESIS_HASH) != base
        assert entry_hash(Entry(at=AT + timedelta(microseconds=1)), GENESIS_HASH) != base
        assert entry_hash(Entry(), "0" * 63 + "1") != base

    @pytest.mark.parametrize("name", OPTIONAL_FIELDS)
    def test_absent_differs_from_empty(self, name: str) -> None:
        empty: dict[str, Any] = {name: ""}
        assert entry_hash(dataclasses.replace(Entry(), **empty), GENESIS_HASH) != entry_hash(Entry(), GENESIS_HASH)


class TestUnambiguous:
    @given(st.lists(TEXT, min_size=2, max_size=2), st.lists(TEXT, min_size=2, max_size=2))
    def test_moving_characters_across_a_field_boundary_changes_the_encoding(
        self, left: list[str], right: list[str]
    ) -> None:
        a = Entry(actor_code=left[0], actor_name=left[1])
        b = Entry(actor_code=right[0], actor_name=right[1])
        assert (encode_entry(a, GENESIS_HASH) == encode_entry(b, GENESIS_HASH)) == (left == right)

    @given(
        st.one_of(st.none(), TEXT),
        st.one_of(st.none(), TEXT),
        st.one_of(st.none(), TEXT),
    )
    def test_distinct_optional_fields_never_collide(
        self, document_id: str | None, consent_id: str | None, purpose: str | None
    ) -> None:
        entry = Entry(document_id=document_id, consent_id=consent_id, purpose=purpose)
        shifted = Entry(document_id=consent_id, consent_id=purpose, purpose=document_id)
        same = (document_id, consent_id, purpose) == (consent_id, purpose, document_id)
        assert (encode_entry(entry, GENESIS_HASH) == encode_entry(shifted, GENESIS_HASH)) == same


def _reference_hash(entry: Entry, prev_hash: str) -> str:
    """The encoder as it was first written (field by field, nothing remembered): what every stored chain holds."""
    return hashlib.sha256(
        _by_hand_v2(entry, prev_hash) if entry.actor_person is not None else _by_hand(entry, prev_hash)
    ).hexdigest()


OPTIONAL_TEXT = st.one_of(st.none(), st.text(st.characters(codec="utf-8"), max_size=12))
ENTRIES = st.builds(
    Entry,
    id=TEXT,
    seq=st.integers(1, 2**63 - 1),
    at=st.datetimes(timezones=st.just(UTC)),
    citizen_id=TEXT,
    actor_type=st.sampled_from(["officer", "agency", "system"]),
    actor_code=TEXT,
    actor_name=st.sampled_from(["Công an thành phố Đà Nẵng", "Sở Tư pháp", "", "🙂 ngân hàng"]),
    action=TEXT,
    document_id=OPTIONAL_TEXT,
    consent_id=OPTIONAL_TEXT,
    purpose=OPTIONAL_TEXT,
    actor_person=st.one_of(st.none(), st.just(""), st.sampled_from(["Trần Thị Bích", "Nguyễn Văn A"])),
)


def _row(entry: Entry) -> tuple[Any, ...]:
    return tuple(getattr(entry, name) for name in ROW_COLUMNS)


class TestChainHasher:
    """The hasher of `audit verify` and the chaining pass gives the bytes of the documented encoder, entry after
    entry, whatever it remembers from the ones before."""

    @given(st.lists(ENTRIES, min_size=1, max_size=8))
    def test_matches_the_reference_encoder_over_a_run_of_entries(self, entries: list[Entry]) -> None:
        hasher, prev = ChainHasher(), GENESIS_HASH
        for entry in [*entries, *entries]:  # the second time round, every text comes from its memory
            expected = _reference_hash(entry, prev)
            assert entry_hash(entry, prev) == expected
            assert hasher.row_hash(_row(entry), micros_since_epoch(entry.at), prev) == expected
            prev = expected

    def test_absent_empty_and_unicode_fields_keep_their_golden_hashes(self) -> None:
        hasher = ChainHasher()
        for _ in range(2):
            assert hasher.row_hash(_row(Entry()), micros_since_epoch(AT), GENESIS_HASH) == (
                "c4c59e9a08f26b3e80978b90f05f8bce2538e5665a585aaf9b95fa939053fc4d"
            )
        cases = [
            Entry(document_id="", consent_id=None, purpose="Đăng ký thường trú"),
            Entry(document_id=None, consent_id="", purpose=""),
            Entry(actor_person="Trần Thị Bích", purpose=None),
        ]
        for entry in cases:
            assert hasher.row_hash(_row(entry), micros_since_epoch(AT), "ab" * 32) == _reference_hash(entry, "ab" * 32)

    def test_a_malformed_row_is_refused_as_the_encoder_refuses_it(self) -> None:
        hasher = ChainHasher()
        with pytest.raises(ValueError):  # noqa: PT011 - fromhex and the length check word it differently
            hasher.row_hash(_row(Entry()), 0, "zz" * 32)
        with pytest.raises(ValueError, match="64 hex"):
            hasher.row_hash(_row(Entry()), 0, "00")
        with pytest.raises(AttributeError):
            hasher.row_hash((*_row(Entry())[:3], 42, *_row(Entry())[4:]), 0, GENESIS_HASH)
        with pytest.raises(ValueError, match="timezone"):
            micros_since_epoch(AT.replace(tzinfo=None))

    def test_past_its_memory_limit_it_still_hashes_right_and_remembers_no_more(self) -> None:
        hasher, prev = ChainHasher(), GENESIS_HASH
        for n in range(MEMO_LIMIT + 50):
            entry = Entry(citizen_id=f"citizen-{n}", purpose=f"purpose {n}")
            digest = hasher.row_hash(_row(entry), micros_since_epoch(AT), prev)
            assert digest == _reference_hash(entry, prev)
            prev = digest
        assert len(hasher._memo) == MEMO_LIMIT  # the bound is the point of this test
