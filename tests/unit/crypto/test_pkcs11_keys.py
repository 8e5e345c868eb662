"""What only the PKCS#11 custody promises, on a real SoftHSM2 token: keys that cannot be read out, a wrapped-key
format of its own, a move from the keyring file into the token, and safe use from threads and forked processes."""

from __future__ import annotations

import multiprocessing
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from pkcs11 import Attribute, ObjectClass

from crypto.aead import Context
from crypto.errors import DecryptionError
from crypto.keyring import Keyring, KeyringError
from crypto.keys import LocalKeyProvider, generate_key
from crypto.pkcs11_keys import Pkcs11KeyProvider, provider_for
from crypto.pkcs11_token import KeyModuleError, Pkcs11Config, Pkcs11Token
from tests.unit.crypto.conftest import NOW

CONTEXT = Context("citizen-key", citizen="c-1")


def _ring(token: Pkcs11Token) -> Keyring:
    return Keyring.generate(now=NOW, development=True, module=token)


class TestKeysStayInTheToken:
    def test_the_master_key_value_cannot_be_read(self, token: Pkcs11Token) -> None:
        kid = _ring(token).current_master_kid
        with pytest.raises(KeyModuleError, match="AttributeSensitive"):
            token.attribute(ObjectClass.SECRET_KEY, kid, Attribute.VALUE)
        assert token.attribute(ObjectClass.SECRET_KEY, kid, Attribute.SENSITIVE) is True
        assert token.attribute(ObjectClass.SECRET_KEY, kid, Attribute.EXTRACTABLE) is False
        assert token.attribute(ObjectClass.SECRET_KEY, kid, Attribute.WRAP) is False

    def test_the_signing_key_value_cannot_be_read(self, token: Pkcs11Token) -> None:
        kid = _ring(token).current_signing_key(NOW).kid
        with pytest.raises(KeyModuleError, match="AttributeSensitive"):
            token.attribute(ObjectClass.PRIVATE_KEY, kid, Attribute.VALUE)
        assert token.attribute(ObjectClass.PRIVATE_KEY, kid, Attribute.EXTRACTABLE) is False

    def test_a_kid_is_never_generated_twice(self, token: Pkcs11Token) -> None:
        kid = _ring(token).current_master_kid
        with pytest.raises(KeyModuleError, match="already holds"):
            token.new_master_key(kid)


class TestTheKeyringFileOnTheToken:
    def test_it_names_the_keys_and_holds_no_key_material(self, token: Pkcs11Token) -> None:
        data = _ring(token).to_json()
        times = ("created_at", "active_from", "retired_at")
        assert all(set(entry) == {"kid", "module", *times} and entry["module"] for entry in data["signing_keys"])
        assert all(set(entry) == {"kid", "module", "created_at"} and entry["module"] for entry in data["master_keys"])
        assert set(data) == {"format", "development", "current_master_kid", "master_keys", "index_key", "signing_keys"}

    def test_the_private_signing_key_cannot_be_exported(self, token: Pkcs11Token) -> None:
        key = _ring(token).current_signing_key(NOW)
        with pytest.raises(KeyModuleError, match="cannot be exported"):
            key.private_key.private_bytes_raw()

    def test_it_cannot_be_loaded_without_the_token(self, token: Pkcs11Token) -> None:
        with pytest.raises(KeyringError, match="WALLET_KEY_PROVIDER=pkcs11"):
            Keyring.from_json(_ring(token).to_json())


