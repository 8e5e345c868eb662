"""Keys held in a PKCS#11 token (an HSM; SoftHSM2 in the tests): generated inside, used inside, never extractable.

Every key is a token object labelled with its kid (and with the kid as its CKA_ID): the master keys are AES-256
secret keys that can only encrypt and decrypt, the signing keys Ed25519 pairs whose private half can only sign.
Both are generated with CKA_SENSITIVE and without CKA_EXTRACTABLE, so no call, wrapping included, reads them out.

Sessions: one logged-in read/write session per token and process, opened on first use. uvicorn's workers each open
their own; a process forked after its parent used the library initialises it again rather than using the parent's
state, which PKCS#11 forbids. PKCS#11 logins are per process and token, so every `Pkcs11Token` of a process shares
that one session. python-pkcs11 initialises the library without CKF_OS_LOCKING_OK (its documentation: for the
widest compatibility), which tells the module it will not be called from several threads at once; its own lock only
covers one session's multi-step operations. So every PKCS#11 call of this process (opening a session, finding a key,
using it) holds one process-wide lock; the module releases the GIL meanwhile, so other threads still run Python.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import pkcs11
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.utils import Buffer
from pkcs11 import Attribute, KeyType, Mechanism, MechanismFlag, ObjectClass
from pkcs11 import exceptions as p11
from pkcs11.util.ec import encode_named_curve_parameters

from crypto.errors import DecryptionError
from crypto.keyring import KeyringError

ED25519_OID = "1.3.101.112"  # id-Ed25519 (RFC 8410), the curve of CKK_EC_EDWARDS keys
_NEVER_OUT = {Attribute.SENSITIVE: True, Attribute.EXTRACTABLE: False, Attribute.PRIVATE: True}
# What a token answers when a GCM tag does not match or the ciphertext is not one it made. SoftHSM2 2.6 says
# CKR_GENERAL_ERROR for a bad tag, so that one is read as a refusal too; a lost session or device is not.
_REFUSED = (p11.EncryptedDataInvalid, p11.EncryptedDataLenRange, p11.FunctionFailed, p11.GeneralError)
# A handle this process remembered whose object another process destroyed.
_STALE_HANDLE = (p11.ObjectHandleInvalid, p11.KeyHandleInvalid)
# Errors after which the session is gone (the token was removed or restarted): reopen once and retry.
_SESSION_LOST = (p11.SessionClosed, p11.SessionHandleInvalid, p11.DeviceRemoved, p11.TokenNotPresent)

T = TypeVar("T")


class KeyModuleError(KeyringError):
    """The token cannot be reached, or a key is missing from it or cannot be used as asked."""


class MissingKey(KeyModuleError):
    """No single key of that kid and class in the token (never made here, or destroyed)."""


@dataclass(frozen=True)
class Pkcs11Config:
    module: Path
    """The PKCS#11 library of the HSM (e.g. /usr/lib/softhsm/libsofthsm2.so)."""
    token_label: str
    pin: str = field(repr=False)
    """The user PIN of the token."""


@dataclass
class _Session:
    pid: int
    session: Any
    handles: dict[tuple[ObjectClass, str], Any]


class _ProcessLock:
    """Held around every PKCS#11 call of the process, whatever the token (see the module's docstring). A forked child
    gets a new one: its parent may have held the old one at the moment of the fork."""

    def __init__(self) -> None:
        self.lock = threading.RLock()

    def renew(self) -> None:
        self.lock = threading.RLock()


_PROCESS = _ProcessLock()
os.register_at_fork(after_in_child=_PROCESS.renew)
_SESSIONS: dict[tuple[str, str], _Session] = {}
_INITIALISED_IN: dict[str, int] = {}


def _library(path: str) -> Any:
    try:
        lib = pkcs11.lib(path)
    except p11.PKCS11Error as exc:
        raise KeyModuleError(f"cannot load the PKCS#11 library {path}: {exc}") from None
    pid = os.getpid()
    if _INITIALISED_IN.setdefault(path, pid) != pid:
        # A forked child must initialise the library itself: the state it inherited is its parent's.
        with suppress(p11.PKCS11Error):
            lib.finalize()
        lib.initialize()
        _INITIALISED_IN[path] = pid
    return lib


