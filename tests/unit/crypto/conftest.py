"""Key custody for the contract suites: the same tests run against keys in the keyring file and keys in a PKCS#11
token (a fresh SoftHSM2 token per test)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest

from crypto.keyring import Keyring
from crypto.keys import KeyProvider, LocalKeyProvider

NOW = datetime(2025, 3, 1, tzinfo=UTC)


@dataclass
class Custody:
    """Where a test's keys live: `module` None for the keyring file, else the token."""

    name: str
    module: Any = None

    def new_ring(self) -> Keyring:
        return Keyring.generate(now=NOW, development=True, module=self.module)

    def provider(self, ring: Keyring) -> KeyProvider:
        if self.module is None:
            return LocalKeyProvider(ring)
        from crypto.pkcs11_keys import provider_for

        return provider_for(ring, self.module)


@pytest.fixture(params=["local", "pkcs11"])
def custody(request: pytest.FixtureRequest) -> Custody:
    if request.param == "local":
        return Custody("local")
    from crypto.pkcs11_token import Pkcs11Token

    hsm = request.getfixturevalue("softhsm")
    return Custody("pkcs11", Pkcs11Token(hsm.new_token()))


@pytest.fixture
def token(softhsm: Any) -> Any:
    """A fresh, empty token of its own."""
    from crypto.pkcs11_token import Pkcs11Token

    return Pkcs11Token(softhsm.new_token())
