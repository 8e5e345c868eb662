"""The keyring: every long-lived key of the service, kept in one file of mode 0600.

It holds the master keys (which wrap each citizen's key), the blind-index key (keyed
lookups of national ID and phone) and the Ed25519 signing keys (tokens, QR, attestations).
A keyring generated on first run is marked ``development``; production refuses it.
A KMS- or HSM-backed provider can replace the master keys later without touching callers,
who only see `crypto.keys.KeyProvider`.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import threading
import time
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from functools import cached_property
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

KEY_BYTES = 32
_FORMAT = 1


class KeyringError(Exception):
    """The keyring file is missing, unreadable or malformed."""


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def new_kid(prefix: str) -> str:
    """A short random key id; never derived from key material."""
    return f"{prefix}-{secrets.token_hex(6)}"


@dataclass(frozen=True)
class MasterKey:
    kid: str
    key: bytes = field(repr=False)
    created_at: datetime


@dataclass(frozen=True)
class SigningKey:
    """An Ed25519 key; it signs from `active_from` and verifies until `retired_at`."""

    kid: str
    private_key: Ed25519PrivateKey = field(repr=False)
    created_at: datetime
    active_from: datetime
    retired_at: datetime | None = None

    @cached_property
    def public_key(self) -> Ed25519PublicKey:
        # Derived once per key object (~30 µs each time): the JWKS answer and every verifier set ask for it.
        return self.private_key.public_key()

    def can_verify(self, now: datetime) -> bool:
        return self.retired_at is None or now < self.retired_at


@dataclass(frozen=True)
class Keyring:
    """Immutable view of the key file; operations return a new keyring to save."""

    master_keys: tuple[MasterKey, ...]
    current_master_kid: str
    index_key: bytes = field(repr=False)
    signing_keys: tuple[SigningKey, ...]
    development: bool

    @classmethod
    def generate(cls, *, now: datetime, development: bool) -> Keyring:
        master = MasterKey(new_kid("mk"), secrets.token_bytes(KEY_BYTES), now)
        signing = SigningKey(new_kid("sk"), Ed25519PrivateKey.generate(), now, now)
        return cls((master,), master.kid, secrets.token_bytes(KEY_BYTES), (signing,), development)

    def master_key(self, kid: str) -> bytes:
        for master in self.master_keys:
            if master.kid == kid:
                return master.key
        raise KeyringError(f"unknown master key {kid!r}")

    def current_signing_key(self, now: datetime) -> SigningKey:
        """The newest key already active and not retired."""
        usable = [k for k in self.signing_keys if k.active_from <= now and k.can_verify(now)]
        if not usable:
            raise KeyringError("no active signing key")
        return max(usable, key=lambda k: k.active_from)

    def verification_keys(self, now: datetime) -> list[SigningKey]:
        return [k for k in self.signing_keys if k.can_verify(now)]

    def with_new_master_key(self, *, now: datetime) -> Keyring:
        master = MasterKey(new_kid("mk"), secrets.token_bytes(KEY_BYTES), now)
        return replace(self, master_keys=(*self.master_keys, master), current_master_kid=master.kid)

    def without_master_key(self, kid: str) -> Keyring:
        if kid == self.current_master_kid:
            raise KeyringError("the current master key cannot be removed")
        return replace(self, master_keys=tuple(k for k in self.master_keys if k.kid != kid))

    def with_new_signing_key(self, *, now: datetime, active_from: datetime) -> Keyring:
        key = SigningKey(new_kid("sk"), Ed25519PrivateKey.generate(), now, active_from)
        return replace(self, signing_keys=(*self.signing_keys, key))

    def with_signing_key_retired(self, kid: str, *, at: datetime) -> Keyring:
        keys = tuple(replace(k, retired_at=at) if k.kid == kid else k for k in self.signing_keys)
        return replace(self, signing_keys=keys)

    def to_json(self) -> dict[str, Any]:
        return {
            "format": _FORMAT,
            "development": self.development,
            "current_master_kid": self.current_master_kid,
            "master_keys": [
                {"kid": k.kid, "key": _b64(k.key), "created_at": k.created_at.isoformat()} for k in self.master_keys
            ],
            "index_key": _b64(self.index_key),
            "signing_keys": [_signing_to_json(k) for k in self.signing_keys],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Keyring:
        try:
            if data["format"] != _FORMAT:
                raise KeyringError(f"unsupported keyring format {data['format']!r}")
            masters = tuple(
                MasterKey(m["kid"], _checked_key(_unb64(m["key"])), datetime.fromisoformat(m["created_at"]))
                for m in data["master_keys"]
            )
            ring = cls(
                masters,
                data["current_master_kid"],
                _checked_key(_unb64(data["index_key"])),
                tuple(_signing_from_json(s) for s in data["signing_keys"]),
                bool(data["development"]),
            )
            ring.master_key(ring.current_master_kid)
        except (KeyError, TypeError, ValueError) as exc:
            raise KeyringError(f"malformed keyring: {exc}") from exc
        return ring


def _checked_key(raw: bytes) -> bytes:
    if len(raw) != KEY_BYTES:
        raise KeyringError("a symmetric key must be 32 bytes")
    return raw


def _signing_to_json(key: SigningKey) -> dict[str, Any]:
    raw = key.private_key.private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    )
    return {
        "kid": key.kid,
        "private_key": _b64(raw),
        "created_at": key.created_at.isoformat(),
        "active_from": key.active_from.isoformat(),
        "retired_at": key.retired_at.isoformat() if key.retired_at else None,
    }


def _signing_from_json(data: dict[str, Any]) -> SigningKey:
    retired = data.get("retired_at")
    return SigningKey(
        data["kid"],
        Ed25519PrivateKey.from_private_bytes(_unb64(data["private_key"])),
        datetime.fromisoformat(data["created_at"]),
        datetime.fromisoformat(data["active_from"]),
        datetime.fromisoformat(retired) if retired else None,
    )


def load_keyring(path: Path) -> Keyring:
    try:
        return Keyring.from_json(json.loads(path.read_text()))
    except (OSError, json.JSONDecodeError) as exc:
        raise KeyringError(f"cannot read keyring {path}: {exc}") from exc


def save_keyring(ring: Keyring, path: Path) -> None:
    """Write atomically with mode 0600, so a crash never leaves a half-written keyring."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        json.dump(ring.to_json(), out, indent=2)
        out.flush()
        os.fsync(out.fileno())
    tmp.chmod(0o600)
    tmp.replace(path)


