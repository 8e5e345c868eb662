"""Signed checkpoints of the access log: the chain's hash at some `seq`, signed with the platform's Ed25519 key.

A checkpoint is a compact JWS (RFC 7515, `alg` EdDSA, the signing key's `kid` in the header, `typ`
`congdanso-audit-checkpoint`) whose payload is the JSON object `{"v": 1, "seq": …, "entry_hash": "…", "at": "…"}`.
Anyone holding the public key (the JWKS, or the keyring file) can check it offline; `congdanso audit verify` checks
every one against the recomputed chain. Rewriting the log up to a checkpoint would need the signing key.

Checkpoints are made periodically by the service and on demand (`congdanso audit checkpoint`); entries appended
after the latest checkpoint are protected by the chain only (a tail could be cut or re-forged by someone able to
write the database and compute SHA-256), so the interval bounds that window.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlmodel import Session

from audit.appends import link_pending
from audit.models import AuditCheckpoint
from audit.repository import AuditRepository
from crypto.clock import Clock
from crypto.keyring import Keyring, SigningKey

CHECKPOINT_TYP = "congdanso-audit-checkpoint"
CHECKPOINT_VERSION = 1
_ALGORITHMS = ["EdDSA"]


class CheckpointError(Exception):
    """A checkpoint that does not verify; `reason` says why (bad signature, unknown key, mismatch…)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _timestamp(at: datetime) -> str:
    return at.astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def _claims(seq: int, entry_hash: str, at: datetime) -> dict[str, Any]:
    return {"v": CHECKPOINT_VERSION, "seq": seq, "entry_hash": entry_hash, "at": _timestamp(at)}


def sign_checkpoint(key: SigningKey, *, seq: int, entry_hash: str, at: datetime) -> str:
    """The compact JWS of a checkpoint, signed with `key`."""
    payload = json.dumps(_claims(seq, entry_hash, at), sort_keys=True, separators=(",", ":")).encode()
    return jwt.api_jws.encode(
        payload, key.private_key, algorithm="EdDSA", headers={"kid": key.kid, "typ": CHECKPOINT_TYP}
    )


class CheckpointVerifier:
    """Checks stored checkpoints with a fixed set of public keys by kid: every signing key of the keyring file,
    retired ones included (a checkpoint stays verifiable long after its key stopped signing)."""

    def __init__(self, keys: Mapping[str, Ed25519PublicKey]) -> None:
        self._keys = dict(keys)

    @classmethod
    def of_keyring(cls, ring: Keyring) -> CheckpointVerifier:
        return cls({key.kid: key.public_key for key in ring.signing_keys})

    @classmethod
    def of_jwks(cls, jwks: Mapping[str, Any]) -> CheckpointVerifier:
        """From a JWK set (`/.well-known/jwks.json` as saved by an auditor): its Ed25519 keys; others are ignored."""
        keys: dict[str, Ed25519PublicKey] = {}
        for jwk in jwks.get("keys", []):
            if jwk.get("kty") == "OKP" and jwk.get("crv") == "Ed25519" and isinstance(jwk.get("kid"), str):
                raw = base64.urlsafe_b64decode(jwk["x"] + "=" * (-len(jwk["x"]) % 4))
                keys[jwk["kid"]] = Ed25519PublicKey.from_public_bytes(raw)
        return cls(keys)

    def verify(self, checkpoint: Any) -> None:
        """`checkpoint` has the columns of `AuditCheckpoint`; raise CheckpointError unless its signature is good
        and its signed payload says exactly what its columns say."""
        try:
            header = jwt.get_unverified_header(checkpoint.signature)
        except jwt.InvalidTokenError as exc:
            raise CheckpointError("malformed signature") from exc
        if header.get("alg") not in _ALGORITHMS or header.get("typ") != CHECKPOINT_TYP:
            raise CheckpointError("not a checkpoint signature")
        kid = header.get("kid")
        key = self._keys.get(kid) if isinstance(kid, str) else None
        if key is None or kid != checkpoint.kid:
            raise CheckpointError(f"signed by an unknown key {kid!r}")
        try:
            payload = jwt.api_jws.decode(checkpoint.signature, key, algorithms=_ALGORITHMS)
            claims = json.loads(payload)
        except (jwt.InvalidTokenError, ValueError) as exc:
            raise CheckpointError("bad signature") from exc
        if claims != _claims(checkpoint.seq, checkpoint.entry_hash, checkpoint.at):
            raise CheckpointError("the signed payload differs from the stored checkpoint")


@dataclass(frozen=True)
class CheckpointMade:
    checkpoint: AuditCheckpoint
    created: bool
    """False when the head was already checkpointed (the existing checkpoint is returned)."""


class CheckpointService:
    """Makes checkpoints of the chain's head; flushes, never commits."""

    def __init__(self, session: Session, clock: Clock, keyring: Callable[[], Keyring]) -> None:
        self._repo = AuditRepository(session)
        self._clock = clock
        self._keyring = keyring

    def make(self) -> CheckpointMade | None:
        """Chain the committed entries still unchained, then sign the head, unless it is already signed; None while
        the log is empty. Holds the chain's lock, so workers making checkpoints at the same moment do not collide."""
        self._repo.lock_chain()
        link_pending(self._repo)
        head = self._repo.head()
        if head.seq == 0:
            return None
        existing = self._repo.checkpoint(head.seq)
        if existing is not None:
            return CheckpointMade(existing, created=False)
        now = self._clock.now()
        key = self._keyring().current_signing_key(now)
        token = sign_checkpoint(key, seq=head.seq, entry_hash=head.entry_hash, at=now)
        checkpoint = AuditCheckpoint(seq=head.seq, entry_hash=head.entry_hash, at=now, kid=key.kid, signature=token)
        self._repo.add(checkpoint)
        return CheckpointMade(checkpoint, created=True)


def public_checkpoint(checkpoint: AuditCheckpoint) -> dict[str, Any]:
    return {
        "seq": checkpoint.seq,
        "entry_hash": checkpoint.entry_hash,
        "at": _timestamp(checkpoint.at),
        "kid": checkpoint.kid,
        "signature": checkpoint.signature,
    }
