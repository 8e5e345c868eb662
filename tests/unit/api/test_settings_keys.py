"""Settings from WALLET_* variables, development keys on first run, and what production refuses."""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import anyio
import pytest
from pydantic import ValidationError

from api.container import ConfigurationError, Container, build_container
from api.settings import Settings
from crypto.clock import FrozenClock
from crypto.keyring import Keyring, load_keyring, save_keyring
from tests.unit.api.fresh import run_fresh

NOW = datetime(2026, 11, 24, 8, 0, tzinfo=UTC)
PROD_DELIVERY = {"sms_gateway_url": "https://sms.example.invalid/send", "smtp_host": "smtp.example.invalid"}


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """No WALLET_* variable of the developer's shell may leak into these tests."""
    for name in list(os.environ):
        if name.startswith("WALLET_"):
            monkeypatch.delenv(name)


def settings(data_dir: Path, **overrides: Any) -> Settings:
    return Settings(data_dir=data_dir, argon2_time_cost=1, argon2_memory_kib=1024, **overrides)


@pytest.fixture
def build() -> Iterator[Any]:
    built: list[Container] = []

    def make(config: Settings) -> Container:
        container = build_container(config, clock=FrozenClock(NOW))
        built.append(container)
        return container

    yield make
    for container in built:
        anyio.run(container.aclose)


def production_keyring(path: Path) -> Keyring:
    ring = Keyring.generate(now=NOW, development=False)
    save_keyring(ring, path)
    return ring


