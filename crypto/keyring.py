"""The keyring: every long-lived key of the service, kept in one file of mode 0600.

It holds the master keys (which wrap each citizen's key), the blind-index key (keyed
lookups of national ID and phone) and the Ed25519 signing keys (tokens, QR, attestations).
A keyring generated on first run is marked ``development``; production refuses it.

With a hardware module (`KeyModule`, e.g. a PKCS#11 token) the master and signing keys are
generated inside it and never leave it: the file then keeps only their metadata (kid, times),
marked ``"module": true``, and the blind-index key. Callers see `crypto.keys.KeyProvider` and
`SigningKey.private_key` either way.
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
from typing import Any, Protocol

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


class KeyModule(Protocol):
    """Hardware that generates and holds keys (a PKCS#11 token): key material never comes out of it."""

    def new_master_key(self, kid: str) -> None:
        """Generate an AES-256 master key named `kid` inside the module."""
        ...

    def new_signing_key(self, kid: str) -> Ed25519PrivateKey:
        """Generate an Ed25519 key pair named `kid` inside the module; the result signs through it."""
        ...

    def signing_key(self, kid: str) -> Ed25519PrivateKey:
        """The module's signing key `kid` (looked up when first used)."""
        ...


@dataclass(frozen=True)
class MasterKey:
    kid: str
    key: bytes | None = field(repr=False)
    """None: the key is held in the hardware module under `kid`."""
    created_at: datetime

    @property
    def in_module(self) -> bool:
        return self.key is None


@dataclass(frozen=True)
class SigningKey:
    """An Ed25519 key; it signs from `active_from` and verifies until `retired_at`."""

    kid: str
    private_key: Ed25519PrivateKey = field(repr=False)
    created_at: datetime
    active_from: datetime
    retired_at: datetime | None = None
    in_module: bool = False
    """The private key is held in the hardware module; `private_key` signs through it."""

    @cached_property
    def public_key(self) -> Ed25519PublicKey:
        # Derived once per key object (~30 µs each time): the JWKS answer and every verifier set ask for it.
        return self.private_key.public_key()

    def can_verify(self, now: datetime) -> bool:
        return self.retired_at is None or now < self.retired_at


@dataclass(frozen=True)
class Keyring:
    """Immutable view of the key file; operations return a new keyring to save.

    With a `module`, new master and signing keys are generated in it; without, in this process."""

    master_keys: tuple[MasterKey, ...]
    current_master_kid: str
    index_key: bytes = field(repr=False)
    signing_keys: tuple[SigningKey, ...]
    development: bool
    module: KeyModule | None = field(default=None, repr=False, compare=False)

    @classmethod
    def generate(cls, *, now: datetime, development: bool, module: KeyModule | None = None) -> Keyring:
        master = _new_master_key(module, now)
        signing = _new_signing_key(module, now, active_from=now)
        return cls((master,), master.kid, secrets.token_bytes(KEY_BYTES), (signing,), development, module)

    def master_key(self, kid: str) -> MasterKey:
        for master in self.master_keys:
            if master.kid == kid:
                return master
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
        master = _new_master_key(self.module, now)
        return replace(self, master_keys=(*self.master_keys, master), current_master_kid=master.kid)

    def without_master_key(self, kid: str) -> Keyring:
        if kid == self.current_master_kid:
            raise KeyringError("the current master key cannot be removed")
        return replace(self, master_keys=tuple(k for k in self.master_keys if k.kid != kid))

    def with_new_signing_key(self, *, now: datetime, active_from: datetime) -> Keyring:
        key = _new_signing_key(self.module, now, active_from=active_from)
        return replace(self, signing_keys=(*self.signing_keys, key))

    def with_signing_key_retired(self, kid: str, *, at: datetime) -> Keyring:
        keys = tuple(replace(k, retired_at=at) if k.kid == kid else k for k in self.signing_keys)
        return replace(self, signing_keys=keys)

    def to_json(self) -> dict[str, Any]:
        return {
            "format": _FORMAT,
            "development": self.development,
            "current_master_kid": self.current_master_kid,
            "master_keys": [_master_to_json(k) for k in self.master_keys],
            "index_key": _b64(self.index_key),
            "signing_keys": [_signing_to_json(k) for k in self.signing_keys],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any], *, module: KeyModule | None = None) -> Keyring:
        """The keyring of `data`; keys marked as held in a module need that `module`."""
        try:
            if data["format"] != _FORMAT:
                raise KeyringError(f"unsupported keyring format {data['format']!r}")
            ring = cls(
                tuple(_master_from_json(m, module) for m in data["master_keys"]),
                data["current_master_kid"],
                _checked_key(_unb64(data["index_key"])),
                tuple(_signing_from_json(s, module) for s in data["signing_keys"]),
                bool(data["development"]),
                module,
            )
            ring.master_key(ring.current_master_kid)
        except (KeyError, TypeError, ValueError) as exc:
            raise KeyringError(f"malformed keyring: {exc}") from exc
        return ring


