"""The last QR code `GET /me/qr` gave each citizen, kept in this process for a short while so that a phone
refreshing its QR gets the same token and drawing again instead of a fresh signature and a fresh drawing (together
most of that request's time).

Reusing a token weakens nothing: a QR token is not single-use, and what a scan checks (signature, expiry, the citizen
still active under that QR id) holds the same for a token handed out twice. For the same reason it is correct across
workers: a token from another worker's cache is a token that worker signed with the service's key, checked by every
worker alike; nothing about it is remembered anywhere but here. What must not be reused is checked on every request
by `QrCache.get`: the citizen's current QR id (a closed impostor account gets a new one), the key that would sign now
(a signing-key rotation), and the token's remaining life."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from cachetools import TTLCache

from identity.schemas import QrCode

# A token is handed out again for at most 30 s after it was signed, so it always has at least 4.5 of its 5 minutes
# left: a phone that renews its QR a few seconds before expiry (the web page renews after 4 minutes) still shows a
# valid one, and a counter scan a minute later still accepts it. Under a refresh storm a 30 s window already saves
# nearly every signature and drawing; a longer one would only shorten what the phone gets.
REUSE_WINDOW = timedelta(seconds=30)
# An entry is about 10 KB (its SVG): at most about 10 MB per worker. Beyond it the least recently used goes first.
QR_CACHE_SIZE = 1024


@dataclass(frozen=True)
class CachedQr:
    qr_id: str  # the token's `sub`
    kid: str  # the key that signed it
    code: QrCode


class QrCache:
    """The last QR code issued to each citizen in this process, bounded in count and in (monotonic) age."""

    def __init__(
        self, *, size: int = QR_CACHE_SIZE, reuse: timedelta = REUSE_WINDOW, timer: Callable[[], float] = time.monotonic
    ) -> None:
        self._reuse = reuse
        # The monotonic bound only frees memory early; whether an entry may be reused is decided on the service's
        # clock in `get` (the one the token's `exp` comes from).
        self._entries: TTLCache[str, CachedQr] = TTLCache(maxsize=size, ttl=reuse.total_seconds(), timer=timer)
        self._lock = threading.Lock()

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)

    def get(self, citizen_id: str, *, qr_id: str, kid: str, now: datetime, ttl: timedelta) -> QrCode | None:
        """The citizen's last code if it names their current QR id, was signed by the key that would sign now, and
        still has more than `ttl` less the reuse window to live (and no more than `ttl`, should the clock go back)."""
        with self._lock:
            entry = self._entries.get(citizen_id)
        if entry is None or entry.qr_id != qr_id or entry.kid != kid:
            return None
        left = entry.code.expires_at - now
        return entry.code if ttl - self._reuse < left <= ttl else None

    def put(self, citizen_id: str, entry: CachedQr) -> None:
        with self._lock:
            self._entries[citizen_id] = entry

    def forget(self, citizen_id: str) -> None:
        """Drop the citizen's code (they were erased or are no longer active)."""
        with self._lock:
            self._entries.pop(citizen_id, None)
