"""Where citizen keys live: a key store apart from the main database and the blob bucket.

A backup of the database and the bucket therefore holds only ciphertext and wrapped data keys;
destroying a citizen's key in the store (erasure) makes that backup useless for them
(crypto-shredding). In production the store is a KMS/HSM or a database of its own.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Protocol

from crypto.envelope import CitizenKey, rewrap_citizen_key
from crypto.errors import DecryptionError
from crypto.keys import KeyProvider


class CitizenKeyStore(Protocol):
    """Wrapped citizen keys by citizen id."""

    def put(self, citizen_id: str, wrapped: bytes) -> None: ...
    def get(self, citizen_id: str) -> bytes | None: ...
    def delete(self, citizen_id: str) -> None: ...
    def ids(self, *, updated_before: datetime | None = None) -> Iterator[str]: ...


class CitizenKeys:
    """Creates, opens, rotates and destroys citizen keys."""

    def __init__(self, provider: KeyProvider, store: CitizenKeyStore) -> None:
        self._provider = provider
        self._store = store

    def create(self, citizen_id: str) -> CitizenKey:
        key, wrapped = CitizenKey.create(self._provider, citizen_id)
        self._store.put(citizen_id, wrapped)
        return key

    def open(self, citizen_id: str) -> CitizenKey:
        """The citizen's key; DecryptionError when it was destroyed or cannot be unwrapped."""
        wrapped = self._store.get(citizen_id)
        if wrapped is None:
            raise DecryptionError()
        return CitizenKey.unwrap(self._provider, citizen_id, wrapped)

    def exists(self, citizen_id: str) -> bool:
        return self._store.get(citizen_id) is not None

    def ids(self, *, updated_before: datetime | None = None) -> list[str]:
        return list(self._store.ids(updated_before=updated_before))

    def destroy(self, citizen_id: str) -> None:
        self._store.delete(citizen_id)

    def rotate(self) -> int:
        """Rewrap every citizen key under the current master key; no document is rewritten."""
        count = 0
        for citizen_id in list(self._store.ids()):
            wrapped = self._store.get(citizen_id)
            if wrapped is None or self._provider.kid_of(wrapped) == self._provider.current_kid:
                continue
            self._store.put(citizen_id, rewrap_citizen_key(self._provider, citizen_id, wrapped))
            count += 1
        return count

    def kids_in_use(self) -> set[str]:
        kids = set()
        for citizen_id in self._store.ids():
            wrapped = self._store.get(citizen_id)
            if wrapped is not None:
                kids.add(self._provider.kid_of(wrapped))
        return kids