def _checked_key(raw: bytes) -> bytes:
    if len(raw) != KEY_BYTES:
        raise KeyringError("a symmetric key must be 32 bytes")
    return raw


def _new_master_key(module: KeyModule | None, now: datetime) -> MasterKey:
    kid = new_kid("mk")
    if module is None:
        return MasterKey(kid, secrets.token_bytes(KEY_BYTES), now)
    module.new_master_key(kid)
    return MasterKey(kid, None, now)


def _new_signing_key(module: KeyModule | None, now: datetime, *, active_from: datetime) -> SigningKey:
    kid = new_kid("sk")
    if module is None:
        return SigningKey(kid, Ed25519PrivateKey.generate(), now, active_from)
    return SigningKey(kid, module.new_signing_key(kid), now, active_from, in_module=True)


def _module_of(data: dict[str, Any], module: KeyModule | None) -> KeyModule:
    if module is None:
        raise KeyringError(f"key {data['kid']!r} is held in a hardware module: set WALLET_KEY_PROVIDER=pkcs11")
    return module


def _master_to_json(key: MasterKey) -> dict[str, Any]:
    held = {"module": True} if key.key is None else {"key": _b64(key.key)}
    return {"kid": key.kid, **held, "created_at": key.created_at.isoformat()}


def _master_from_json(data: dict[str, Any], module: KeyModule | None) -> MasterKey:
    created = datetime.fromisoformat(data["created_at"])
    if data.get("module"):
        _module_of(data, module)
        return MasterKey(data["kid"], None, created)
    return MasterKey(data["kid"], _checked_key(_unb64(data["key"])), created)


def _signing_to_json(key: SigningKey) -> dict[str, Any]:
    if key.in_module:
        held: dict[str, Any] = {"module": True}
    else:
        raw = key.private_key.private_bytes(
            serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
        )
        held = {"private_key": _b64(raw)}
    return {
        "kid": key.kid,
        **held,
        "created_at": key.created_at.isoformat(),
        "active_from": key.active_from.isoformat(),
        "retired_at": key.retired_at.isoformat() if key.retired_at else None,
    }


def _signing_from_json(data: dict[str, Any], module: KeyModule | None) -> SigningKey:
    retired = data.get("retired_at")
    in_module = bool(data.get("module"))
    private_key = (
        _module_of(data, module).signing_key(data["kid"])
        if in_module
        else Ed25519PrivateKey.from_private_bytes(_unb64(data["private_key"]))
    )
    return SigningKey(
        data["kid"],
        private_key,
        datetime.fromisoformat(data["created_at"]),
        datetime.fromisoformat(data["active_from"]),
        datetime.fromisoformat(retired) if retired else None,
        in_module,
    )


def load_keyring(path: Path, *, module: KeyModule | None = None) -> Keyring:
    try:
        return Keyring.from_json(json.loads(path.read_text()), module=module)
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


def load_or_create_keyring(
    path: Path, *, now: datetime | None = None, module: KeyModule | None = None
) -> tuple[Keyring, bool]:
    """Load the keyring, generating a development one if none exists. Returns (ring, created)."""
    if path.exists():
        return load_keyring(path, module=module), False
    ring = Keyring.generate(now=now or datetime.now(UTC), development=True, module=module)
    save_keyring(ring, path)
    return ring, True


class KeyringFile:
    """The keyring of a file, re-read when the file changes (a rotation by the CLI reaches every
    worker without a restart). Checks the file at most every `recheck_seconds`."""

    def __init__(self, path: Path, *, recheck_seconds: float = 5.0, module: KeyModule | None = None) -> None:
        self._path = path
        self._recheck = recheck_seconds
        self._module = module
        self._monotonic = time.monotonic
        self._lock = threading.Lock()
        self._ring = load_keyring(path, module=module)
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
                self._ring, self._stamp = load_keyring(self._path, module=self._module), stamp
