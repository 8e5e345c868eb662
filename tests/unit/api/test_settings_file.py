"""`<data dir>/settings.env`: what a stack writes for every command run with its data folder."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from api.settings import Settings

STACK_URL = "postgresql+psycopg://wallet:pw@127.0.0.1:6432/wallet?prepare_threshold=none"


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("WALLET_"):
            monkeypatch.delenv(name)


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    (tmp_path / "settings.env").write_text(
        f"WALLET_DATABASE_URL={STACK_URL}\nWALLET_PORT=9000\nWALLET_TRUSTED_PROXIES='[\"127.0.0.1\"]'\n"
    )
    return tmp_path


class TestSettingsFile:
    def test_the_data_folder_named_by_the_environment_gives_its_settings(
        self, data_dir: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("WALLET_DATA_DIR", str(data_dir))
        settings = Settings()
        assert settings.resolved_database_url == STACK_URL
        assert settings.port == 9000 and settings.trusted_proxies == ["127.0.0.1"]

    def test_the_data_folder_given_as_an_argument_too(self, data_dir: Path) -> None:
        assert Settings(data_dir=data_dir).resolved_database_url == STACK_URL

    def test_the_environment_and_arguments_win_over_the_file(
        self, data_dir: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("WALLET_DATA_DIR", str(data_dir))
        monkeypatch.setenv("WALLET_PORT", "9100")
        assert Settings().port == 9100
        assert Settings(port=9200).port == 9200

    def test_without_a_file_nothing_changes(self, tmp_path: Path) -> None:
        settings = Settings(data_dir=tmp_path)
        assert settings.database_url is None and settings.port == 8000
