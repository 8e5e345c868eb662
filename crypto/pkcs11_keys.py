"""`KeyProvider` over master keys held in a PKCS#11 token (`crypto.pkcs11_token`).

Wrapped-key layout (version 2; the local provider's is version 1, so neither ever reads the other's as its own)::

    version (1 byte, 0x02) ‖ kid length (1 byte, 1..255) ‖ kid (ASCII) ‖ nonce (12 bytes) ‖ AES-256-GCM ciphertext
    of the 32-byte key ‖ tag (16 bytes)

The token encrypts the key with CKM_AES_GCM under the master key labelled kid, with ``header ‖ context.encode()``
as associated data (header = version ‖ kid length ‖ kid): the key opens only for the exact `Context` it was wrapped
for, and editing the kid in the header makes it fail to open.

Why CKM_AES_GCM and not a key-wrap mechanism (CKM_AES_KEY_WRAP / _KWP): the `KeyProvider` contract binds each
wrapped key to its caller's context, and RFC 3394/5649 key wrap has no associated data; binding the context would
need a second construction around the wrap (a MAC under another token key), and C_WrapKey would first need every
citizen key imported into the token as an object. GCM does both jobs in one call and mirrors the local format.
The nonce is 96 random bits from the OS CSPRNG: under one master key that stays far below the 2^32 random nonces
NIST SP 800-38D allows, and rotation starts a new key. (A token that insists on generating GCM nonces itself, as
some FIPS-mode HSMs do, would need the nonce read back from the mechanism parameters instead.)

A keyring moving from the file to the token (rotated under WALLET_KEY_PROVIDER=pkcs11) still holds file master
keys until `congdanso keys rotate --remove-retired`: their version-1 keys open here too, and rewrap moves them.
"""

from __future__ import annotations

import secrets
from dataclasses import replace

from crypto.aead import KEY_SIZE, NONCE_SIZE, TAG_SIZE, Context
from crypto.errors import DecryptionError
from crypto.keyring import Keyring
from crypto.keys import WRAP_VERSION as LOCAL_WRAP_VERSION
from crypto.keys import KeyProvider, LocalKeyProvider
from crypto.pkcs11_token import Pkcs11Token

WRAP_VERSION = 2
_MAX_KID_BYTES = 255
_BODY_SIZE = NONCE_SIZE + KEY_SIZE + TAG_SIZE


def _header(kid: str) -> bytes:
    raw = kid.encode("ascii")
    if not 0 < len(raw) <= _MAX_KID_BYTES:
        raise ValueError("a master kid must be 1 to 255 ASCII characters")
    return bytes([WRAP_VERSION, len(raw)]) + raw


def _split(wrapped: bytes) -> tuple[str, bytes, bytes]:
    """(kid, header, body) of a version-2 wrapped key; DecryptionError if malformed."""
    if len(wrapped) < 2 or wrapped[0] != WRAP_VERSION or wrapped[1] == 0:
        raise DecryptionError
    end = 2 + wrapped[1]
    if len(wrapped) != end + _BODY_SIZE:
        raise DecryptionError
    try:
        kid = wrapped[2:end].decode("ascii")
    except UnicodeDecodeError:
        raise DecryptionError from None
    return kid, wrapped[:end], wrapped[end:]


def _file_keys(ring: Keyring) -> LocalKeyProvider | None:
    """A provider for the master keys still in the file, if any (keys wrapped before the move to the token)."""
    in_file = [m for m in ring.master_keys if not m.in_module]
    if not in_file:
        return None
    return LocalKeyProvider(replace(ring, master_keys=tuple(in_file), current_master_kid=in_file[-1].kid))


class Pkcs11KeyProvider:
    """`KeyProvider` whose master keys are the token's AES keys named in the keyring; the current one wraps.

    Like `LocalKeyProvider`, it is built per keyring: a rotation loads a new keyring, and a new provider over it.
    """

    __slots__ = ("_current_kid", "_file", "_kids", "_token")

    def __init__(self, keyring: Keyring, token: Pkcs11Token) -> None:
        self._token = token
        self._kids = frozenset(m.kid for m in keyring.master_keys if m.in_module)
        self._current_kid = keyring.current_master_kid
        if self._current_kid not in self._kids:
            raise ValueError("the keyring's current master key is not held in the token")
        _header(self._current_kid)
        self._file = _file_keys(keyring)

    def __repr__(self) -> str:
        return f"Pkcs11KeyProvider(current_kid={self._current_kid!r}, kids={tuple(sorted(self._kids))!r})"

    @property
    def current_kid(self) -> str:
        return self._current_kid

    def wrap(self, key: bytes, *, context: Context) -> bytes:
        """Encrypt `key` in the token under the current master, bound to `context`."""
        if len(key) != KEY_SIZE:
            raise ValueError("only 32-byte keys are wrapped")
        header = _header(self._current_kid)
        nonce = secrets.token_bytes(NONCE_SIZE)
        sealed = self._token.encrypt(self._current_kid, key, nonce=nonce, aad=header + context.encode())
        return header + nonce + sealed

    def unwrap(self, wrapped: bytes, *, context: Context) -> bytes:
        """Decrypt a wrapped key in the token; a removed master, another context or any alteration → DecryptionError."""
        if wrapped[:1] == bytes([LOCAL_WRAP_VERSION]) and self._file is not None:
            return self._file.unwrap(wrapped, context=context)
        kid, header, body = _split(wrapped)
        if kid not in self._kids:
            raise DecryptionError
        nonce, sealed = body[:NONCE_SIZE], body[NONCE_SIZE:]
        # A token that fails (rather than refuses) raises KeyModuleError: an outage is never reported as tampering.
        key = self._token.decrypt(kid, sealed, nonce=nonce, aad=header + context.encode())
        if len(key) != KEY_SIZE:
            raise DecryptionError
        return key

    def rewrap(self, wrapped: bytes, *, context: Context) -> bytes:
        """Move a wrapped key to the current master (a file-held one into the token); it opens first either way,
        so a rotation run proves every key still opens. One already current comes back as an unchanged copy."""
        key = self.unwrap(wrapped, context=context)
        if self.kid_of(wrapped) == self._current_kid:
            return bytes(wrapped)
        return self.wrap(key, context=context)

    def kid_of(self, wrapped: bytes) -> str:
        if wrapped[:1] == bytes([LOCAL_WRAP_VERSION]) and self._file is not None:
            return self._file.kid_of(wrapped)
        return _split(wrapped)[0]


def provider_for(keyring: Keyring, token: Pkcs11Token) -> KeyProvider:
    """The provider of a keyring under WALLET_KEY_PROVIDER=pkcs11: the token's once its current master is there;
    the file's before the first rotation moves a local keyring into the token."""
    if keyring.master_key(keyring.current_master_kid).in_module:
        return Pkcs11KeyProvider(keyring, token)
    return LocalKeyProvider(keyring)
