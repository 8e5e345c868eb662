"""The service with its keys in a PKCS#11 token (a real SoftHSM2 token per test): a citizen registers and reads
their profile (their key wrapped and unwrapped inside the token), access tokens verify with the JWKS read from the
token, and `congdanso keys` makes, rotates, lists and retires keys in the token as it does in the keyring file."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from pkcs11 import Attribute, ObjectClass

from crypto.compact_jws import JwksVerifier
from crypto.pkcs11_token import Pkcs11Config, Pkcs11Token
from identity.toolkit import IdentityConfig
from tests.integration.conftest import Wallet
from tests.softhsm import USER_PIN, token_settings

CONGDANSO = str(Path(sys.executable).with_name("congdanso"))
pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


@pytest.fixture
def hsm_settings(softhsm: Any, tmp_path: Path) -> dict[str, Any]:
    return token_settings(softhsm.new_token(), tmp_path)


@pytest.fixture
def hsm_wallet(make_wallet: Callable[..., Wallet], hsm_settings: dict[str, Any]) -> Wallet:
    wallet = make_wallet(**hsm_settings)
    wallet.clock.set(datetime.now(UTC).replace(microsecond=0))  # the CLI, another process, works at the wall clock
    return wallet


def _token(wallet: Wallet) -> Pkcs11Token:
    settings = wallet.settings
    assert settings.pkcs11_module is not None and settings.pkcs11_token_label is not None
    return Pkcs11Token(Pkcs11Config(settings.pkcs11_module, settings.pkcs11_token_label, USER_PIN))


def _congdanso(wallet: Wallet, softhsm: Any, *args: str) -> subprocess.CompletedProcess[str]:
    settings = wallet.settings
    env = {
        "WALLET_DATA_DIR": str(settings.data_dir),
        "WALLET_DATABASE_URL": settings.resolved_database_url,
        "WALLET_LOG_LEVEL": "warning",
        "WALLET_KEY_PROVIDER": "pkcs11",
        "WALLET_PKCS11_MODULE": str(settings.pkcs11_module),
        "WALLET_PKCS11_TOKEN_LABEL": str(settings.pkcs11_token_label),
        "WALLET_PKCS11_PIN_FILE": str(settings.pkcs11_pin_file),
        "PATH": "/usr/bin:/bin",
        **softhsm.env(),
    }
    return subprocess.run([CONGDANSO, *args], env=env, capture_output=True, text=True, timeout=120, check=False)


def _cli(wallet: Wallet, softhsm: Any, *args: str) -> dict[str, Any]:
    done = _congdanso(wallet, softhsm, *args)
    assert done.returncode == 0, done.stderr
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def _keyring_json(wallet: Wallet) -> dict[str, Any]:
    return dict(json.loads(wallet.settings.resolved_keyring_file.read_text()))


class TestServiceOnTheToken:
    def test_a_citizen_registers_and_reads_their_sealed_profile(self, hsm_wallet: Wallet) -> None:
        data, tokens = hsm_wallet.register()
        me = hsm_wallet.get("/me", tokens["access_token"])
        assert me.status_code == 200, me.text
        assert me.json()["national_id"] == data["national_id"]

    def test_the_keyring_file_names_the_keys_but_holds_none(self, hsm_wallet: Wallet) -> None:
        ring = _keyring_json(hsm_wallet)
        assert [set(m) for m in ring["master_keys"]] == [{"kid", "module", "created_at"}]
        assert all(s["module"] is True and "private_key" not in s for s in ring["signing_keys"])

    def test_the_jwks_is_read_from_the_token_and_verifies_access_tokens(self, hsm_wallet: Wallet) -> None:
        _, tokens = hsm_wallet.register()
        jwks = hsm_wallet.client.get("/.well-known/jwks.json").json()
        (published,) = jwks["keys"]
        from_token = _token(hsm_wallet).public_key(published["kid"]).public_bytes_raw()
        assert JwksVerifier.from_jwks({"keys": [published]}).kids == {published["kid"]}
        assert published["x"].encode() == _b64(from_token)
        claims = JwksVerifier.from_jwks(jwks).verify(
            tokens["access_token"],
            typ="access",
            audience=IdentityConfig().audience,
            issuer=hsm_wallet.settings.resolved_public_url,
            now=hsm_wallet.clock.now(),
        )
        assert claims["sub"] == tokens["citizen_id"]


class TestKeyCommandsOnTheToken:
    def test_a_master_key_rotation_rewraps_in_the_token_and_retires_the_old_key(
        self, hsm_wallet: Wallet, softhsm: Any
    ) -> None:
        data, tokens = hsm_wallet.register()
        old_kid = _keyring_json(hsm_wallet)["current_master_kid"]

        rotated = _cli(hsm_wallet, softhsm, "keys", "rotate")
        assert rotated["current_master_kid"] != old_kid
        assert rotated["citizen_keys_rewrapped"] >= 1
        removed = _cli(hsm_wallet, softhsm, "keys", "rotate", "--remove-retired")
        assert removed["removed"] == [old_kid]

        hsm_wallet.app.state.container.keyring.reload_if_changed()
        me = hsm_wallet.get("/me", tokens["access_token"])
        assert me.status_code == 200, me.text
        assert me.json()["national_id"] == data["national_id"]
        masters = _keyring_json(hsm_wallet)["master_keys"]
        assert [m["kid"] for m in masters] == [rotated["current_master_kid"]]
        with pytest.raises(Exception, match="no single key"):
            _token(hsm_wallet).attribute(ObjectClass.SECRET_KEY, old_kid, Attribute.LABEL)

    def test_a_signing_key_rotation_generates_the_key_in_the_token(self, hsm_wallet: Wallet, softhsm: Any) -> None:
        report = _cli(hsm_wallet, softhsm, "keys", "rotate", "--signing", "--grace-seconds", "600")
        hsm_wallet.app.state.container.keyring.reload_if_changed()
        kids = {k["kid"] for k in hsm_wallet.client.get("/.well-known/jwks.json").json()["keys"]}
        assert kids == {report["previous_kid"], report["new_kid"]}
        assert _token(hsm_wallet).public_key(report["new_kid"]).public_bytes_raw()
        listed = _cli(hsm_wallet, softhsm, "keys", "signing")["keys"]
        assert [(k["kid"], k["status"]) for k in listed] == [
            (report["previous_kid"], "current"),
            (report["new_kid"], "pending"),
        ]


class TestKeyCeremony:
    def test_keys_init_makes_a_production_keyring_on_the_token(
        self, make_wallet: Callable[..., Wallet], hsm_settings: dict[str, Any], softhsm: Any, tmp_path: Path
    ) -> None:
        wallet = make_wallet(**hsm_settings, data_dir=tmp_path / "ceremony")
        wallet.settings.resolved_keyring_file.unlink()  # the dev run made one; the ceremony starts without
        made = _cli(wallet, softhsm, "keys", "init")
        ring = _keyring_json(wallet)
        assert ring["development"] is False
        assert made["master_kid"] == ring["current_master_kid"]
        assert [m["module"] for m in ring["master_keys"]] == [True]
        again = _congdanso(wallet, softhsm, "keys", "init")
        assert again.returncode == 2
        assert "already exists" in again.stderr


def _b64(raw: bytes) -> bytes:
    return base64.urlsafe_b64encode(raw).rstrip(b"=")