def _open_session(config: Pkcs11Config) -> _Session:
    lib = _library(str(config.module))
    try:
        token = lib.get_token(token_label=config.token_label)
        session = token.open(rw=True, user_pin=config.pin)
    except p11.PKCS11Error as exc:
        raise KeyModuleError(f"cannot open token {config.token_label!r}: {type(exc).__name__}") from None
    return _Session(os.getpid(), session, {})


def _session_for(config: Pkcs11Config, *, fresh: bool = False) -> _Session:
    name = (str(config.module), config.token_label)
    with _PROCESS.lock:
        known = _SESSIONS.get(name)
        if fresh or known is None or known.pid != os.getpid():
            known = _SESSIONS[name] = _open_session(config)
        return known


def rescan(module: Path) -> None:
    """Initialise the library again so that it lists tokens made since it was first initialised (SoftHSM2 reads its
    token folder once). Every session this process has on the module is closed; the next use opens a new one. For
    tools and tests between operations, never while serving."""
    path = str(module)
    with _PROCESS.lock:
        lib = _library(path)
        lib.reinitialize()
        for name in [name for name in _SESSIONS if name[0] == path]:
            del _SESSIONS[name]


class Pkcs11Token:
    """The keys of one token, by kid. Implements `crypto.keyring.KeyModule`."""

    def __init__(self, config: Pkcs11Config) -> None:
        self._config = config
        self._signers: dict[str, Pkcs11SigningKey] = {}

    def __repr__(self) -> str:
        return f"Pkcs11Token(module={str(self._config.module)!r}, token={self._config.token_label!r})"

    def _use(self, action: Callable[[_Session], T]) -> T:
        try:
            try:
                return self._locked(action)
            except _STALE_HANDLE:
                # Another process (`congdanso keys`) destroyed an object whose handle this one remembered.
                return self._locked(action, forget=True)
            except _SESSION_LOST:
                return self._locked(action, fresh=True)
        except p11.PKCS11Error as exc:
            raise KeyModuleError(f"the token failed: {type(exc).__name__}") from exc

    def _locked(self, action: Callable[[_Session], T], *, fresh: bool = False, forget: bool = False) -> T:
        with _PROCESS.lock:
            state = _session_for(self._config, fresh=fresh)
            if forget:
                state.handles.clear()
            return action(state)

    def _key(self, state: _Session, object_class: ObjectClass, kid: str) -> Any:
        handle = state.handles.get((object_class, kid))
        if handle is None:
            try:
                handle = state.session.get_key(object_class=object_class, label=kid, id=kid.encode())
            except (p11.NoSuchKey, p11.MultipleObjectsReturned):
                raise MissingKey(f"no single key {kid!r} of class {object_class.name} in the token") from None
            state.handles[(object_class, kid)] = handle
        return handle

    def _absent(self, state: _Session, kid: str) -> None:
        if list(state.session.get_objects({Attribute.LABEL: kid})):
            raise KeyModuleError(f"the token already holds an object labelled {kid!r}")

    def new_master_key(self, kid: str) -> None:
        def generate(state: _Session) -> None:
            self._absent(state, kid)
            state.session.generate_key(
                KeyType.AES,
                256,
                id=kid.encode(),
                label=kid,
                store=True,
                capabilities=MechanismFlag.ENCRYPT | MechanismFlag.DECRYPT,
                template=_NEVER_OUT,
            )

        self._use(generate)

    def new_signing_key(self, kid: str) -> Ed25519PrivateKey:
        def generate(state: _Session) -> None:
            self._absent(state, kid)
            curve = {Attribute.EC_PARAMS: encode_named_curve_parameters(ED25519_OID)}
            parameters = state.session.create_domain_parameters(KeyType.EC_EDWARDS, curve, local=True)
            parameters.generate_keypair(
                id=kid.encode(),
                label=kid,
                store=True,
                capabilities=MechanismFlag.SIGN | MechanismFlag.VERIFY,
                mechanism=Mechanism.EC_EDWARDS_KEY_PAIR_GEN,
                private_template=_NEVER_OUT,
            )

        self._use(generate)
        return self.signing_key(kid)

    def signing_key(self, kid: str) -> Ed25519PrivateKey:
        """A signer for `kid`; the token is first asked when it signs or its public key is read."""
        signer = self._signers.get(kid)
        if signer is None:
            signer = self._signers[kid] = Pkcs11SigningKey(self, kid)
        return signer

    def destroy_master_key(self, kid: str) -> None:
        """Delete a master key from the token: whatever it still wraps can never be opened again."""

        def destroy(state: _Session) -> None:
            self._key(state, ObjectClass.SECRET_KEY, kid).destroy()
            state.handles.pop((ObjectClass.SECRET_KEY, kid), None)

        self._use(destroy)

    def encrypt(self, kid: str, data: bytes, *, nonce: bytes, aad: bytes) -> bytes:
        """AES-256-GCM under master key `kid` (CKM_AES_GCM, 128-bit tag appended); KeyModuleError if absent."""
        params = pkcs11.GCMParams(nonce, aad, 128)
        return bytes(
            self._use(
                lambda s: self._key(s, ObjectClass.SECRET_KEY, kid).encrypt(
                    data, mechanism=Mechanism.AES_GCM, mechanism_param=params
                )
            )
        )

    def decrypt(self, kid: str, data: bytes, *, nonce: bytes, aad: bytes) -> bytes:
        """The inverse of `encrypt`. DecryptionError when the token refuses the ciphertext (a bad tag, another
        nonce or associated data) or holds no such key; KeyModuleError when the token itself fails."""
        params = pkcs11.GCMParams(nonce, aad, 128)

        def open_sealed(state: _Session) -> bytes:
            try:
                key = self._key(state, ObjectClass.SECRET_KEY, kid)
                return bytes(key.decrypt(data, mechanism=Mechanism.AES_GCM, mechanism_param=params))
            except (MissingKey, *_REFUSED):
                raise DecryptionError from None

        return self._use(open_sealed)

    def sign(self, kid: str, data: bytes) -> bytes:
        """A pure Ed25519 signature of `data` (CKM_EDDSA without parameters) by private key `kid`."""
        return bytes(
            self._use(lambda s: self._key(s, ObjectClass.PRIVATE_KEY, kid).sign(data, mechanism=Mechanism.EDDSA))
        )

    def public_key(self, kid: str) -> Ed25519PublicKey:
        """The public half of signing key `kid`, read from the token's CKA_EC_POINT."""
        point = bytes(self._use(lambda s: self._key(s, ObjectClass.PUBLIC_KEY, kid)[Attribute.EC_POINT]))
        # PKCS#11 stores the point DER-wrapped in an OCTET STRING (04 20 ‖ 32 bytes); some modules give it raw.
        raw = point[2:] if len(point) == 34 and point[:2] == b"\x04\x20" else point
        try:
            return Ed25519PublicKey.from_public_bytes(raw)
        except ValueError:
            raise KeyModuleError(f"the token's public key {kid!r} is not an Ed25519 key") from None

    def attribute(self, object_class: ObjectClass, kid: str, attribute: Attribute) -> Any:
        """One attribute of key `kid`, as the token answers it (for checks; secret values are refused)."""
        return self._use(lambda s: self._key(s, object_class, kid)[attribute])