class TestWrappedKeyFormat:
    def test_version_bytes_keep_the_providers_apart(self, token: Pkcs11Token) -> None:
        local = LocalKeyProvider(Keyring.generate(now=NOW, development=True))
        module = Pkcs11KeyProvider(_ring(token), token)
        from_local, from_module = (
            local.wrap(generate_key(), context=CONTEXT),
            module.wrap(generate_key(), context=CONTEXT),
        )
        assert (from_local[0], from_module[0]) == (1, 2)
        with pytest.raises(DecryptionError):
            local.unwrap(from_module, context=CONTEXT)
        with pytest.raises(DecryptionError):
            module.unwrap(from_local, context=CONTEXT)

    def test_a_master_key_destroyed_in_the_token_opens_nothing(self, token: Pkcs11Token) -> None:
        ring = _ring(token)
        wrapped = Pkcs11KeyProvider(ring, token).wrap(generate_key(), context=CONTEXT)
        token.destroy_master_key(ring.current_master_kid)
        with pytest.raises(DecryptionError):
            Pkcs11KeyProvider(ring, token).unwrap(wrapped, context=CONTEXT)

    def test_a_token_that_fails_is_an_outage_not_tampering(self, softhsm: Any, token: Pkcs11Token) -> None:
        ring = _ring(token)
        wrapped = Pkcs11KeyProvider(ring, token).wrap(generate_key(), context=CONTEXT)
        locked_out = Pkcs11Token(replace(softhsm.new_token(), pin="0000"))
        with pytest.raises(KeyModuleError) as raised:
            Pkcs11KeyProvider(ring, locked_out).unwrap(wrapped, context=CONTEXT)
        assert not isinstance(raised.value, DecryptionError)


class TestMovingIntoTheToken:
    def test_a_file_keyring_rotated_into_the_token_keeps_its_keys_readable(self, token: Pkcs11Token) -> None:
        file_ring = Keyring.generate(now=NOW, development=True)
        key = generate_key()
        old = LocalKeyProvider(file_ring).wrap(key, context=CONTEXT)
        bound = Keyring.from_json(file_ring.to_json(), module=token)
        assert isinstance(provider_for(bound, token), LocalKeyProvider)  # nothing moved before the first rotation

        moved = bound.with_new_master_key(now=NOW)
        provider = provider_for(moved, token)
        assert isinstance(provider, Pkcs11KeyProvider)
        assert provider.kid_of(old) == file_ring.current_master_kid
        assert provider.unwrap(old, context=CONTEXT) == key
        rewrapped = provider.rewrap(old, context=CONTEXT)
        assert rewrapped[0] == 2 and provider.kid_of(rewrapped) == moved.current_master_kid

        only_token = provider_for(moved.without_master_key(file_ring.current_master_kid), token)
        assert only_token.unwrap(rewrapped, context=CONTEXT) == key
        with pytest.raises(DecryptionError):
            only_token.unwrap(old, context=CONTEXT)


class TestConcurrentUse:
    def test_threads_share_the_session_safely(self, token: Pkcs11Token) -> None:
        ring = _ring(token)
        provider = Pkcs11KeyProvider(ring, token)
        signer = ring.current_signing_key(NOW)

        def round_trip(n: int) -> bool:
            key, context = generate_key(), Context("citizen-key", citizen=f"c-{n}")
            signature = signer.private_key.sign(key)
            signer.public_key.verify(signature, key)
            return provider.unwrap(provider.wrap(key, context=context), context=context) == key

        with ThreadPoolExecutor(max_workers=8) as pool:
            assert all(pool.map(round_trip, range(400)))

    def test_a_forked_process_opens_its_own_session(self, token: Pkcs11Token) -> None:
        ring = _ring(token)
        wrapped = Pkcs11KeyProvider(ring, token).wrap(b"k" * 32, context=CONTEXT)  # the parent's session is open
        child = multiprocessing.get_context("fork").Process(target=_unwrap_in_child, args=(ring, token, wrapped))
        child.start()
        child.join(60)
        assert child.exitcode == 0
        assert Pkcs11KeyProvider(ring, token).unwrap(wrapped, context=CONTEXT) == b"k" * 32


def _unwrap_in_child(ring: Keyring, token: Pkcs11Token, wrapped: bytes) -> None:
    ok = Pkcs11KeyProvider(ring, token).unwrap(wrapped, context=CONTEXT) == b"k" * 32
    ring.current_signing_key(NOW).private_key.sign(b"m")
    raise SystemExit(0 if ok else 1)


def test_config_hides_the_pin() -> None:
    config = Pkcs11Config(module=Path("/x.so"), token_label="t", pin="4921")
    assert "4921" not in repr(config)
