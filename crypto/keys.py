"""The master-key boundary: everything above it sees only `KeyProvider`, ready for a KMS or an HSM.

Wrapped-key layout (version 1)::

    version (1 byte, 0x01) ‖ kid length (1 byte, 1..255) ‖ kid (ASCII) ‖ aead token

where the aead token is `crypto.aead.seal` of the 32-byte key under a wrapping key derived from
the master key by HKDF-SHA256 with info ``"congdanso/master-key-wrap/v1/" ‖ kid``, and with the
caller's `Context` as associated data. Deriving per kid keeps the raw master key out of AES and
binds the kid: editing the kid in the header makes the token fail to open.
"""

from __future__ import annotations

import secrets
from typing import Protocol

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from crypto.aead import KEY_SIZE, Context, open_sealed, seal
from crypto.errors import DecryptionError
from crypto.keyring import Keyring

WRAP_VERSION = 1
_WRAP_INFO = b"congdanso/master-key-wrap/v1/"
_MAX_KID_BYTES = 255


class KeyProvider(Protocol):
    """Wraps data-encryption keys under a master key the caller never sees.

    A local provider keeps master keys in the keyring file (dev, tests, small installs); a KMS or
    PKCS#11 provider keeps them in hardware and implements the same five members. Every wrapped
    key names its master key (kid), so several masters can coexist during a rotation.
    """

    def wrap(self, key: bytes, *, context: Context) -> bytes:
        """Wrap a 32-byte key under the current master key; the result embeds its kid."""
        ...

    def unwrap(self, wrapped: bytes, *, context: Context) -> bytes:
        """The key inside `wrapped`; DecryptionError on any failure, an unknown or removed kid included."""
        ...

    def rewrap(self, wrapped: bytes, *, context: Context) -> bytes:
        """`wrapped` re-wrapped under the current master key (an unchanged copy if already current)."""
        ...

    def kid_of(self, wrapped: bytes) -> str:
        """The kid of the master key that wrapped `wrapped`; DecryptionError if the header is malformed."""
        ...

    @property
    def current_kid(self) -> str:
        """The kid new wraps are made under."""
        ...


def generate_key() -> bytes:
    """A fresh 32-byte AES-256 key from the OS CSPRNG (`secrets`)."""
    return secrets.token_bytes(KEY_SIZE)


def _wrapping_key(master: bytes, kid: str) -> bytes:
    hkdf = HKDF(algorithm=hashes.SHA256(), length=KEY_SIZE, salt=None, info=_WRAP_INFO + kid.encode())
    return hkdf.derive(master)


def _kid_header(kid: str) -> bytes:
    raw = kid.encode("ascii")
    if not 0 < len(raw) <= _MAX_KID_BYTES:
        raise ValueError("a master kid must be 1 to 255 ASCII characters")
    return bytes([WRAP_VERSION, len(raw)]) + raw


def _split(wrapped: bytes) -> tuple[str, bytes]:
    """(kid, aead token) of a wrapped key; DecryptionError if the header is malformed."""
    if len(wrapped) < 2 or wrapped[0] != WRAP_VERSION:
        raise DecryptionError
    end = 2 + wrapped[1]
    if wrapped[1] == 0 or len(wrapped) < end:
        raise DecryptionError
    try:
        kid = wrapped[2:end].decode("ascii")
    except UnicodeDecodeError:
        raise DecryptionError from None
    return kid, wrapped[end:]


class LocalKeyProvider:
    """`KeyProvider` over the master keys of a `crypto.keyring.Keyring`.

    It derives one wrapping key per master key at construction and keeps only those; rotating
    means building a new provider from ``keyring.with_new_master_key(...)``; retiring a master
    means building one from ``keyring.without_master_key(kid)`` once every key was rewrapped.
    """

    __slots__ = ("_current_kid", "_wrapping_keys")

    def __init__(self, keyring: Keyring) -> None:
        # Master keys held in a hardware module are not this provider's (crypto.pkcs11_keys opens them).
        self._wrapping_keys = {m.kid: _wrapping_key(m.key, m.kid) for m in keyring.master_keys if m.key is not None}
        self._current_kid = keyring.current_master_kid
        if self._current_kid not in self._wrapping_keys:
            raise ValueError("the keyring's current master key is missing")
        _kid_header(self._current_kid)

    def __repr__(self) -> str:
        return f"LocalKeyProvider(current_kid={self._current_kid!r}, kids={tuple(self._wrapping_keys)!r})"

    @property
    def current_kid(self) -> str:
        return self._current_kid

    def wrap(self, key: bytes, *, context: Context) -> bytes:
        """Seal `key` under the current master, bound to `context` (e.g. the citizen it belongs to)."""
        if len(key) != KEY_SIZE:
            raise ValueError("only 32-byte keys are wrapped")
        kid = self._current_kid
        return _kid_header(kid) + seal(self._wrapping_keys[kid], key, context=context)

    def unwrap(self, wrapped: bytes, *, context: Context) -> bytes:
        """Open a wrapped key; a removed master, another context or any alteration → DecryptionError."""
        kid, token = _split(wrapped)
        wrapping_key = self._wrapping_keys.get(kid)
        if wrapping_key is None:
            raise DecryptionError
        key = open_sealed(wrapping_key, token, context=context)
        if len(key) != KEY_SIZE:
            raise DecryptionError
        return key

    def rewrap(self, wrapped: bytes, *, context: Context) -> bytes:
        """Move a wrapped key to the current master: the key, and so every blob under it, is unchanged.

        It always opens `wrapped` first, so a rotation run also proves every key still opens under
        its context; one already under the current master comes back as an unchanged copy.
        """
        key = self.unwrap(wrapped, context=context)
        if self.kid_of(wrapped) == self._current_kid:
            return bytes(wrapped)
        return self.wrap(key, context=context)

    def kid_of(self, wrapped: bytes) -> str:
        return _split(wrapped)[0]
