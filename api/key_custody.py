"""Where the keys live, from the settings: the keyring file alone (`local`), or a PKCS#11 token beside it (`pkcs11`).

Light on purpose: `congdanso audit verify` and the key commands use it without loading the service, and the PKCS#11
library is imported only when the token is asked for.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from api.settings import Settings
from crypto.keyring import Keyring, KeyringFile, load_keyring
from crypto.keys import KeyProvider, LocalKeyProvider

if TYPE_CHECKING:
    from crypto.pkcs11_token import Pkcs11Config, Pkcs11Token


class ConfigurationError(Exception):
    """The settings cannot make a safe service (e.g. development keys in production)."""


def pkcs11_config(settings: Settings) -> Pkcs11Config:
    from crypto.pkcs11_token import Pkcs11Config

    if settings.pkcs11_module is None or not settings.pkcs11_token_label:
        raise ConfigurationError("WALLET_KEY_PROVIDER=pkcs11 needs WALLET_PKCS11_MODULE and WALLET_PKCS11_TOKEN_LABEL")
    return Pkcs11Config(settings.pkcs11_module, settings.pkcs11_token_label, _user_pin(settings))


def _user_pin(settings: Settings) -> str:
    pin, pin_file = settings.pkcs11_pin, settings.pkcs11_pin_file
    if (pin is None) == (pin_file is None):
        raise ConfigurationError("WALLET_KEY_PROVIDER=pkcs11 needs one of WALLET_PKCS11_PIN_FILE and WALLET_PKCS11_PIN")
    if pin_file is None:
        return pin.get_secret_value() if pin else ""
    try:
        lines = pin_file.read_text().splitlines()
    except OSError as exc:
        raise ConfigurationError(f"cannot read WALLET_PKCS11_PIN_FILE: {exc.strerror}") from None
    if not lines or not lines[0].strip():
        raise ConfigurationError("WALLET_PKCS11_PIN_FILE is empty")
    return lines[0].strip()


def key_module(settings: Settings) -> Pkcs11Token | None:
    """The token holding the keys, or None when the keyring file holds them. Nothing is opened yet."""
    if settings.key_provider == "local":
        return None
    from crypto.pkcs11_token import Pkcs11Token

    return Pkcs11Token(pkcs11_config(settings))


def provider_factory(module: Pkcs11Token | None) -> Callable[[Keyring], KeyProvider]:
    """How a `KeyProvider` is made from each keyring the file yields."""
    if module is None:
        return LocalKeyProvider
    from crypto.pkcs11_keys import provider_for

    return lambda ring: provider_for(ring, module)


def read_keyring(settings: Settings, module: Pkcs11Token | None = None) -> Keyring:
    """The keyring file as it is now, its module-held keys bound to the token."""
    return load_keyring(settings.resolved_keyring_file, module=module or key_module(settings))


def watched_keyring(settings: Settings) -> KeyringFile:
    """The keyring file, re-read when it changes, its module-held keys bound to the token."""
    return KeyringFile(settings.resolved_keyring_file, module=key_module(settings))
