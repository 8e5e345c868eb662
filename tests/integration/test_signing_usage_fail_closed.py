"""Retiring a signing key fails closed: when a table saying what the key still signs is missing, the keyring is left
as it was and the command says why, rather than reading "no usage" and retiring a key that valid papers need."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from api.deps import container_of
from tests.integration.conftest import Wallet
from tests.integration.test_signing_keys import _congdanso


def _rename(wallet: Wallet, table: str) -> None:
    with container_of(wallet.app.state).engine.begin() as connection:
        connection.execute(text(f"ALTER TABLE {table} RENAME TO {table}_moved"))


class TestRetirementNeedsItsUsageTables:
    @pytest.mark.parametrize("table", ["attestation", "consent"])
    @pytest.mark.parametrize("command", [("keys", "rotate", "--signing"), ("keys", "signing", "--reschedule")])
    def test_a_missing_usage_table_refuses_with_a_clear_error(
        self, wallet: Wallet, table: str, command: tuple[str, ...]
    ) -> None:
        if "--reschedule" in command:  # only a replaced key has a retirement to reschedule
            assert _congdanso(wallet, "keys", "rotate", "--signing").returncode == 0
        keyring = wallet.settings.resolved_keyring_file
        before = keyring.read_bytes()
        _rename(wallet, table)

        done = _congdanso(wallet, *command)

        assert done.returncode == 2, done.stdout
        assert f"cannot read the `{table}` table" in done.stderr
        assert "no signing key was retired" in done.stderr
        assert keyring.read_bytes() == before

    def test_with_its_tables_the_rotation_goes_ahead(self, wallet: Wallet) -> None:
        before = wallet.settings.resolved_keyring_file.read_bytes()
        done = _congdanso(wallet, "keys", "rotate", "--signing")
        assert done.returncode == 0, done.stderr
        assert wallet.settings.resolved_keyring_file.read_bytes() != before
