"""Backup and restore with the master key in a PKCS#11 token (a real SoftHSM2 token): the restore opens the key store
through the same token, and refuses (exit 2) with another token, whose master key is not the backup's."""

from __future__ import annotations

import json
import os
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from litestar.testing import TestClient

from api.app import create_app
from api.cli import migrate
from crypto.clock import FrozenClock
from tests.integration.conftest import Wallet, settings_for
from tests.integration.test_backup import CONGDANSO, assert_every_paper_reads_back, fill
from tests.softhsm import token_settings


def open_wallet(folder: Path, hsm: dict[str, Any]) -> Wallet:
    settings = settings_for(folder, None, **hsm)
    migrate(settings)
    # Whole seconds, rounded up: a clock a fraction before `keys init` made the signing key would find none active.
    clock = FrozenClock((datetime.now(UTC) + timedelta(seconds=1)).replace(microsecond=0))
    app = create_app(settings, clock=clock)
    client = TestClient(app)
    client.__enter__()
    return Wallet(app, client, clock, settings)


def environment(softhsm: Any, folder: Path, hsm: dict[str, Any]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WALLET_")} | softhsm.env()
    env |= {"WALLET_DATA_DIR": str(folder / "data"), "WALLET_LOG_LEVEL": "error"}
    return env | {f"WALLET_{name.upper()}": str(value) for name, value in hsm.items()}


def congdanso(softhsm: Any, folder: Path, hsm: dict[str, Any], *args: str) -> subprocess.CompletedProcess[str]:
    env = environment(softhsm, folder, hsm)
    return subprocess.run([str(CONGDANSO), *args], env=env, capture_output=True, text=True, timeout=120, check=False)


class TestBackupWithTheKeysInAToken:
    def test_restores_through_the_same_token_and_refuses_another(self, softhsm: Any, tmp_path: Path) -> None:
        token = softhsm.new_token()
        source_hsm = token_settings(token, tmp_path / "source")
        assert congdanso(softhsm, tmp_path / "source", source_hsm, "keys", "init").returncode == 0
        wallet = open_wallet(tmp_path / "source", source_hsm)
        papers = fill(wallet)
        wallet.client.__exit__(None, None, None)
        backup = tmp_path / "backup"
        taken = congdanso(softhsm, tmp_path / "source", source_hsm, "backup", str(backup))
        assert taken.returncode == 0, taken.stderr
        keyring = (tmp_path / "source" / "data" / "keys" / "keyring.json").read_bytes()

        # The keyring file names the token's keys (kids and times, no key): with another token, nothing opens.
        other_hsm = token_settings(softhsm.new_token(), tmp_path / "other")
        (tmp_path / "other" / "data" / "keys").mkdir(parents=True, mode=0o700)
        (tmp_path / "other" / "data" / "keys" / "keyring.json").write_bytes(keyring)
        refused = congdanso(softhsm, tmp_path / "other", other_hsm, "restore", str(backup))
        assert refused.returncode == 2, refused.stdout + refused.stderr
        assert "do not open with the master keys at hand" in refused.stderr

        target_hsm = token_settings(token, tmp_path / "target")
        (tmp_path / "target" / "data" / "keys").mkdir(parents=True, mode=0o700)
        (tmp_path / "target" / "data" / "keys" / "keyring.json").write_bytes(keyring)  # kids and times; no key
        restored = congdanso(softhsm, tmp_path / "target", target_hsm, "restore", str(backup))
        assert restored.returncode == 0, restored.stderr
        assert json.loads(restored.stdout)["citizen_keys"] == 2
        wallet = open_wallet(tmp_path / "target", target_hsm)
        try:
            assert_every_paper_reads_back(wallet, papers)
        finally:
            wallet.client.__exit__(None, None, None)
