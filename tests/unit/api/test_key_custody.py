"""WALLET_KEY_PROVIDER and the PKCS#11 settings: what is refused, where the PIN comes from, and that `local` stays
the default and opens no token."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from api.key_custody import ConfigurationError, key_module, pkcs11_config, provider_factory
from api.settings import Settings
from crypto.keyring import Keyring
from crypto.keys import LocalKeyProvider


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("WALLET_"):
            monkeypatch.delenv(name)


def pkcs11_settings(tmp_path: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "data_dir": tmp_path,
        "key_provider": "pkcs11",
        "pkcs11_module": tmp_path / "lib.so",
        "pkcs11_token_label": "congdanso",
        **overrides,
    }
    return Settings(**values)


class TestLocalIsTheDefault:
    def test_no_token_and_the_file_provider(self, tmp_path: Path) -> None:
        settings = Settings(data_dir=tmp_path)
        assert settings.key_provider == "local"
        assert key_module(settings) is None
        ring = Keyring.generate(now=datetime.now(UTC), development=True)
        assert isinstance(provider_factory(None)(ring), LocalKeyProvider)


class TestPkcs11Settings:
    def test_the_pin_is_read_from_the_first_line_of_its_file(self, tmp_path: Path) -> None:
        pin_file = tmp_path / "pin"
        pin_file.write_text("4921\nignored\n")
        assert pkcs11_config(pkcs11_settings(tmp_path, pkcs11_pin_file=pin_file)).pin == "4921"

    def test_the_pin_from_the_environment(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("WALLET_PKCS11_PIN", "4921")
        config = pkcs11_config(pkcs11_settings(tmp_path))
        assert config.pin == "4921"
        assert "4921" not in repr(config)

    @pytest.mark.parametrize(
        "overrides",
        [
            {"pkcs11_pin": "4921", "pkcs11_module": None},
            {"pkcs11_pin": "4921", "pkcs11_token_label": None},
            {},
            {"pkcs11_pin": "4921", "pkcs11_pin_file": Path("/nonexistent")},
            {"pkcs11_pin_file": Path("/nonexistent/pin")},
        ],
        ids=["no-module", "no-label", "no-pin", "two-pins", "unreadable-pin-file"],
    )
    def test_incomplete_settings_are_refused(self, tmp_path: Path, overrides: dict[str, Any]) -> None:
        with pytest.raises(ConfigurationError, match="PKCS11"):
            key_module(pkcs11_settings(tmp_path, **overrides))

    def test_an_empty_pin_file_is_refused(self, tmp_path: Path) -> None:
        pin_file = tmp_path / "pin"
        pin_file.write_text("\n")
        with pytest.raises(ConfigurationError, match="empty"):
            key_module(pkcs11_settings(tmp_path, pkcs11_pin_file=pin_file))
