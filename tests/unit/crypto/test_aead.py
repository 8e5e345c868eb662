import secrets
from collections.abc import Callable
from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crypto.aead import OVERHEAD, Context, open_sealed, seal
from crypto.errors import DecryptionError

CONTEXT = Context("document-fields", citizen="c-1", document="d-1", version=3)

contexts = st.builds(
    Context,
    purpose=st.text(min_size=1, max_size=8),
    citizen=st.text(max_size=8),
    document=st.text(max_size=8),
    version=st.integers(0, 2**64 - 1),
    file=st.text(max_size=8),
)


def create_key() -> bytes:
    return secrets.token_bytes(32)


class TestContextEncoding:
    @settings(max_examples=200)
    @given(contexts, contexts)
    def test_encoding_is_injective(self, a: Context, b: Context) -> None:
        assert (a.encode() == b.encode()) == (a == b)

    @pytest.mark.parametrize(
        ("a", "b"),
        [
            (Context("ab", citizen="c"), Context("a", citizen="bc")),
            (Context("p", citizen="x", document=""), Context("p", citizen="", document="x")),
            (Context("p", document="d", file=""), Context("p", document="", file="d")),
            (Context("p", version=1), Context("p", file="\x01")),
        ],
    )
    def test_shifting_bytes_between_fields_changes_the_encoding(self, a: Context, b: Context) -> None:
        assert a.encode() != b.encode()

    @pytest.mark.parametrize("version", [-1, 2**64])
    def test_version_out_of_range_is_refused(self, version: int) -> None:
        with pytest.raises(ValueError, match="version"):
            Context("file", version=version)

    def test_purpose_is_required(self) -> None:
        with pytest.raises(ValueError, match="purpose"):
            Context("")

    def test_fields_of_the_wrong_type_are_refused(self) -> None:
        with pytest.raises(TypeError, match="str"):
            Context("profile", citizen=42)  # type: ignore[arg-type]
        for version in (True, 1.0, "1"):
            with pytest.raises(TypeError, match="int"):
                Context("profile", version=version)  # type: ignore[arg-type]


class TestSeal:
    @settings(max_examples=100)
    @given(plaintext=st.binary(max_size=512), context=contexts)
    def test_round_trip(self, plaintext: bytes, context: Context) -> None:
        key = create_key()
        assert open_sealed(key, seal(key, plaintext, context=context), context=context) == plaintext

    def test_token_layout(self) -> None:
        token = seal(create_key(), b"hello", context=CONTEXT)
        assert token[0] == 1
        assert len(token) == 1 + 12 + len(b"hello") + 16 == OVERHEAD + 5

    def test_every_seal_uses_a_fresh_nonce(self) -> None:
        key = create_key()
        tokens = {seal(key, b"same", context=CONTEXT) for _ in range(50)}
        assert len({t[1:13] for t in tokens}) == 50

    @pytest.mark.parametrize("length", [0, 16, 24, 31, 33, 64])
    def test_key_of_wrong_length_is_refused_up_front(self, length: int) -> None:
        with pytest.raises(ValueError, match="32 bytes"):
            seal(bytes(length), b"x", context=CONTEXT)
        with pytest.raises(ValueError, match="32 bytes"):
            open_sealed(bytes(length), bytes(64), context=CONTEXT)


class TestOpenFailures:
    def test_wrong_key(self) -> None:
        token = seal(create_key(), b"secret", context=CONTEXT)
        with pytest.raises(DecryptionError):
            open_sealed(create_key(), token, context=CONTEXT)

    @pytest.mark.parametrize(
        "other",
        [
            replace(CONTEXT, purpose="profile"),
            replace(CONTEXT, citizen="c-2"),
            replace(CONTEXT, document="d-2"),
            replace(CONTEXT, version=4),
            replace(CONTEXT, file="f-1"),
        ],
    )
    def test_wrong_context(self, other: Context) -> None:
        key = create_key()
        token = seal(key, b"secret", context=CONTEXT)
        with pytest.raises(DecryptionError):
            open_sealed(key, token, context=other)

    @settings(max_examples=100)
    @given(plaintext=st.binary(max_size=64), data=st.data())
    def test_any_flipped_bit(self, plaintext: bytes, data: st.DataObject) -> None:
        key = create_key()
        token = bytearray(seal(key, plaintext, context=CONTEXT))
        bit = data.draw(st.integers(0, len(token) * 8 - 1), label="bit")
        token[bit // 8] ^= 1 << (bit % 8)
        with pytest.raises(DecryptionError):
            open_sealed(key, bytes(token), context=CONTEXT)

    @pytest.mark.parametrize("length", range(OVERHEAD + 4))
    def test_short_or_truncated_token(self, length: int) -> None:
        key = create_key()
        token = seal(key, b"abcd", context=CONTEXT)
        with pytest.raises(DecryptionError):
            open_sealed(key, token[:length], context=CONTEXT)

    def test_unknown_version_and_appended_bytes(self) -> None:
        key = create_key()
        token = seal(key, b"abcd", context=CONTEXT)
        for bad in (b"\x02" + token[1:], b"\x00" + token[1:], token + b"\x00"):
            with pytest.raises(DecryptionError):
                open_sealed(key, bad, context=CONTEXT)

    def test_failures_are_indistinguishable(self) -> None:
        key = create_key()
        token = seal(key, b"abcd", context=CONTEXT)
        attempts: list[Callable[[], bytes]] = [
            lambda: open_sealed(create_key(), token, context=CONTEXT),
            lambda: open_sealed(key, token, context=replace(CONTEXT, version=9)),
            lambda: open_sealed(key, token[:-1], context=CONTEXT),
            lambda: open_sealed(key, b"\x07" + token[1:], context=CONTEXT),
        ]
        messages = set()
        for attempt in attempts:
            with pytest.raises(DecryptionError) as caught:
                attempt()
            messages.add(str(caught.value))
        assert len(messages) == 1
