"""Recovery of a lost phone or PIN at a counter, and the closing of an impostor's level-1 account when the ID's
holder proofs with another phone (API.md: "Identity assurance"). On SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from sqlmodel import select

from api.deps import container_of
from audit.checkpoints import CheckpointVerifier
from audit.verification import verify_log
from crypto.errors import DecryptionError
from identity.models import TotpCredential
from storage.db import transaction
from tests.factories import e164, last_code, make_phone, outbox_lines, registration
from tests.integration.assurance_helpers import Officer, me, new_counter_officer
from tests.integration.conftest import Wallet
from tests.integration.test_assurance_counter import _issuer, _problem, push
from tests.integration.wallet_helpers import cccd_fields, png_bytes, relogin, upload
from wallet.models import Document, DocumentVersion

PIN = "864213"


@pytest.fixture
def officer(wallet: Wallet) -> Officer:
    return new_counter_officer(wallet)


def complete(wallet: Wallet, challenge_id: str, phone: str, pin: str = PIN) -> Any:
    code = last_code(wallet.outbox, to=e164(phone))
    return wallet.post("/auth/recover/complete", {"challenge_id": challenge_id, "code": code, "pin": pin})


def sms_to(wallet: Wallet, phone: str) -> list[str]:
    return [m["body"] for m in outbox_lines(wallet.outbox) if m["channel"] == "sms" and m["to"] == e164(phone)]


def login_tokens(wallet: Wallet, national_id: str, pin: str, phone: str) -> dict[str, Any]:
    challenge = wallet.login(national_id, pin)
    code = last_code(wallet.outbox, to=e164(phone))
    tokens = wallet.post("/auth/otp/verify", {"challenge_id": challenge["challenge_id"], "code": code})
    assert tokens.status_code == 200, tokens.text
    return dict(tokens.json())


class TestRecoveryOfALevelTwoAccount:
    def test_a_lost_phone_is_replaced_and_every_way_in_revoked(self, wallet: Wallet, officer: Officer) -> None:
        data, tokens = wallet.register(proofed=True)
        new_phone = make_phone()
        started = officer.start_recovery(data["national_id"], new_phone)
        assert started.status_code == 202, started.text
        assert started.json()["account"] == "existing"
        assert wallet.get("/me", tokens["access_token"]).status_code == 200  # nothing changes before the code
        done = complete(wallet, started.json()["challenge_id"], new_phone)
        assert done.status_code == 200, done.text
        assert wallet.get("/me", tokens["access_token"]).status_code == 401
        assert wallet.post("/auth/refresh", {"refresh_token": tokens["refresh_token"]}).status_code == 401
        profile = me(wallet, done.json()["access_token"])
        assert profile["phone"] == e164(new_phone) and profile["assurance"] == 2
        assert profile["proofing"]["method"] == "counter"
        fresh = login_tokens(wallet, data["national_id"], PIN, new_phone)
        assert fresh["citizen_id"] == profile["id"]
        assert "khôi phục" in sms_to(wallet, new_phone)[-2]
        assert "số điện thoại khác" in sms_to(wallet, data["phone"])[-1]

    def test_the_old_pin_no_longer_works(self, wallet: Wallet, officer: Officer) -> None:
        data, _ = wallet.register(proofed=True)
        started = officer.start_recovery(data["national_id"], data["phone"]).json()
        assert complete(wallet, started["challenge_id"], data["phone"]).status_code == 200
        old = wallet.post("/auth/login", {"national_id": data["national_id"], "pin": data["pin"]})
        _problem(old, 401, "invalid_credentials")

    def test_the_authenticator_is_removed(self, wallet: Wallet, officer: Officer) -> None:
        data, _ = wallet.register(proofed=True)
        container = container_of(wallet.app.state)
        with transaction(container.engine) as session:
            credential = TotpCredential(
                subject_type="citizen",
                subject_id=me_id(wallet, data),
                secret_sealed=b"x",
                created_at=wallet.clock.now(),
            )
            session.add(credential)
        assert wallet.login(data["national_id"], data["pin"])["channel"] == "totp"
        started = officer.start_recovery(data["national_id"], data["phone"]).json()
        complete(wallet, started["challenge_id"], data["phone"])
        assert wallet.login(data["national_id"], PIN)["channel"] == "sms"

    def test_the_access_log_names_the_officer_at_start_and_completion(self, wallet: Wallet, officer: Officer) -> None:
        data, _ = wallet.register(proofed=True)
        started = officer.start_recovery(data["national_id"], data["phone"]).json()
        token = complete(wallet, started["challenge_id"], data["phone"]).json()["access_token"]
        log = wallet.get("/me/access-log", token).json()["items"]
        actions = {e["action"]: e for e in log}
        for action in ("identity_recovery_started", "identity_recovery"):
            assert actions[action]["actor"]["code"] == officer.agency_code
            assert officer.name in actions[action]["purpose"]


def me_id(wallet: Wallet, data: dict[str, Any]) -> str:
    return str(me(wallet, relogin(wallet, data)["access_token"])["id"])


class TestRecoveryCodes:
    def test_wrong_codes_then_the_challenge_dies(self, wallet: Wallet, officer: Officer) -> None:
        data, _ = wallet.register(proofed=True)
        started = officer.start_recovery(data["national_id"], make_phone()).json()
        body = {"challenge_id": started["challenge_id"], "code": "000000", "pin": PIN}
        for _ in range(4):
            _problem(wallet.post("/auth/recover/complete", body), 401, "otp_invalid")
        _problem(wallet.post("/auth/recover/complete", body), 401, "otp_attempts_exceeded")

    def test_the_code_expires_after_5_minutes(self, wallet: Wallet, officer: Officer) -> None:
        data, _ = wallet.register(proofed=True)
        phone = make_phone()
        started = officer.start_recovery(data["national_id"], phone).json()
        wallet.clock.advance(timedelta(minutes=5))
        _problem(complete(wallet, started["challenge_id"], phone), 401, "otp_expired")

    def test_the_code_works_until_just_before_5_minutes(self, wallet: Wallet, officer: Officer) -> None:
        data, _ = wallet.register(proofed=True)
        phone = make_phone()
        started = officer.start_recovery(data["national_id"], phone).json()
        wallet.clock.advance(timedelta(minutes=5) - timedelta(microseconds=1))
        assert complete(wallet, started["challenge_id"], phone).status_code == 200

    def test_a_code_is_used_once(self, wallet: Wallet, officer: Officer) -> None:
        data, _ = wallet.register(proofed=True)
        phone = make_phone()
        started = officer.start_recovery(data["national_id"], phone).json()
        assert complete(wallet, started["challenge_id"], phone).status_code == 200
        _problem(complete(wallet, started["challenge_id"], phone), 401, "otp_invalid")

    def test_a_bad_pin_is_refused_before_the_code_is_spent(self, wallet: Wallet, officer: Officer) -> None:
        data, _ = wallet.register(proofed=True)
        phone = make_phone()
        started = officer.start_recovery(data["national_id"], phone).json()
        _problem(complete(wallet, started["challenge_id"], phone, pin="12ab"), 422, "validation_failed")
        assert complete(wallet, started["challenge_id"], phone).status_code == 200


class TestRecoveryRequests:
    def test_bad_input_lists_every_field(self, wallet: Wallet, officer: Officer) -> None:
        body = _problem(officer.start_recovery("123", "12345"), 422, "validation_failed")
        assert {e["field"] for e in body["errors"]} == {"national_id", "new_phone"}

    def test_only_officers_start_recoveries(self, wallet: Wallet, officer: Officer) -> None:
        data, tokens = wallet.register()
        body = {"national_id": data["national_id"], "new_phone": make_phone()}
        _problem(wallet.post("/identity/recoveries", body, tokens["access_token"]), 403, "forbidden")
        assert wallet.post("/identity/recoveries", body).status_code == 401

    def test_an_unregistered_id_opens_an_account_at_level_2(self, wallet: Wallet, officer: Officer) -> None:
        person = registration(dob=date(1988, 7, 9))
        body = {"national_id": person["national_id"], "new_phone": person["phone"]}
        missing = _problem(officer.wallet.post("/identity/recoveries", body, officer.token), 422, "validation_failed")
        assert {e["field"] for e in missing["errors"]} == {"full_name", "date_of_birth"}
        started = officer.start_recovery(
            person["national_id"], person["phone"], full_name="Phạm Thị Hoa", date_of_birth="1988-07-09"
        )
        assert started.status_code == 202 and started.json()["account"] == "new"
        token = complete(wallet, started.json()["challenge_id"], person["phone"]).json()["access_token"]
        profile = me(wallet, token)
        assert (profile["full_name"], profile["date_of_birth"], profile["assurance"]) == (
            "Phạm Thị Hoa",
            "1988-07-09",
            2,
        )
        assert login_tokens(wallet, person["national_id"], PIN, person["phone"])["citizen_id"] == profile["id"]


class TestLevelOneAccounts:
    def test_same_phone_keeps_the_papers_and_reaches_level_2(self, wallet: Wallet, officer: Officer) -> None:
        data, tokens = wallet.register()
        upload(wallet, tokens["access_token"], "cccd", cccd_fields(data), [("cccd.png", png_bytes("mine"))])
        started = officer.start_recovery(data["national_id"], data["phone"]).json()
        token = complete(wallet, started["challenge_id"], data["phone"]).json()["access_token"]
        assert len(wallet.get("/documents", token).json()["items"]) == 1
        assert me(wallet, token)["assurance"] == 2


class TestImpostor:
    """Someone registered the ID number with their own phone; its holder recovers it at a counter."""

    def test_the_impostor_account_is_closed_and_the_holder_gets_only_the_held_papers(
        self, wallet: Wallet, officer: Officer
    ) -> None:
        impostor, stolen = wallet.register(full_name="Kẻ Mạo Danh")
        token = stolen["access_token"]
        mine = upload(wallet, token, "cccd", cccd_fields(impostor), [("gia.png", png_bytes("fake"))]).json()
        held = push(wallet, _issuer(wallet), impostor["national_id"])
        assert wallet.get(f"/documents/{held['id']}", token).status_code == 404  # never readable by the impostor
        versions = _wrapped_keys(wallet, mine["id"])

        holder_phone = make_phone()
        started = officer.start_recovery(
            impostor["national_id"], holder_phone, full_name="Nguyễn Văn An", date_of_birth=impostor["date_of_birth"]
        ).json()
        done = complete(wallet, started["challenge_id"], holder_phone)
        assert done.status_code == 200, done.text
        owner = done.json()["access_token"]

        assert wallet.get("/me", token).status_code == 401  # the impostor's sessions are gone
        _problem(
            wallet.post("/auth/login", {"national_id": impostor["national_id"], "pin": impostor["pin"]}),
            401,
            "invalid_credentials",
        )
        listed = [d["id"] for d in wallet.get("/documents", owner).json()["items"]]
        assert listed == [held["id"]]
        assert wallet.get(f"/documents/{mine['id']}", owner).status_code == 404
        profile = me(wallet, owner)
        assert (profile["full_name"], profile["phone"], profile["assurance"]) == (
            "Nguyễn Văn An",
            e164(holder_phone),
            2,
        )
        assert profile["held_papers"] == 0 and profile["email"] is None
        assert "bị đóng" in sms_to(wallet, impostor["phone"])[-1]
        assert "khôi phục" in sms_to(wallet, holder_phone)[-1]
        assert wallet.get("/me/notifications", owner).json()["items"][0]["subject"].startswith("Tài khoản")
        # Crypto-shredded: the impostor's wrapped data key, even from a backup, opens with no key the service has.
        key = container_of(wallet.app.state).citizen_keys.open(profile["id"])
        for version, wrapped in versions:
            with pytest.raises(DecryptionError):
                key.unwrap_data_key(wrapped, document=mine["id"], version=version)

    def test_the_closure_is_in_the_access_log_and_the_audit_chain(self, wallet: Wallet, officer: Officer) -> None:
        impostor, _ = wallet.register()
        phone = make_phone()
        started = officer.start_recovery(impostor["national_id"], phone, full_name="Nguyễn Văn An").json()
        owner = complete(wallet, started["challenge_id"], phone).json()["access_token"]
        log = wallet.get("/me/access-log", owner).json()["items"]
        recovery = next(e for e in log if e["action"] == "identity_recovery")
        assert officer.name in recovery["purpose"] and "đã bị đóng" in recovery["purpose"]
        container = container_of(wallet.app.state)
        report = verify_log(container.engine, CheckpointVerifier.of_keyring(container.keyring()))
        assert report.ok and report.entries >= 2  # the start and the completion, both chained

    def test_no_key_replacement_is_left_behind(self, wallet: Wallet, officer: Officer) -> None:
        impostor, _ = wallet.register()
        phone = make_phone()
        started = officer.start_recovery(impostor["national_id"], phone).json()
        complete(wallet, started["challenge_id"], phone)
        assert container_of(wallet.app.state).citizen_keys.replacements() == []

    def test_a_wrong_code_leaves_the_impostor_account_untouched(self, wallet: Wallet, officer: Officer) -> None:
        impostor, stolen = wallet.register()
        phone = make_phone()
        started = officer.start_recovery(impostor["national_id"], phone).json()
        body = {"challenge_id": started["challenge_id"], "code": "000000", "pin": PIN}
        _problem(wallet.post("/auth/recover/complete", body), 401, "otp_invalid")
        assert wallet.get("/me", stolen["access_token"]).status_code == 200
        assert container_of(wallet.app.state).citizen_keys.replacements() == []


def _wrapped_keys(wallet: Wallet, document_id: str) -> list[tuple[int, bytes]]:
    with transaction(container_of(wallet.app.state).engine) as session:
        rows = session.exec(select(DocumentVersion).where(DocumentVersion.document_id == document_id)).all()
        assert session.get(Document, document_id) is not None
        return [(row.version, bytes(row.wrapped_data_key)) for row in rows]
