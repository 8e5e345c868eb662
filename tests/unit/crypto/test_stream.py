import hashlib
import os
import secrets
import struct
import tracemalloc
from collections.abc import Iterator, Sequence
from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crypto.aead import Context
from crypto.errors import DecryptionError
from crypto.stream import (
    HEADER_SIZE,
    MAX_SEGMENT_SIZE,
    SEGMENT_SIZE,
    StreamDecryptor,
    StreamEncryptor,
    sealed_size,
)

CONTEXT = Context("file", citizen="c-1", document="d-1", version=2, file="scan.pdf")
SEG = 32  # small segments keep property tests fast while crossing many boundaries
TAG = 16

chunk_sizes = st.lists(st.integers(1, 3 * SEG), min_size=1, max_size=8)
boundary_sizes = st.one_of(st.sampled_from([0, 1, SEG - 1, SEG, SEG + 1, 3 * SEG]), st.integers(0, 5 * SEG))


def create_key() -> bytes:
    return secrets.token_bytes(32)


def chunked(data: bytes, sizes: Sequence[int] = ()) -> Iterator[bytes]:
    """`data` cut into pieces of the given sizes, cycling through them (one piece if none given)."""
    if not sizes:
        yield data
        return
    position, turn = 0, 0
    while position < len(data):
        size = sizes[turn % len(sizes)]
        yield data[position : position + size]
        position, turn = position + size, turn + 1


def seal_stream(
    key: bytes, plaintext: bytes, *, context: Context = CONTEXT, segment_size: int = SEG, sizes: Sequence[int] = ()
) -> bytes:
    encryptor = StreamEncryptor(key, context=context, segment_size=segment_size)
    body = b"".join(encryptor.update(piece) for piece in chunked(plaintext, sizes))
    return encryptor.header() + body + encryptor.finalize()


def open_stream(key: bytes, sealed: bytes, *, context: Context = CONTEXT, sizes: Sequence[int] = ()) -> bytes:
    decryptor = StreamDecryptor(key, context=context)
    plaintext = b"".join(decryptor.update(piece) for piece in chunked(sealed, sizes))
    decryptor.finalize()
    return plaintext


def segments(sealed: bytes, segment_size: int = SEG) -> list[bytes]:
    body = sealed[HEADER_SIZE:]
    step = segment_size + TAG
    return [body[i : i + step] for i in range(0, len(body), step)]


def assert_fails(key: bytes, sealed: bytes, *, context: Context = CONTEXT, sizes: Sequence[int] = ()) -> None:
    with pytest.raises(DecryptionError):
        open_stream(key, sealed, context=context, sizes=sizes)