def load_or_create_keyring(path: Path, *, now: datetime | None = None) -> tuple[Keyring, bool]:
    """Load the keyring, generating a development one if none exists. Returns (ring, created)."""
    if path.exists():
        return load_keyring(path), False
    ring = Keyring.generate(now=now or datetime.now(UTC), development=True)
    save_keyring(ring, path)
    return ring, True


class KeyringFile:
    """The keyring of a file, re-read when the file changes (a rotation by the CLI reaches every
    worker without a restart). Checks the file at most every `recheck_seconds`."""

    def __init__(self, path: Path, *, recheck_seconds: float = 5.0) -> None:
        self._path = path
        self._recheck = recheck_seconds
        self._monotonic = time.monotonic
        self._lock = threading.Lock()
        self._ring = load_keyring(path)
        self._stamp = self._file_stamp()
        self._checked = self._monotonic()

    def _file_stamp(self) -> tuple[int, int]:
        stat = self._path.stat()
        return stat.st_mtime_ns, stat.st_size

    def __call__(self) -> Keyring:
        if self._monotonic() - self._checked >= self._recheck:
            self.reload_if_changed()
        return self._ring

    def reload_if_changed(self) -> None:
        with self._lock:
            self._checked = self._monotonic()
            stamp = self._file_stamp()
            if stamp != self._stamp:
                self._ring, self._stamp = load_keyring(self._path), stamp
