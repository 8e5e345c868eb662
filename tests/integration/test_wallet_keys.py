"""Erasure with crypto-shredding, and master-key rotation without rewriting any blob."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine

from crypto.citizen_keys import CitizenKeys
from crypto.errors import DecryptionError
from crypto.keyring import load_keyring
from crypto.keys import LocalKeyProvider
from storage.keystore import SqlCitizenKeyStore
from tests.factories import last_code
from tests.integration.conftest import Wallet
from tests.integration.wallet_helpers import cccd_fields, png_bytes, upload

CONGDANSO = str(Path(sys.executable).with_name("congdanso"))


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _step_up_code(wallet: Wallet, token: str) -> tuple[str, str]:
    challenge = wallet.post("/auth/otp/send", token=token)
    assert challenge.status_code == 202, challenge.text
    return challenge.json()["challenge_id"], last_code(wallet.outbox)


def _cli(wallet: Wallet, *args: str) -> dict[str, Any]:
    env = {
        "WALLET_DATA_DIR": str(wallet.settings.data_dir),
        "WALLET_DATABASE_URL": wallet.settings.resolved_database_url,
        "WALLET_LOG_LEVEL": "warning",
        "PATH": "/usr/bin:/bin",
    }
    done = subprocess.run([CONGDANSO, *args], env=env, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


class TestErasure:
    def test_erasure_needs_a_fresh_code(self, wallet: Wallet) -> None:
        _, tokens = wallet.register()
        answer = wallet.client.request(
            "DELETE", "/api/v1/me", json={"code": "000000"}, headers=_auth(tokens["access_token"])
        )
        assert answer.status_code == 401
        assert answer.json()["code"] == "otp_invalid"
        assert wallet.get("/me", tokens["access_token"]).status_code == 200

    def test_erasure_makes_a_prior_copy_of_database_and_blobs_useless(self, wallet: Wallet, tmp_path: Path) -> None:
        data, tokens = wallet.register()
        token = tokens["access_token"]
        document = upload(wallet, token, "cccd", cccd_fields(data), [("cccd.png", png_bytes("SHRED-ME"))]).json()
        citizen_id = tokens["citizen_id"]
        backup = tmp_path / "backup"
        shutil.copytree(wallet.settings.data_dir / "blobs", backup / "blobs")
        wrapped_before = SqlCitizenKeyStore(create_engine(wallet.settings.resolved_keystore_url)).get(citizen_id)
        assert wrapped_before is not None
        # The main database never held the citizen key: its backup alone opens nothing.
        if wallet.settings.resolved_database_url.startswith("sqlite"):
            main_db = Path(wallet.settings.resolved_database_url.removeprefix("sqlite:///"))
            for path in main_db.parent.glob(main_db.name + "*"):
                assert wrapped_before not in path.read_bytes()

        challenge_id, code = _step_up_code(wallet, token)
        erased = wallet.client.request(
            "DELETE", "/api/v1/me", json={"code": code, "challenge_id": challenge_id}, headers=_auth(token)
        )
        assert erased.status_code == 204, erased.text
        assert wallet.get("/me", token).status_code == 401
        login = wallet.post("/auth/login", {"national_id": data["national_id"], "pin": data["pin"]})
        assert login.status_code == 401

        # The key store no longer holds the key, so the backed-up blob cannot be opened any more.
        keys = CitizenKeys(
            LocalKeyProvider(load_keyring(wallet.settings.resolved_keyring_file)),
            SqlCitizenKeyStore(create_engine(wallet.settings.resolved_keystore_url)),
        )
        with pytest.raises(DecryptionError):
            keys.open(citizen_id)
        blob = backup / "blobs" / "c" / citizen_id / document["files"][0]["id"]
        assert blob.exists()
        assert b"SHRED-ME" not in blob.read_bytes()
        assert not (wallet.settings.data_dir / "blobs" / "c" / citizen_id / document["files"][0]["id"]).exists()

    def test_the_same_person_can_register_again_after_erasure(self, wallet: Wallet) -> None:
        data, tokens = wallet.register()
        challenge_id, code = _step_up_code(wallet, tokens["access_token"])
        wallet.client.request(
            "DELETE",
            "/api/v1/me",
            json={"code": code, "challenge_id": challenge_id},
            headers=_auth(tokens["access_token"]),
        )
        again = wallet.post(
            "/auth/register", {k: data[k] for k in ("national_id", "full_name", "date_of_birth", "phone", "pin")}
        )
        assert again.status_code == 202


class TestKeyRotation:
    def test_rotation_rewraps_keys_and_keeps_every_paper_readable(self, wallet: Wallet) -> None:
        data, tokens = wallet.register()
        token = tokens["access_token"]
        before = upload(wallet, token, "cccd", cccd_fields(data), [("a.png", png_bytes("before"))]).json()
        blob = wallet.settings.data_dir / "blobs" / "c" / tokens["citizen_id"] / before["files"][0]["id"]
        blob_bytes = blob.read_bytes()
        old_kid = load_keyring(wallet.settings.resolved_keyring_file).current_master_kid

        report = _cli(wallet, "keys", "rotate")
        assert report["current_master_kid"] != old_kid
        assert report["citizen_keys_rewrapped"] >= 1
        wallet.app.state.container.keyring.reload_if_changed()

        assert blob.read_bytes() == blob_bytes  # no blob rewritten
        got = wallet.get(f"/documents/{before['id']}/files/{before['files'][0]['id']}", token)
        assert got.content == png_bytes("before")
        after = upload(wallet, token, "diploma", _diploma(), [("b.png", png_bytes("after"))])
        assert after.status_code == 201

        removed = _cli(wallet, "keys", "rotate", "--remove-retired")["removed"]
        assert removed == [old_kid]
        wallet.app.state.container.keyring.reload_if_changed()
        assert wallet.get(f"/documents/{before['id']}", token).status_code == 200
        assert wallet.get(f"/documents/{after.json()['id']}", token).status_code == 200

    def test_a_key_wrapped_under_a_removed_master_is_unreadable(self, wallet: Wallet) -> None:
        _, tokens = wallet.register()
        ring = load_keyring(wallet.settings.resolved_keyring_file)
        fresh = ring.with_new_master_key(now=wallet.clock.now())
        stripped = fresh.without_master_key(ring.current_master_kid)
        keys = CitizenKeys(
            LocalKeyProvider(stripped), SqlCitizenKeyStore(create_engine(wallet.settings.resolved_keystore_url))
        )
        with pytest.raises(DecryptionError):
            keys.open(tokens["citizen_id"])


def _diploma() -> dict[str, Any]:
    from tests.integration.wallet_helpers import diploma_fields

    return diploma_fields()


class TestFreshFactorFromALoginCode:
    def test_an_unused_login_code_also_proves_a_fresh_factor(self, wallet: Wallet) -> None:
        data, tokens = wallet.register()
        wallet.login(data["national_id"], data["pin"])
        code = last_code(wallet.outbox)
        erased = wallet.client.request(
            "DELETE", "/api/v1/me", json={"code": code}, headers=_auth(tokens["access_token"])
        )
        assert erased.status_code == 204, erased.text

    def test_a_code_of_another_citizen_does_not(self, wallet: Wallet) -> None:
        _, tokens = wallet.register()
        other, _ = wallet.register()
        wallet.login(other["national_id"], other["pin"])
        code = last_code(wallet.outbox)
        answer = wallet.client.request(
            "DELETE", "/api/v1/me", json={"code": code}, headers=_auth(tokens["access_token"])
        )
        assert answer.status_code == 401
        assert wallet.get("/me", tokens["access_token"]).status_code == 200
