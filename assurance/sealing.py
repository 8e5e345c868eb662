"""Personal data that waits in assurance's tables (a recovery's new phone, an e-ID login's PKCE verifier) is
sealed under a platform key derived from the keyring: a leaked table reveals neither."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from crypto.aead import Context, open_sealed, seal


def token_hash(value: str) -> str:
    # States, bindings and tickets are 256 random bits: SHA-256 keeps a leaked table from replaying them.
    return hashlib.sha256(value.encode()).hexdigest()


class PlatformSealer:
    def __init__(self, key: bytes) -> None:
        self._key = key

    def __repr__(self) -> str:
        return "PlatformSealer(<hidden>)"

    def seal(self, payload: dict[str, Any], *, purpose: str, ref: str) -> bytes:
        return seal(self._key, json.dumps(payload, ensure_ascii=False).encode(), context=Context(purpose, document=ref))

    def open(self, sealed: bytes, *, purpose: str, ref: str) -> dict[str, Any]:
        data: dict[str, Any] = json.loads(open_sealed(self._key, sealed, context=Context(purpose, document=ref)))
        return data
