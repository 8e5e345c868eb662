"""A Fernet-sized AES-256-GCM recipe whose ciphertext is bound to the record it belongs to.

Token layout (version 1)::

    version (1 byte, 0x01) ‖ nonce (12 random bytes) ‖ AES-256-GCM ciphertext ‖ tag (16 bytes)

The associated data is ``version ‖ context.encode()``: the token opens only under the exact
`Context` it was sealed for, so a ciphertext copied into another citizen's row, another document,
another version or another purpose fails to open instead of being served as theirs.
"""

from __future__ import annotations

import secrets
import struct
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from crypto.errors import DecryptionError

KEY_SIZE = 32
NONCE_SIZE = 12
TAG_SIZE = 16
VERSION = 1
_VERSION_BYTE = bytes([VERSION])
OVERHEAD = 1 + NONCE_SIZE + TAG_SIZE
_CONTEXT_LABEL = b"congdanso/context/v1"
_MAX_VERSION = 2**64 - 1


@dataclass(frozen=True)
class Context:
    """What a ciphertext is about; authenticated as AES-GCM associated data, never encrypted.

    `encode` is canonical and injective: a fixed label, then every field in a fixed order, each
    string UTF-8 and prefixed by its 4-byte big-endian length, the version as 8 bytes. Two different
    contexts can therefore never produce the same associated data (``("ab", "c")`` ≠ ``("a", "bc")``).
    """

    purpose: str
    citizen: str = ""
    document: str = ""
    version: int = 0
    file: str = ""

    def __post_init__(self) -> None:
        if not all(isinstance(text, str) for text in (self.purpose, self.citizen, self.document, self.file)):
            raise TypeError("context purpose, citizen, document and file must be str")
        if isinstance(self.version, bool) or not isinstance(self.version, int):
            raise TypeError("context version must be an int")
        if not self.purpose:
            raise ValueError("a context needs a purpose")
        if not 0 <= self.version <= _MAX_VERSION:
            raise ValueError("context version must be in [0, 2**64)")

    def encode(self) -> bytes:
        parts = [_CONTEXT_LABEL]
        for text in (self.purpose, self.citizen, self.document):
            parts.append(_length_prefixed(text.encode()))
        parts.append(struct.pack(">Q", self.version))
        parts.append(_length_prefixed(self.file.encode()))
        return b"".join(parts)


def _length_prefixed(raw: bytes) -> bytes:
    return struct.pack(">I", len(raw)) + raw


def aes256gcm(key: bytes) -> AESGCM:
    """An AES-256-GCM instance for `key`; ValueError unless it is exactly 32 bytes (no silent AES-128)."""
    if len(key) != KEY_SIZE:
        raise ValueError("an AES-256-GCM key must be 32 bytes")
    return AESGCM(key)


def seal(key: bytes, plaintext: bytes, *, context: Context) -> bytes:
    """Encrypt and authenticate `plaintext` for `context` under a 32-byte `key`.

    A fresh 96-bit nonce comes from the OS CSPRNG for every call. It is deliberately not
    injectable: a repeated nonce under one GCM key reveals the XOR of plaintexts and the
    authentication key. Random nonces stay safe up to ~2**32 seals per key, far above any use
    here (one key per citizen, or per master key for key wrapping).
    """
    aes = aes256gcm(key)
    nonce = secrets.token_bytes(NONCE_SIZE)
    return _VERSION_BYTE + nonce + aes.encrypt(nonce, plaintext, _VERSION_BYTE + context.encode())


def open_sealed(key: bytes, token: bytes, *, context: Context) -> bytes:
    """Verify and decrypt a token from `seal`; DecryptionError on any failure, never a partial result.

    A key of the wrong length is a programming error and raises ValueError before the token is
    looked at; everything about the token itself (short, unknown version, altered, other key or
    context) raises the same DecryptionError.
    """
    aes = aes256gcm(key)
    if len(token) < OVERHEAD or token[:1] != _VERSION_BYTE:
        raise DecryptionError
    nonce = token[1 : 1 + NONCE_SIZE]
    try:
        return aes.decrypt(nonce, token[1 + NONCE_SIZE :], _VERSION_BYTE + context.encode())
    except InvalidTag:
        raise DecryptionError from None
