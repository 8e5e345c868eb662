"""Purpose-bound subkeys derived from one root key (HKDF-SHA256), so no key serves two uses."""

from __future__ import annotations

import hashlib
import hmac

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF


def derive_key(root: bytes, purpose: str, *, length: int = 32) -> bytes:
    """Derive a subkey for `purpose` (e.g. "blind-index:national_id", "otp", "outbox")."""
    hkdf = HKDF(algorithm=hashes.SHA256(), length=length, salt=None, info=f"congdanso:{purpose}".encode())
    return hkdf.derive(root)


class BlindIndex:
    """Keyed lookups of identifiers (HMAC-SHA256): equal inputs match, the value never lies in clear."""

    def __init__(self, root: bytes, field: str) -> None:
        self._key = derive_key(root, f"blind-index:{field}")

    def __repr__(self) -> str:
        return "BlindIndex(<hidden>)"

    def __call__(self, value: str) -> str:
        return hmac.new(self._key, value.encode(), hashlib.sha256).hexdigest()
