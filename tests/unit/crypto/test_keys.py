from dataclasses import replace
from datetime import UTC, datetime

import pytest

from crypto.aead import Context
from crypto.errors import DecryptionError
from crypto.keyring import Keyring, MasterKey
from crypto.keys import KeyProvider, LocalKeyProvider, generate_key
from tests.unit.crypto.conftest import Custody

NOW = datetime(2025, 3, 1, tzinfo=UTC)
CONTEXT = Context("citizen-key", citizen="c-1")


def create_keyring() -> Keyring:
    return Keyring.generate(now=NOW, development=True)


# One contract suite for every KeyProvider: the keyring file's and the PKCS#11 token's (tests/unit/crypto/conftest.py).
@pytest.fixture
def provider(custody: Custody) -> KeyProvider:
    return custody.provider(custody.new_ring())


class TestKeyProviderContract:
    def test_wrap_then_unwrap_returns_the_key(self, provider: KeyProvider) -> None:
        key = generate_key()
        assert provider.unwrap(provider.wrap(key, context=CONTEXT), context=CONTEXT) == key

    def test_wrapped_key_names_the_current_kid(self, provider: KeyProvider) -> None:
        assert provider.kid_of(provider.wrap(generate_key(), context=CONTEXT)) == provider.current_kid

    def test_wrapping_twice_gives_different_bytes(self, provider: KeyProvider) -> None:
        key = generate_key()
        assert provider.wrap(key, context=CONTEXT) != provider.wrap(key, context=CONTEXT)

    @pytest.mark.parametrize(
        "other", [replace(CONTEXT, citizen="c-2"), replace(CONTEXT, purpose="data-key"), replace(CONTEXT, version=1)]
    )
    def test_other_context_fails(self, provider: KeyProvider, other: Context) -> None:
        wrapped = provider.wrap(generate_key(), context=CONTEXT)
        with pytest.raises(DecryptionError):
            provider.unwrap(wrapped, context=other)
        with pytest.raises(DecryptionError):
            provider.rewrap(wrapped, context=other)

    def test_every_flipped_bit_fails(self, provider: KeyProvider) -> None:
        wrapped = provider.wrap(generate_key(), context=CONTEXT)
        for bit in range(len(wrapped) * 8):
            tampered = bytearray(wrapped)
            tampered[bit // 8] ^= 1 << (bit % 8)
            with pytest.raises(DecryptionError):
                provider.unwrap(bytes(tampered), context=CONTEXT)

    def test_every_truncation_fails(self, provider: KeyProvider) -> None:
        wrapped = provider.wrap(generate_key(), context=CONTEXT)
        for length in range(len(wrapped)):
            with pytest.raises(DecryptionError):
                provider.unwrap(wrapped[:length], context=CONTEXT)

    @pytest.mark.parametrize("garbage", [b"", b"\x01", b"\x01\x00abc", b"\x01\x05mk", b"\x01\x02\xff\xfe" + bytes(61)])
    def test_malformed_header_fails(self, provider: KeyProvider, garbage: bytes) -> None:
        with pytest.raises(DecryptionError):
            provider.kid_of(garbage)
        with pytest.raises(DecryptionError):
            provider.unwrap(garbage, context=CONTEXT)

    @pytest.mark.parametrize("length", [0, 16, 31, 33])
    def test_only_32_byte_keys_are_wrapped(self, provider: KeyProvider, length: int) -> None:
        with pytest.raises(ValueError, match="32-byte"):
            provider.wrap(bytes(length), context=CONTEXT)

    def test_rewrap_under_current_master_is_an_unchanged_copy(self, provider: KeyProvider) -> None:
        wrapped = provider.wrap(generate_key(), context=CONTEXT)
        assert provider.rewrap(wrapped, context=CONTEXT) == wrapped


class TestKeyProviderRotation:
    def test_keys_wrapped_before_rotation_still_unwrap(self, custody: Custody) -> None:
        ring = custody.new_ring()
        key = generate_key()
        wrapped = custody.provider(ring).wrap(key, context=CONTEXT)
        rotated = custody.provider(ring.with_new_master_key(now=NOW))
        assert rotated.current_kid != ring.current_master_kid
        assert rotated.unwrap(wrapped, context=CONTEXT) == key

    def test_rewrap_moves_the_key_to_the_current_master(self, custody: Custody) -> None:
        ring = custody.new_ring()
        key = generate_key()
        wrapped = custody.provider(ring).wrap(key, context=CONTEXT)
        rotated = custody.provider(ring.with_new_master_key(now=NOW))
        rewrapped = rotated.rewrap(wrapped, context=CONTEXT)
        assert rotated.kid_of(wrapped) == ring.current_master_kid
        assert rotated.kid_of(rewrapped) == rotated.current_kid
        assert rotated.unwrap(rewrapped, context=CONTEXT) == key

    def test_after_the_old_master_is_removed_only_rewrapped_keys_open(self, custody: Custody) -> None:
        ring = custody.new_ring()
        old_kid = ring.current_master_kid
        kept, forgotten = generate_key(), generate_key()
        wrapped_kept = custody.provider(ring).wrap(kept, context=CONTEXT)
        wrapped_forgotten = custody.provider(ring).wrap(forgotten, context=CONTEXT)
        rotated_ring = ring.with_new_master_key(now=NOW)
        rewrapped = custody.provider(rotated_ring).rewrap(wrapped_kept, context=CONTEXT)

        retired = custody.provider(rotated_ring.without_master_key(old_kid))
        assert retired.unwrap(rewrapped, context=CONTEXT) == kept
        with pytest.raises(DecryptionError):
            retired.unwrap(wrapped_forgotten, context=CONTEXT)
        with pytest.raises(DecryptionError):
            retired.rewrap(wrapped_forgotten, context=CONTEXT)

    def test_pointing_a_wrapped_key_at_another_master_fails(self, custody: Custody) -> None:
        ring = custody.new_ring()
        wrapped = custody.provider(ring).wrap(generate_key(), context=CONTEXT)
        rotated = custody.provider(ring.with_new_master_key(now=NOW))
        old, new = ring.current_master_kid.encode(), rotated.current_kid.encode()
        assert len(old) == len(new)
        with pytest.raises(DecryptionError):
            rotated.unwrap(wrapped.replace(old, new), context=CONTEXT)

    def test_another_keyring_cannot_unwrap(self, custody: Custody) -> None:
        wrapped = custody.provider(custody.new_ring()).wrap(generate_key(), context=CONTEXT)
        with pytest.raises(DecryptionError):
            custody.provider(custody.new_ring()).unwrap(wrapped, context=CONTEXT)

    def test_an_unknown_kid_fails(self, custody: Custody) -> None:
        ring = custody.new_ring()
        wrapped = custody.provider(ring).wrap(generate_key(), context=CONTEXT)
        unknown = wrapped.replace(ring.current_master_kid.encode(), b"mk-000000000000")
        with pytest.raises(DecryptionError):
            custody.provider(ring).unwrap(unknown, context=CONTEXT)
        assert custody.provider(ring).kid_of(unknown) == "mk-000000000000"


class TestLocalKeyProvider:
    def test_the_kid_is_bound_even_between_masters_sharing_material(self) -> None:
        material = generate_key()
        masters = (MasterKey("mk-aaaa", material, NOW), MasterKey("mk-bbbb", material, NOW))
        ring = replace(create_keyring(), master_keys=masters, current_master_kid="mk-aaaa")
        provider = LocalKeyProvider(ring)
        wrapped = provider.wrap(generate_key(), context=CONTEXT)
        with pytest.raises(DecryptionError):
            provider.unwrap(wrapped.replace(b"mk-aaaa", b"mk-bbbb"), context=CONTEXT)

    def test_repr_shows_kids_and_hides_keys(self) -> None:
        ring = create_keyring()
        text = repr(LocalKeyProvider(ring))
        assert ring.current_master_kid in text
        for master in ring.master_keys:
            assert master.key.hex() not in text
            assert repr(master.key) not in text


class TestGenerateKey:
    def test_keys_are_32_random_bytes(self) -> None:
        keys = {generate_key() for _ in range(100)}
        assert len(keys) == 100
        assert all(len(k) == 32 for k in keys)