class Pkcs11SigningKey(Ed25519PrivateKey):
    """An Ed25519 private key that stays in the token. pyjwt, the audit checkpoints and every other signer take it
    as the `Ed25519PrivateKey` they expect and call `sign`; the JWKS reads `public_key()`; it cannot be exported."""

    def __init__(self, token: Pkcs11Token, kid: str) -> None:
        self._token = token
        self._kid = kid
        self._public: Ed25519PublicKey | None = None

    def __repr__(self) -> str:
        return f"Pkcs11SigningKey(kid={self._kid!r})"

    def sign(self, data: Buffer) -> bytes:
        return self._token.sign(self._kid, bytes(data))

    def public_key(self) -> Ed25519PublicKey:
        if self._public is None:
            self._public = self._token.public_key(self._kid)
        return self._public

    def private_bytes(
        self,
        encoding: serialization.Encoding,
        format: serialization.PrivateFormat,
        encryption_algorithm: serialization.KeySerializationEncryption,
    ) -> bytes:
        raise KeyModuleError(f"signing key {self._kid!r} is held in the token and cannot be exported")

    def private_bytes_raw(self) -> bytes:
        raise KeyModuleError(f"signing key {self._kid!r} is held in the token and cannot be exported")

    def __copy__(self) -> Pkcs11SigningKey:
        return self

    def __deepcopy__(self, memo: dict[int, Any]) -> Pkcs11SigningKey:
        return self
