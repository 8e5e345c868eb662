"""PIN hashing with Argon2id, with a dummy hash so unknown accounts cost the same as wrong PINs."""

from __future__ import annotations

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError


class PinHasher:
    """Argon2id hashing; `verify_or_dummy` spends the same time whether or not the account exists."""

    def __init__(self, *, time_cost: int = 3, memory_cost: int = 65536, parallelism: int = 4) -> None:
        self._hasher = PasswordHasher(
            time_cost=time_cost, memory_cost=memory_cost, parallelism=parallelism, type=Type.ID
        )
        self._dummy = self._hasher.hash("000000-dummy-pin-never-matches")

    def hash(self, pin: str) -> str:
        return self._hasher.hash(pin)

    def verify(self, stored: str | None, pin: str) -> bool:
        """True only for a matching PIN; a missing hash is checked against the dummy (always False)."""
        target = stored if stored is not None else self._dummy
        try:
            matched = self._hasher.verify(target, pin)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False
        return matched and stored is not None

    def needs_rehash(self, stored: str) -> bool:
        return self._hasher.check_needs_rehash(stored)