def mode_of(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


class TestDevelopmentKeys:
    def test_first_build_generates_a_private_development_keyring(self, tmp_path: Path, build: Any) -> None:
        config = settings(tmp_path / "data")
        keyring_file = tmp_path / "data" / "keys" / "keyring.json"
        assert not keyring_file.exists()
        build(config)
        assert config.resolved_keyring_file == keyring_file
        assert mode_of(keyring_file) == 0o600
        assert mode_of(keyring_file.parent) & 0o077 == 0
        assert load_keyring(keyring_file).development is True

    def test_second_build_reuses_the_same_keys(self, tmp_path: Path, build: Any) -> None:
        config = settings(tmp_path / "data")
        first = build(config)
        content = config.resolved_keyring_file.read_bytes()
        second = build(config)
        assert config.resolved_keyring_file.read_bytes() == content
        assert second.keyring().current_master_kid == first.keyring().current_master_kid
        assert second.keyring().index_key == first.keyring().index_key

    def test_first_build_warns_about_development_keys_on_stderr(self, tmp_path: Path) -> None:
        # In a fresh interpreter: structlog caches each module logger on first use, so in this
        # process the logger of api.container may still point at an earlier test's stream.
        script = (
            "from api.settings import Settings\n"
            "from api.logging import configure_logging\n"
            "from api.container import build_container\n"
            "s = Settings()\n"
            "configure_logging(s.log_level, json=s.log_json)\n"
            "build_container(s)\n"
        )
        done = run_fresh(script, tmp_path / "data", log_level="warning")
        assert done.returncode == 0, done.stderr
        lines = [json.loads(line) for line in done.stderr.splitlines() if line.startswith("{")]
        warnings = [line for line in lines if line.get("level") == "warning"]
        assert any("development" in json.dumps(line).lower() for line in warnings), done.stderr
        assert (tmp_path / "data" / "keys" / "keyring.json").exists()


class TestProductionRefuses:
    def test_the_development_keyring(self, tmp_path: Path, build: Any) -> None:
        build(settings(tmp_path / "data"))  # a dev run leaves development keys behind
        with pytest.raises(ConfigurationError, match="development keys"):
            build(settings(tmp_path / "data", env="prod", **PROD_DELIVERY))

    def test_a_missing_keyring_and_does_not_create_one(self, tmp_path: Path, build: Any) -> None:
        config = settings(tmp_path / "data", env="prod", **PROD_DELIVERY)
        with pytest.raises(ConfigurationError, match="keyring"):
            build(config)
        assert not config.resolved_keyring_file.exists()

    @pytest.mark.parametrize(
        "delivery",
        [{}, {"sms_gateway_url": PROD_DELIVERY["sms_gateway_url"]}, {"smtp_host": PROD_DELIVERY["smtp_host"]}],
        ids=["neither", "sms-only", "smtp-only"],
    )
    def test_the_outbox_file_sender(self, tmp_path: Path, build: Any, delivery: dict[str, str]) -> None:
        config = settings(tmp_path / "data", env="prod", **delivery)
        production_keyring(config.resolved_keyring_file)
        with pytest.raises(ConfigurationError, match="outbox"):
            build(config)

    def test_but_starts_with_production_keys_and_real_senders(self, tmp_path: Path, build: Any) -> None:
        # The control: prod is not refused whatever its settings.
        config = settings(tmp_path / "data", env="prod", **PROD_DELIVERY)
        ring = production_keyring(config.resolved_keyring_file)
        container = build(config)
        assert container.keyring().current_master_kid == ring.current_master_kid
        assert not config.outbox_file.exists()


class TestEnvironment:
    def test_wallet_variables_are_read(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("WALLET_PORT", "9123")
        monkeypatch.setenv("WALLET_DATA_DIR", str(tmp_path / "elsewhere"))
        monkeypatch.setenv("WALLET_STORAGE_URL", "s3://papers?endpoint=127.0.0.1:8333&secure=false")
        monkeypatch.setenv("WALLET_MAX_FILE_MB", "7")
        monkeypatch.setenv("WALLET_ENV", "prod")
        config = Settings()
        assert config.port == 9123
        assert config.data_dir == tmp_path / "elsewhere"
        assert config.resolved_storage_url == "s3://papers?endpoint=127.0.0.1:8333&secure=false"
        assert config.max_file_mb == 7
        assert config.env == "prod"

    def test_variables_without_the_prefix_are_ignored(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("PORT", "9999")
        assert Settings().port == 8000

    @pytest.mark.parametrize(
        ("name", "value"), [("WALLET_PORT", "0"), ("WALLET_PORT", "http"), ("WALLET_MAX_FILE_MB", "0")]
    )
    def test_invalid_values_are_refused(self, monkeypatch: pytest.MonkeyPatch, name: str, value: str) -> None:
        monkeypatch.setenv(name, value)
        with pytest.raises(ValidationError):
            Settings()

    def test_defaults(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.chdir(tmp_path)
        config = Settings()
        data = (tmp_path / "data").resolve()
        assert config.env == "dev"
        assert config.port == 8000
        assert config.max_file_mb == 20
        assert config.max_json_kb == 256
        assert config.data_dir.resolve() == data
        assert config.resolved_storage_url == f"file://{data}/blobs"
        assert config.resolved_database_url == f"sqlite:///{data}/wallet.db"
        assert config.outbox_file.resolve() == data / "outbox.jsonl"
        assert config.resolved_keyring_file.resolve() == data / "keys" / "keyring.json"

    def test_storage_default_follows_the_data_dir(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("WALLET_DATA_DIR", str(tmp_path / "d"))
        config = Settings()
        assert config.resolved_storage_url == f"file://{(tmp_path / 'd').resolve()}/blobs"
        assert config.resolved_database_url == f"sqlite:///{(tmp_path / 'd').resolve()}/wallet.db"


class TestKeyDerivedDependencies:
    def test_are_made_once_per_keyring_and_again_after_a_rotation(self, tmp_path: Path, build: Any) -> None:
        config = settings(tmp_path / "data")
        container = build(config)
        assurance, issuing = container.assurance, container.issuing
        assert container.assurance is assurance and container.issuing is issuing  # not made per request

        path = config.resolved_keyring_file
        rotated = load_keyring(path).with_new_master_key(now=NOW)
        save_keyring(rotated, path)
        os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 1_000_000_000))
        container.keyring.reload_if_changed()

        assert container.assurance is not assurance
        assert container.issuing is not issuing
        assert container.assurance is container.assurance  # and kept again for the new keyring
