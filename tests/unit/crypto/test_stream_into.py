"""`StreamEncryptor.update_into`: the same stream as `update`, written into a buffer the caller reuses."""

import secrets

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crypto.stream import StreamEncryptor
from tests.unit.crypto.test_stream import CONTEXT, SEG, boundary_sizes, chunk_sizes, chunked, open_stream


def seal_into(key: bytes, plaintext: bytes, sizes: list[int], buffer: bytearray) -> bytes:
    encryptor = StreamEncryptor(key, context=CONTEXT, segment_size=SEG)
    sealed = bytearray(encryptor.header())
    for piece in chunked(plaintext, sizes):
        need = encryptor.sealed_length(len(piece))
        if len(buffer) < need:
            buffer[:] = bytes(need)
        written = encryptor.update_into(piece, memoryview(buffer))
        assert written == need
        sealed += buffer[:written]
    return bytes(sealed + encryptor.finalize())


@settings(max_examples=150, deadline=None)
@given(size=boundary_sizes, sizes=chunk_sizes, data=st.data())
def test_what_update_into_writes_opens_to_the_plaintext(size: int, sizes: list[int], data: st.DataObject) -> None:
    plaintext = data.draw(st.binary(min_size=size, max_size=size), label="plaintext")
    key = secrets.token_bytes(32)
    assert open_stream(key, seal_into(key, plaintext, sizes, bytearray())) == plaintext


def test_a_buffer_too_small_is_refused_before_anything_is_sealed() -> None:
    key = secrets.token_bytes(32)
    encryptor = StreamEncryptor(key, context=CONTEXT, segment_size=SEG)
    plaintext = bytes(range(3 * SEG))
    with pytest.raises(ValueError, match="cannot hold"):
        encryptor.update_into(plaintext, memoryview(bytearray(SEG)))
    out = bytearray(encryptor.sealed_length(len(plaintext)))
    written = encryptor.update_into(plaintext, memoryview(out))
    sealed = encryptor.header() + bytes(out[:written]) + encryptor.finalize()
    assert open_stream(key, sealed) == plaintext