class TestRoundTrip:
    @settings(max_examples=150, deadline=None)
    @given(
        size=boundary_sizes,
        segment_size=st.sampled_from([16, 17, SEG, 64]),
        encrypt_sizes=chunk_sizes,
        decrypt_sizes=chunk_sizes,
        data=st.data(),
    )
    def test_any_plaintext_any_chunking(
        self, size: int, segment_size: int, encrypt_sizes: list[int], decrypt_sizes: list[int], data: st.DataObject
    ) -> None:
        plaintext = data.draw(st.binary(min_size=size, max_size=size), label="plaintext")
        key = create_key()
        sealed = seal_stream(key, plaintext, segment_size=segment_size, sizes=encrypt_sizes)
        assert len(sealed) == sealed_size(size, segment_size)
        assert open_stream(key, sealed, sizes=decrypt_sizes) == plaintext

    @pytest.mark.parametrize("size", [0, 1, SEGMENT_SIZE - 1, SEGMENT_SIZE, SEGMENT_SIZE + 1, 3 * SEGMENT_SIZE])
    @pytest.mark.parametrize("sizes", [(), (4096,), (SEGMENT_SIZE + 7, 1000)])
    def test_default_segment_size_around_boundaries(self, size: int, sizes: tuple[int, ...]) -> None:
        key = create_key()
        plaintext = os.urandom(size)
        sealed = seal_stream(key, plaintext, segment_size=SEGMENT_SIZE, sizes=sizes)
        assert len(sealed) == sealed_size(size)
        assert open_stream(key, sealed, sizes=sizes) == plaintext

    def test_layout(self) -> None:
        sealed = seal_stream(create_key(), bytes(2 * SEG + 5))
        version, segment_size = struct.unpack(">BI", sealed[:5])
        assert (version, segment_size) == (1, SEG)
        assert [len(s) for s in segments(sealed)] == [SEG + TAG, SEG + TAG, 5 + TAG]
        assert sealed_size(0) == HEADER_SIZE + TAG

    def test_encryptor_emits_only_complete_segments(self) -> None:
        encryptor = StreamEncryptor(create_key(), context=CONTEXT, segment_size=SEG)
        assert encryptor.update(bytes(SEG - 1)) == b""
        assert len(encryptor.update(bytes(1))) == SEG + TAG
        assert len(encryptor.update(bytes(2 * SEG + 3))) == 2 * (SEG + TAG)
        assert len(encryptor.finalize()) == 3 + TAG

    @settings(max_examples=60, deadline=None)
    @given(size=boundary_sizes, sizes=chunk_sizes, data=st.data())
    def test_segments_one_by_one_are_the_same_stream(self, size: int, sizes: list[int], data: st.DataObject) -> None:
        plaintext = data.draw(st.binary(min_size=size, max_size=size), label="plaintext")
        key = create_key()
        encryptor = StreamEncryptor(key, context=CONTEXT, segment_size=SEG)
        pieces = [segment for chunk in chunked(plaintext, sizes) for segment in encryptor.update_segments(chunk)]
        assert [len(piece) for piece in pieces] == [SEG + TAG] * (size // SEG)
        sealed = encryptor.header() + b"".join(pieces) + encryptor.finalize()
        assert open_stream(key, sealed) == plaintext
        assert segments(sealed)[:-1] == pieces

    def test_decryptor_releases_each_segment_as_soon_as_it_is_verified(self) -> None:
        key = create_key()
        plaintext = os.urandom(3 * SEG)
        sealed = seal_stream(key, plaintext)
        decryptor = StreamDecryptor(key, context=CONTEXT)
        assert decryptor.update(sealed[: HEADER_SIZE + SEG + TAG - 1]) == b""
        assert decryptor.update(sealed[HEADER_SIZE + SEG + TAG - 1 : HEADER_SIZE + SEG + TAG]) == plaintext[:SEG]
        assert decryptor.update(sealed[HEADER_SIZE + SEG + TAG :]) == plaintext[SEG:]
        decryptor.finalize()

    def test_each_stream_gets_a_fresh_nonce_prefix(self) -> None:
        key = create_key()
        headers = {StreamEncryptor(key, context=CONTEXT).header() for _ in range(50)}
        assert len(headers) == 50


class TestTampering:
    @settings(max_examples=150, deadline=None)
    @given(plaintext=st.binary(max_size=4 * SEG), sizes=chunk_sizes, data=st.data())
    def test_any_flipped_bit(self, plaintext: bytes, sizes: list[int], data: st.DataObject) -> None:
        key = create_key()
        sealed = bytearray(seal_stream(key, plaintext))
        bit = data.draw(st.integers(0, len(sealed) * 8 - 1), label="bit")
        sealed[bit // 8] ^= 1 << (bit % 8)
        assert_fails(key, bytes(sealed), sizes=sizes)

    @settings(max_examples=150, deadline=None)
    @given(plaintext=st.binary(max_size=4 * SEG), sizes=chunk_sizes, data=st.data())
    def test_truncation_anywhere(self, plaintext: bytes, sizes: list[int], data: st.DataObject) -> None:
        key = create_key()
        sealed = seal_stream(key, plaintext)
        cut = data.draw(st.integers(0, len(sealed) - 1), label="cut")
        assert_fails(key, sealed[:cut], sizes=sizes)

    @pytest.mark.parametrize("size", [0, 1, SEG, 2 * SEG, 2 * SEG + 5])
    def test_dropped_last_segment(self, size: int) -> None:
        key = create_key()
        sealed = seal_stream(key, os.urandom(size))
        assert_fails(key, sealed[: -len(segments(sealed)[-1])])

    def test_reordered_segments(self) -> None:
        key = create_key()
        sealed = seal_stream(key, os.urandom(3 * SEG + 4))
        first, second, *rest = segments(sealed)
        assert_fails(key, sealed[:HEADER_SIZE] + second + first + b"".join(rest))

    def test_duplicated_segment(self) -> None:
        key = create_key()
        sealed = seal_stream(key, os.urandom(3 * SEG + 4))
        first, *rest = segments(sealed)
        assert_fails(key, sealed[:HEADER_SIZE] + first + first + b"".join(rest))

    def test_segment_spliced_from_another_stream_with_the_same_key(self) -> None:
        key = create_key()
        plaintext = os.urandom(3 * SEG + 4)
        ours, theirs = seal_stream(key, plaintext), seal_stream(key, plaintext)
        mine, foreign = segments(ours), segments(theirs)
        assert_fails(key, ours[:HEADER_SIZE] + mine[0] + foreign[1] + b"".join(mine[2:]))
        assert_fails(key, ours[:HEADER_SIZE] + b"".join(mine[:-1]) + foreign[-1])
        assert_fails(key, theirs[:HEADER_SIZE] + b"".join(mine))

    @pytest.mark.parametrize(
        "other",
        [
            replace(CONTEXT, citizen="c-2"),
            replace(CONTEXT, document="d-2"),
            replace(CONTEXT, version=3),
            replace(CONTEXT, file="other.pdf"),
            replace(CONTEXT, purpose="profile"),
        ],
    )
    def test_opened_for_another_record(self, other: Context) -> None:
        key = create_key()
        assert_fails(key, seal_stream(key, os.urandom(2 * SEG)), context=other)

    def test_wrong_key(self) -> None:
        assert_fails(create_key(), seal_stream(create_key(), os.urandom(2 * SEG)))

    @pytest.mark.parametrize(
        "header",
        [
            b"\x02" + struct.pack(">I", SEG),  # unknown version
            b"\x01" + struct.pack(">I", 64),  # another valid segment size
            b"\x01" + struct.pack(">I", 0),
            b"\x01" + struct.pack(">I", MAX_SEGMENT_SIZE + 1),
        ],
    )
    def test_header_changed(self, header: bytes) -> None:
        key = create_key()
        sealed = seal_stream(key, os.urandom(3 * SEG))
        assert_fails(key, header + sealed[len(header) :])

    def test_nonce_prefix_changed(self) -> None:
        key = create_key()
        sealed = bytearray(seal_stream(key, os.urandom(3 * SEG)))
        sealed[HEADER_SIZE - 1] ^= 0x80
        assert_fails(key, bytes(sealed))

    @pytest.mark.parametrize(
        "trailer",
        [b"\x00", os.urandom(TAG), os.urandom(SEG + TAG), os.urandom(5 * SEG)],
        ids=["one-byte", "a-tag", "a-segment-and-tag", "five-segments"],
    )
    @pytest.mark.parametrize("size", [0, SEG, SEG + 3])
    def test_trailing_bytes(self, trailer: bytes, size: int) -> None:
        key = create_key()
        sealed = seal_stream(key, os.urandom(size))
        assert_fails(key, sealed + trailer)
        decryptor = StreamDecryptor(key, context=CONTEXT)
        decryptor.update(sealed)
        with pytest.raises(DecryptionError):
            decryptor.update(trailer)
        with pytest.raises(DecryptionError):
            decryptor.finalize()

    def test_last_segment_appended_twice(self) -> None:
        key = create_key()
        sealed = seal_stream(key, os.urandom(SEG + 3))
        assert_fails(key, sealed + segments(sealed)[-1])

    @pytest.mark.parametrize("sealed", [b"", b"\x01", bytes(HEADER_SIZE)])
    def test_nothing_or_header_only(self, sealed: bytes) -> None:
        assert_fails(create_key(), sealed)

    def test_a_failed_decryptor_stays_failed(self) -> None:
        key = create_key()
        sealed = seal_stream(key, os.urandom(3 * SEG))
        decryptor = StreamDecryptor(key, context=CONTEXT)
        with pytest.raises(DecryptionError):
            decryptor.update(b"\x09" + sealed[1:])
        with pytest.raises(DecryptionError):
            decryptor.update(b"")
        with pytest.raises(DecryptionError):
            decryptor.finalize()


class TestLimits:
    @pytest.mark.parametrize("segment_size", [0, 15, MAX_SEGMENT_SIZE + 1])
    def test_segment_size_out_of_range(self, segment_size: int) -> None:
        with pytest.raises(ValueError, match="segment size"):
            StreamEncryptor(create_key(), context=CONTEXT, segment_size=segment_size)
        with pytest.raises(ValueError, match="segment size"):
            sealed_size(10, segment_size)

    def test_bad_key_length(self) -> None:
        with pytest.raises(ValueError, match="32 bytes"):
            StreamEncryptor(bytes(16), context=CONTEXT)
        with pytest.raises(ValueError, match="32 bytes"):
            StreamDecryptor(bytes(31), context=CONTEXT)

    def test_negative_size(self) -> None:
        with pytest.raises(ValueError, match="negative"):
            sealed_size(-1)

    def test_encryptor_is_single_use(self) -> None:
        encryptor = StreamEncryptor(create_key(), context=CONTEXT)
        encryptor.finalize()
        with pytest.raises(ValueError, match="finalized"):
            encryptor.update(b"x")
        with pytest.raises(ValueError, match="finalized"):
            encryptor.finalize()

    def test_segment_counter_overflow(self) -> None:
        top = 2**32 - 1
        key = create_key()
        encryptor = StreamEncryptor(key, context=CONTEXT, segment_size=SEG)
        encryptor._counter = top - 1  # as if 2**32 - 1 segments had been sealed
        sealed = encryptor.header() + encryptor.update(bytes(SEG))
        with pytest.raises(OverflowError):
            encryptor.update(bytes(SEG))  # a non-last segment at the top counter leaves no room for the last
        sealed += encryptor.finalize()  # the last segment takes the top counter

        decryptor = StreamDecryptor(key, context=CONTEXT)
        decryptor._counter = top - 1
        assert decryptor.update(sealed) == bytes(SEG)
        decryptor.finalize()
        with pytest.raises(ValueError, match="too large"):
            sealed_size((top + 1) * SEG, SEG)


class TestMemory:
    def test_32_mib_in_1_mib_chunks_stays_flat(self) -> None:
        key, chunk_size = create_key(), 1024 * 1024
        encryptor = StreamEncryptor(key, context=CONTEXT)
        decryptor = StreamDecryptor(key, context=CONTEXT)
        sent, received = hashlib.sha256(), hashlib.sha256()
        tracemalloc.start()
        try:
            received.update(decryptor.update(encryptor.header()))
            for _ in range(32):
                chunk = os.urandom(chunk_size)
                sent.update(chunk)
                sealed = encryptor.update(chunk)
                del chunk
                received.update(decryptor.update(sealed))
                del sealed
            received.update(decryptor.update(encryptor.finalize()))
            decryptor.finalize()
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        assert sent.digest() == received.digest()
        assert peak < 4 * 1024 * 1024, f"peak {peak / 2**20:.2f} MiB"
