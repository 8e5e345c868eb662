"""Where citizen keys live: a key store apart from the main database and the blob bucket.

A backup of the database and the bucket therefore holds only ciphertext and wrapped data keys;
destroying a citizen's key in the store (erasure) makes that backup useless for them
(crypto-shredding). In production the store is a KMS/HSM or a database of its own.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime
from typing import Protocol

from cachetools import TTLCache

from crypto.envelope import CitizenKey, rewrap_citizen_key
from crypto.errors import DecryptionError
from crypto.keys import KeyProvider

_REPLACEMENT = "#next"


def replacement_slot(citizen_id: str) -> str:
    return citizen_id + _REPLACEMENT


def is_replacement_slot(slot: str) -> bool:
    return slot.endswith(_REPLACEMENT)


def citizen_of_slot(slot: str) -> str:
    return slot.removesuffix(_REPLACEMENT)


class CitizenKeyStore(Protocol):
    """Wrapped citizen keys by citizen id."""

    def put(self, citizen_id: str, wrapped: bytes) -> None: ...
    def get(self, citizen_id: str) -> bytes | None: ...
    def get_many(self, citizen_ids: Sequence[str]) -> dict[str, bytes]: ...
    def delete(self, citizen_id: str) -> None: ...
    def ids(self, *, updated_before: datetime | None = None) -> Iterator[str]: ...
    def items(self, *, updated_before: datetime | None = None) -> Iterator[tuple[str, bytes]]:
        """Every (slot, wrapped key) in slot order, streamed (a store may hold millions)."""
        ...


# Unwrapped keys kept in this process for reading (`open`): two reads of the key store (another database) and an
# unwrap saved per request (~0.65 ms here). Whatever changes a citizen's key through this object (erasure,
# replacement, rotation) or ends their session (`forget`) drops it here at once; another process (worker) drops it
# when its entry expires, so after an erasure that worker can still open the erased citizen's remaining ciphertext
# for at most `KEY_CACHE_TTL` seconds (their records are deleted in the erasure's transaction, so in practice only
# blobs awaiting deletion), and after a replacement a read there may fail once and retry with `open_fresh`. Sealing
# always uses `open_fresh`, so nothing is ever sealed under a key another process has just replaced.
KEY_CACHE_TTL = 30.0
KEY_CACHE_SIZE = 10_000


class CitizenKeys:
    """Creates, opens, rotates and destroys citizen keys."""

    def __init__(
        self,
        provider: KeyProvider,
        store: CitizenKeyStore,
        *,
        cache_ttl: float = KEY_CACHE_TTL,
        cache_size: int = KEY_CACHE_SIZE,
        timer: Callable[[], float] = time.monotonic,
    ) -> None:
        self._provider = provider
        self._store = store
        self._cache: TTLCache[str, CitizenKey] = TTLCache(maxsize=cache_size, ttl=cache_ttl, timer=timer)
        self._cache_lock = threading.Lock()

    def create(self, citizen_id: str) -> CitizenKey:
        key, wrapped = CitizenKey.create(self._provider, citizen_id)
        self._store.put(citizen_id, wrapped)
        self.forget(citizen_id)
        return key

    def forget(self, citizen_id: str) -> None:
        """Drop the citizen's key from this process's cache (their key changed, or their session ended)."""
        with self._cache_lock:
            self._cache.pop(citizen_id, None)

    def forget_all(self) -> None:
        with self._cache_lock:
            self._cache.clear()

    def open(self, citizen_id: str) -> CitizenKey:
        """The citizen's key, to read with (from this process's cache when fresh enough); DecryptionError when it
        was destroyed or cannot be unwrapped. While a replacement is in progress, what it opens may be sealed under
        either key, so both are tried."""
        with self._cache_lock:
            cached = self._cache.get(citizen_id)
        return cached if cached is not None else self.open_fresh(citizen_id)

    def open_fresh(self, citizen_id: str) -> CitizenKey:
        """The citizen's key as the store holds it now, to seal with (or to retry a read that failed)."""
        key = self._open_stored(citizen_id)
        with self._cache_lock:
            self._cache[citizen_id] = key
        return key

    def _open_stored(self, citizen_id: str) -> CitizenKey:
        slot = replacement_slot(citizen_id)
        found = self._store.get_many([citizen_id, slot])  # one read: both slots as of one moment
        wrapped, replacement = found.get(citizen_id), found.get(slot)
        if wrapped is None:
            if replacement is None:
                raise DecryptionError()
            wrapped, replacement = replacement, None
        fallbacks = [replacement] if replacement is not None else []
        return CitizenKey.unwrap(self._provider, citizen_id, wrapped, fallbacks=fallbacks)

    def open_many(self, citizen_ids: Sequence[str]) -> dict[str, CitizenKey]:
        """`open` for several citizens with one read of the store (a page listing many); a citizen whose key is
        gone is left out."""
        slots = {citizen_id: replacement_slot(citizen_id) for citizen_id in citizen_ids}
        found = self._store.get_many([*slots, *slots.values()])
        keys: dict[str, CitizenKey] = {}
        for citizen_id, slot in slots.items():
            wrapped, replacement = found.get(citizen_id), found.get(slot)
            if wrapped is None:
                wrapped, replacement = replacement, None
            if wrapped is None:
                continue
            fallbacks = [replacement] if replacement is not None else []
            try:
                keys[citizen_id] = CitizenKey.unwrap(self._provider, citizen_id, wrapped, fallbacks=fallbacks)
            except DecryptionError:
                continue
        return keys

    # -- replacing one citizen's key (crypto-shredding part of their data, keeping the rest) ---------------
    # 1. `begin_replacement` stores a new key in the slot "<id>#next" (committed at once).
    # 2. The caller re-seals, in one database transaction, what must survive under the new key and deletes
    #    the rest. Until it commits, data stays under the current key; `open` tries both either way.
    # 3. `finish_replacement` makes the new key current, destroying the old one: what the old key alone
    #    sealed (in any backup) is unreadable from then on. `abandon_replacement` undoes step 1 instead.
    # A crash between the steps leaves both keys; `settle_replacement` (the janitor) finishes or abandons
    # according to which key the caller's probe shows the data now needs.
    def begin_replacement(self, citizen_id: str) -> CitizenKey:
        """A fresh key for the citizen, stored beside the current one; only it seals from here on."""
        key, wrapped = CitizenKey.create(self._provider, citizen_id)
        self._store.put(replacement_slot(citizen_id), wrapped)
        self.forget(citizen_id)
        return key

    def finish_replacement(self, citizen_id: str) -> None:
        wrapped = self._store.get(replacement_slot(citizen_id))
        if wrapped is None:
            return  # already finished (or abandoned)
        self._store.put(citizen_id, wrapped)  # the same citizen context wraps both slots
        self._store.delete(replacement_slot(citizen_id))
        self.forget(citizen_id)

    def abandon_replacement(self, citizen_id: str) -> None:
        self._store.delete(replacement_slot(citizen_id))
        self.forget(citizen_id)

    def replacements(self, *, updated_before: datetime | None = None) -> list[str]:
        """Citizens with a replacement left in progress (older than `updated_before`)."""
        return [citizen_of_slot(i) for i in self._store.ids(updated_before=updated_before) if is_replacement_slot(i)]

    def settle_replacement(self, citizen_id: str, *, needs_new_key: Callable[[CitizenKey], bool]) -> bool:
        """Finish an interrupted replacement if `needs_new_key(new key)` says the data is now sealed under
        it, else abandon it; True when finished."""
        wrapped = self._store.get(replacement_slot(citizen_id))
        if wrapped is None:
            return False
        if needs_new_key(CitizenKey.unwrap(self._provider, citizen_id, wrapped)):
            self.finish_replacement(citizen_id)
            return True
        self.abandon_replacement(citizen_id)
        return False

    def exists(self, citizen_id: str) -> bool:
        return self._store.get(citizen_id) is not None

    def ids(self, *, updated_before: datetime | None = None) -> list[str]:
        """Citizens holding a key (a replacement slot counts for its citizen)."""
        return list(self.walk_ids(updated_before=updated_before))

    def walk_ids(self, *, updated_before: datetime | None = None) -> Iterator[str]:
        """`ids`, streamed in order from the store: a citizen's replacement slot (`<id>#next`) sorts right after
        their own, so each citizen comes once."""
        last = None
        for slot in self._store.ids(updated_before=updated_before):
            citizen_id = citizen_of_slot(slot)
            if citizen_id != last:
                yield citizen_id
                last = citizen_id

    def destroy(self, citizen_id: str) -> None:
        self.forget(citizen_id)
        self._store.delete(citizen_id)
        self._store.delete(replacement_slot(citizen_id))
        self.forget(citizen_id)  # and again, should a request have cached it between

    def rotate(self) -> int:
        """Rewrap every citizen key under the current master key; no document is rewritten."""
        count = 0
        self.forget_all()
        for slot, wrapped in self._store.items():
            if self._provider.kid_of(wrapped) == self._provider.current_kid:
                continue
            self._store.put(slot, rewrap_citizen_key(self._provider, citizen_of_slot(slot), wrapped))
            count += 1
        return count

    def kids_in_use(self) -> set[str]:
        return {self._provider.kid_of(wrapped) for _slot, wrapped in self._store.items()}
