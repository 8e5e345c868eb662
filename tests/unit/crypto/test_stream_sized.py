"""StreamDecryptor told the plaintext size recorded at sealing: the last segment is known by its place, and every
refusal of the trial mode still holds."""

import os
import secrets

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crypto.errors import DecryptionError
from crypto.stream import HEADER_SIZE, SEGMENT_SIZE, StreamDecryptor
from tests.unit.crypto.test_stream import CONTEXT, SEG, TAG, boundary_sizes, chunk_sizes, chunked, seal_stream


def open_sized(key: bytes, sealed: bytes, size: int, sizes: list[int] | tuple[int, ...] = ()) -> bytes:
    decryptor = StreamDecryptor(key, context=CONTEXT, plaintext_size=size)
    plaintext = b"".join(decryptor.update(piece) for piece in chunked(sealed, sizes))
    decryptor.finalize()
    return plaintext


class TestSizedRoundTrip:
    @settings(max_examples=150, deadline=None)
    @given(size=boundary_sizes, segment_size=st.sampled_from([16, 17, SEG, 64]), sizes=chunk_sizes, data=st.data())
    def test_any_plaintext_any_chunking(
        self, size: int, segment_size: int, sizes: list[int], data: st.DataObject
    ) -> None:
        plaintext = data.draw(st.binary(min_size=size, max_size=size), label="plaintext")
        key = secrets.token_bytes(32)
        sealed = seal_stream(key, plaintext, segment_size=segment_size)
        assert open_sized(key, sealed, size, sizes) == plaintext

    @pytest.mark.parametrize("size", [0, SEGMENT_SIZE - 1, SEGMENT_SIZE, 3 * SEGMENT_SIZE + 5])
    def test_default_segments_in_one_mib_chunks(self, size: int) -> None:
        key = secrets.token_bytes(32)
        plaintext = os.urandom(size)
        sealed = seal_stream(key, plaintext, segment_size=SEGMENT_SIZE)
        assert open_sized(key, sealed, size, (1 << 20,)) == plaintext

    def test_the_last_segment_is_released_when_its_last_byte_arrives(self) -> None:
        key = secrets.token_bytes(32)
        plaintext = os.urandom(2 * SEG + 5)
        sealed = seal_stream(key, plaintext)
        decryptor = StreamDecryptor(key, context=CONTEXT, plaintext_size=len(plaintext))
        assert decryptor.update(sealed[:-1]) == plaintext[: 2 * SEG]
        assert decryptor.update(sealed[-1:]) == plaintext[2 * SEG :]
        decryptor.finalize()


class TestSizedRefusals:
    @settings(max_examples=150, deadline=None)
    @given(plaintext=st.binary(max_size=4 * SEG), sizes=chunk_sizes, data=st.data())
    def test_any_flipped_bit(self, plaintext: bytes, sizes: list[int], data: st.DataObject) -> None:
        key = secrets.token_bytes(32)
        sealed = bytearray(seal_stream(key, plaintext))
        bit = data.draw(st.integers(0, len(sealed) * 8 - 1), label="bit")
        sealed[bit // 8] ^= 1 << (bit % 8)
        with pytest.raises(DecryptionError):
            open_sized(key, bytes(sealed), len(plaintext), sizes)

    @settings(max_examples=150, deadline=None)
    @given(plaintext=st.binary(max_size=4 * SEG), sizes=chunk_sizes, data=st.data())
    def test_truncation_anywhere(self, plaintext: bytes, sizes: list[int], data: st.DataObject) -> None:
        key = secrets.token_bytes(32)
        sealed = seal_stream(key, plaintext)
        cut = data.draw(st.integers(0, len(sealed) - 1), label="cut")
        with pytest.raises(DecryptionError):
            open_sized(key, sealed[:cut], len(plaintext), sizes)

    @pytest.mark.parametrize("trailer", [b"\x00", bytes(range(TAG)), bytes(SEG + TAG)], ids=["byte", "tag", "segment"])
    @pytest.mark.parametrize("size", [0, SEG, SEG + 3])
    def test_trailing_bytes_fail_in_the_update_that_brings_them(self, trailer: bytes, size: int) -> None:
        key = secrets.token_bytes(32)
        sealed = seal_stream(key, os.urandom(size))
        decryptor = StreamDecryptor(key, context=CONTEXT, plaintext_size=size)
        with pytest.raises(DecryptionError):
            decryptor.update(sealed + trailer)
        with pytest.raises(DecryptionError):
            decryptor.finalize()

    @pytest.mark.parametrize("claimed", [0, 1, SEG - 1, SEG, SEG + 2, SEG + 4, 2 * SEG + 3, 10**12])
    def test_a_size_other_than_the_sealed_one_never_opens(self, claimed: int) -> None:
        key = secrets.token_bytes(32)
        sealed = seal_stream(key, os.urandom(SEG + 3))
        with pytest.raises(DecryptionError):
            open_sized(key, sealed, claimed, (7,))

    def test_a_size_no_stream_can_hold_fails_once_the_header_is_read(self) -> None:
        key = secrets.token_bytes(32)
        sealed = seal_stream(key, os.urandom(5))
        decryptor = StreamDecryptor(key, context=CONTEXT, plaintext_size=SEG * 2**33)
        assert decryptor.update(sealed[: HEADER_SIZE - 1]) == b""
        with pytest.raises(DecryptionError):
            decryptor.update(sealed[HEADER_SIZE - 1 :])

    def test_a_negative_size_is_refused(self) -> None:
        with pytest.raises(ValueError, match="negative"):
            StreamDecryptor(secrets.token_bytes(32), context=CONTEXT, plaintext_size=-1)
