"""POST /auth/register and the first OTP (API.md: registration)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import text

from api.deps import container_of
from crypto.passwords import PinHasher
from identity.accounts import AccountService
from storage.db import transaction
from tests.factories import e164, last_code, make_cccd, make_phone, outbox_lines, registration
from tests.integration.auth_helpers import deliver, messages_to, retry_after, verify, wrong
from tests.integration.conftest import Wallet
from tests.integration.consent_helpers import make_agency

CANNOT_REGISTER = "không thể đăng ký"
OWNER_WARNING = "có người dùng số định danh của bạn để đăng ký"
WHEN = "15:00 ngày 24/11/2026"  # START (08:00 UTC) in Vietnam's time


def _fields(answer: object) -> set[str]:
    return {e["field"] for e in answer.json()["errors"]}  # type: ignore[attr-defined]


class TestRegister:
    def test_answers_202_with_an_sms_challenge_and_sends_the_code(self, wallet: Wallet) -> None:
        data = registration()
        answer = wallet.post("/auth/register", data)
        assert answer.status_code == 202
        body = answer.json()
        assert body["channel"] == "sms" and body["challenge_id"]
        [sms] = outbox_lines(wallet.outbox)
        assert sms["channel"] == "sms" and sms["to"] == e164(data["phone"])
        assert set(sms) >= {"channel", "to", "subject", "body", "sent_at"}

    @pytest.mark.e2e
    def test_verified_registration_gives_tokens_and_a_profile(self, wallet: Wallet) -> None:
        data, tokens = wallet.register(email="an@example.vn")
        assert tokens["token_type"] == "Bearer" and tokens["expires_in"] == 900 and tokens["citizen_id"]
        me = wallet.get("/me", tokens["access_token"])
        assert me.status_code == 200
        profile = me.json()
        assert profile["national_id"] == data["national_id"]
        assert profile["full_name"] == "Nguyễn Văn An"
        assert profile["phone"] == e164(data["phone"])
        assert profile["date_of_birth"] == data["date_of_birth"]
        assert profile["email"] == "an@example.vn"

    @pytest.mark.e2e
    def test_phone_in_international_form_is_normalised(self, wallet: Wallet) -> None:
        _, tokens = wallet.register(phone="+84 912 345 678")
        assert wallet.get("/me", tokens["access_token"]).json()["phone"] == "+84912345678"

    def test_an_abandoned_registration_can_be_restarted_once_its_code_expired(self, wallet: Wallet) -> None:
        data = registration()
        assert wallet.post("/auth/register", data).status_code == 202
        wallet.clock.advance(timedelta(minutes=5))
        second = wallet.post("/auth/register", data)
        assert second.status_code == 202
        code = last_code(wallet.outbox)
        verified = wallet.post("/auth/otp/verify", {"challenge_id": second.json()["challenge_id"], "code": code})
        assert verified.status_code == 200

    @pytest.mark.e2e
    def test_pending_citizen_cannot_log_in(self, wallet: Wallet) -> None:
        data = registration()
        wallet.post("/auth/register", data)
        answer = wallet.post("/auth/login", {"national_id": data["national_id"], "pin": data["pin"]})
        assert answer.status_code == 401


class TestRegisterValidation:
    @pytest.mark.parametrize(
        ("overrides", "field"),
        [
            ({"national_id": "04809500123"}, "national_id"),  # 11 digits
            ({"national_id": "003095001234"}, "national_id"),  # 003 is no province
            ({"national_id": "048295001234"}, "national_id"),  # century digit 2 = born 2000s
            ({"national_id": "048096001234"}, "national_id"),  # year digits 96 ≠ 1995
            ({"national_id": "048195001234", "sex": "nam"}, "national_id"),  # digit 1 = female
            ({"phone": "0123456789"}, "phone"),  # 01x is no mobile prefix
            ({"phone": "09051234"}, "phone"),
            ({"pin": "12345"}, "pin"),
            ({"pin": "12345a"}, "pin"),
        ],
    )
    def test_invalid_field_answers_422_naming_it(self, wallet: Wallet, overrides: dict[str, str], field: str) -> None:
        data = registration(dob=date(1995, 3, 2))
        data.update(overrides)
        answer = wallet.post("/auth/register", data)
        assert answer.status_code == 422, answer.text
        problem = answer.json()
        assert answer.headers["content-type"].startswith("application/problem+json")
        assert problem["code"] == "validation_failed" and problem["status"] == 422
        assert field in _fields(answer)
        assert outbox_lines(wallet.outbox) == []

    def test_female_born_2001_is_valid(self, wallet: Wallet) -> None:
        dob = date(2001, 7, 9)
        _, tokens = wallet.register(dob=dob, sex_for_id="nu", national_id=make_cccd(dob, sex="nu"), sex="nu")
        assert wallet.get("/me", tokens["access_token"]).json()["sex"] == "nu"

    @pytest.mark.e2e
    def test_missing_and_mistyped_fields_are_listed(self, wallet: Wallet) -> None:
        answer = wallet.post("/auth/register", {"national_id": 48095001234, "date_of_birth": "not-a-date"})
        assert answer.status_code == 422
        assert {"national_id", "date_of_birth", "full_name", "phone", "pin"} <= _fields(answer)

    def test_future_birth_date_is_refused(self, wallet: Wallet) -> None:
        future = wallet.clock.now().date() + timedelta(days=400)
        data = registration()
        data["date_of_birth"] = future.isoformat()
        answer = wallet.post("/auth/register", data)
        assert answer.status_code == 422
        assert "date_of_birth" in _fields(answer)


def _counts(wallet: Wallet) -> tuple[int, int]:
    """Citizens in the database, keys in the key store."""
    container = wallet.app.state.container
    with container.engine.connect() as connection:
        citizens = connection.execute(text("SELECT count(*) FROM citizen")).scalar_one()
    with container.keystore_engine.connect() as connection:
        keys = connection.execute(text("SELECT count(*) FROM citizen_key")).scalar_one()
    return citizens, keys


def _same_id(data: dict[str, Any], **overrides: Any) -> dict[str, Any]:
    """Another person's registration with the ID of `data` (a new phone unless told)."""
    return registration(national_id=data["national_id"], phone=make_phone(), pin="975310") | overrides


def _shape(answer: Any) -> tuple[int, set[str], dict[str, str], str]:
    body = answer.json()
    headers = {k: v for k, v in answer.headers.items() if k != "x-request-id"}
    return answer.status_code, set(body), headers, body["channel"]


@pytest.fixture
def quiet_wallet(make_wallet: Callable[..., Wallet]) -> Wallet:
    """A wallet whose periodic dispatcher sleeps: the outbox shows only what goes out before the answer."""
    return make_wallet(outbox_interval_seconds=3600)


class TestRegisterNeverRevealsAnAccount:
    def test_a_taken_id_answers_exactly_like_a_new_one(self, wallet: Wallet) -> None:
        owner, _ = wallet.register(email="chu@example.vn")
        taken = wallet.post("/auth/register", _same_id(owner))
        new = wallet.post("/auth/register", registration())
        assert _shape(taken) == _shape(new)
        assert taken.status_code == 202 and taken.json()["channel"] == "sms"
        assert taken.json()["expires_at"] == new.json()["expires_at"]
        assert len(taken.content) == len(new.content)

    def test_a_taken_id_creates_no_account_and_no_key(self, wallet: Wallet) -> None:
        owner, tokens = wallet.register()
        before = _counts(wallet)
        assert wallet.post("/auth/register", _same_id(owner)).status_code == 202
        assert _counts(wallet) == before == (1, 1)
        me = wallet.get("/me", tokens["access_token"]).json()
        assert me["phone"] == e164(owner["phone"])  # nothing replaced
        assert wallet.login(owner["national_id"], owner["pin"])["channel"] == "sms"

    def test_the_decoy_challenge_answers_codes_like_a_real_one(self, wallet: Wallet) -> None:
        owner, _ = wallet.register()
        decoy = wallet.post("/auth/register", _same_id(owner)).json()["challenge_id"]
        real = wallet.post("/auth/register", registration()).json()["challenge_id"]
        code = wrong(last_code(wallet.outbox))

        def answers(challenge_id: str) -> list[tuple[int, str, str | None]]:
            seen = []
            for _ in range(7):
                answer = verify(wallet, challenge_id, code)
                seen.append((answer.status_code, answer.json()["code"], answer.headers.get("retry-after")))
            return seen

        decoy_answers = answers(decoy)
        assert decoy_answers == answers(real)
        assert [c for _s, c, _r in decoy_answers] == ["otp_invalid"] * 4 + ["otp_attempts_exceeded"] + [
            "rate_limited"
        ] * 2

    def test_no_code_of_the_registrant_opens_the_decoy(self, wallet: Wallet) -> None:
        owner, _ = wallet.register()
        attempt = _same_id(owner)
        decoy = wallet.post("/auth/register", attempt).json()["challenge_id"]
        [sms] = messages_to(wallet, attempt["phone"])
        assert CANNOT_REGISTER in sms["body"]
        assert verify(wallet, decoy, owner["pin"]).json()["code"] == "otp_invalid"

    def test_both_paths_hash_the_pin_with_argon2id(self, wallet: Wallet, monkeypatch: pytest.MonkeyPatch) -> None:
        owner, _ = wallet.register()
        hashed: list[str] = []
        original = PinHasher.hash

        def counting(hasher: PinHasher, pin: str) -> str:
            hashed.append(pin)
            return original(hasher, pin)

        monkeypatch.setattr(PinHasher, "hash", counting)
        wallet.post("/auth/register", _same_id(owner, pin="111222"))
        wallet.post("/auth/register", registration(pin="333444"))
        assert hashed == ["111222", "333444"]

    def test_every_path_delivers_one_sms_to_the_typed_phone_before_answering(self, quiet_wallet: Wallet) -> None:
        wallet = quiet_wallet
        owner, _ = wallet.register(email="chu@example.vn")
        pending = registration()
        assert wallet.post("/auth/register", pending).status_code == 202
        attempts = [registration(), _same_id(owner), _same_id(pending), _same_id(owner, phone=owner["phone"])]
        for attempt in attempts:
            before = outbox_lines(wallet.outbox)
            assert wallet.post("/auth/register", attempt).status_code == 202
            new = outbox_lines(wallet.outbox)[len(before) :]
            assert [(line["channel"], line["to"]) for line in new] == [("sms", e164(attempt["phone"]))]


class TestTheOwnerIsWarned:
    def test_by_sms_and_email_while_the_typed_phone_gets_no_code(self, wallet: Wallet) -> None:
        owner, _ = wallet.register(email="chu@example.vn")
        attempt = _same_id(owner)
        wallet.post("/auth/register", attempt)
        deliver(wallet)
        [warning] = [m for m in messages_to(wallet, owner["phone"]) if OWNER_WARNING in m["body"]]
        [email] = messages_to(wallet, "chu@example.vn", channel="email")
        for message in (warning, email):
            assert WHEN in message["body"]
            assert "bạn đã có tài khoản" in message["body"] and "một cửa" in message["body"]
            assert "VNeID" in message["body"]
        [typed] = messages_to(wallet, attempt["phone"])
        assert CANNOT_REGISTER in typed["body"] and owner["national_id"][-4:] in typed["body"]
        assert owner["national_id"] not in typed["body"]
        with pytest.raises(AssertionError):
            last_code(wallet.outbox, to=e164(attempt["phone"]), wait=0)

    def test_an_owner_typing_their_own_phone_gets_only_the_warning(self, wallet: Wallet) -> None:
        owner, _ = wallet.register()
        before = len(messages_to(wallet, owner["phone"]))
        wallet.post("/auth/register", _same_id(owner, phone=owner["phone"]))
        deliver(wallet)
        new = messages_to(wallet, owner["phone"])[before:]
        assert len(new) == 1 and OWNER_WARNING in new[0]["body"]

    def test_at_most_three_warnings_in_24_hours(self, wallet: Wallet) -> None:
        owner, _ = wallet.register()

        def warnings() -> int:
            deliver(wallet)
            return sum(OWNER_WARNING in m["body"] for m in messages_to(wallet, owner["phone"]))

        for _ in range(4):
            assert wallet.post("/auth/register", _same_id(owner)).status_code == 202
        assert warnings() == 3
        wallet.clock.advance(timedelta(hours=24) - timedelta(microseconds=1))
        assert wallet.post("/auth/register", _same_id(owner)).status_code == 202
        assert warnings() == 3
        wallet.clock.advance(timedelta(microseconds=1))
        wallet.post("/auth/register", _same_id(owner))
        assert warnings() == 4

    def test_a_skipped_warning_leaves_the_typed_phone_its_sms(self, wallet: Wallet) -> None:
        owner, _ = wallet.register()
        for _ in range(3):
            wallet.post("/auth/register", _same_id(owner))
        deliver(wallet)
        attempt = _same_id(owner, phone=owner["phone"])
        before = len(messages_to(wallet, owner["phone"]))
        wallet.post("/auth/register", attempt)
        deliver(wallet)
        [sms] = messages_to(wallet, owner["phone"])[before:]
        assert CANNOT_REGISTER in sms["body"]


class TestPendingRegistrations:
    def test_a_live_registration_is_never_replaced(self, wallet: Wallet) -> None:
        first = registration()
        challenge = wallet.post("/auth/register", first).json()["challenge_id"]
        code = last_code(wallet.outbox, to=e164(first["phone"]))
        second = _same_id(first)
        assert wallet.post("/auth/register", second).status_code == 202
        [sms] = messages_to(wallet, second["phone"])
        assert CANNOT_REGISTER in sms["body"]
        assert _counts(wallet) == (1, 1)
        tokens = verify(wallet, challenge, code)
        assert tokens.status_code == 200, tokens.text
        assert wallet.get("/me", tokens.json()["access_token"]).json()["phone"] == e164(first["phone"])

    def test_nobody_is_warned_about_a_pending_registration(self, wallet: Wallet) -> None:
        first = registration(email="dang@example.vn")
        wallet.post("/auth/register", first)
        wallet.post("/auth/register", _same_id(first))
        deliver(wallet)
        assert not any(OWNER_WARNING in m["body"] for m in outbox_lines(wallet.outbox))

    def test_a_registration_whose_code_expired_is_replaced(self, wallet: Wallet) -> None:
        first = registration()
        stale = wallet.post("/auth/register", first).json()["challenge_id"]
        stale_code = last_code(wallet.outbox, to=e164(first["phone"]))
        wallet.clock.advance(timedelta(minutes=5))
        second = _same_id(first)
        challenge = wallet.post("/auth/register", second).json()["challenge_id"]
        assert _counts(wallet) == (1, 1)  # the abandoned one's key destroyed
        assert verify(wallet, stale, stale_code).json()["code"] == "otp_invalid"
        tokens = verify(wallet, challenge, last_code(wallet.outbox, to=e164(second["phone"])))
        assert wallet.get("/me", tokens.json()["access_token"]).json()["phone"] == e164(second["phone"])

    def test_a_registration_whose_code_died_is_replaced(self, wallet: Wallet) -> None:
        first = registration()
        stale = wallet.post("/auth/register", first).json()["challenge_id"]
        code = last_code(wallet.outbox, to=e164(first["phone"]))
        assert [verify(wallet, stale, wrong(code)).json()["code"] for _ in range(5)][-1] == "otp_attempts_exceeded"
        second = _same_id(first)
        challenge = wallet.post("/auth/register", second).json()["challenge_id"]
        assert verify(wallet, challenge, last_code(wallet.outbox, to=e164(second["phone"]))).status_code == 200

    def test_a_registration_one_microsecond_before_expiry_is_still_live(self, wallet: Wallet) -> None:
        first = registration()
        challenge = wallet.post("/auth/register", first).json()["challenge_id"]
        code = last_code(wallet.outbox, to=e164(first["phone"]))
        wallet.clock.advance(timedelta(minutes=5) - timedelta(microseconds=1))
        wallet.post("/auth/register", _same_id(first))
        assert verify(wallet, challenge, code).status_code == 200


class TestUnauthenticatedAnswersAlike:
    """Nothing a caller without an account can see differs between an ID (or phone) that has one and one that does
    not: registration (above), login by national ID, login by an officer's phone, code verification, refresh."""

    def test_a_wrong_pin_reads_nothing_of_a_known_account(
        self, wallet: Wallet, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        owner, _ = wallet.register()
        opened: list[str] = []
        keys = wallet.app.state.container.citizen_keys
        original = keys.open
        monkeypatch.setattr(keys, "open", lambda citizen_id: opened.append(citizen_id) or original(citizen_id))
        known = wallet.post("/auth/login", {"national_id": owner["national_id"], "pin": "000000"})
        unknown = wallet.post("/auth/login", {"national_id": registration()["national_id"], "pin": "000000"})
        assert (known.status_code, known.json()["code"]) == (unknown.status_code, unknown.json()["code"])
        assert opened == []  # the sealed profile (and the key store) is touched only once the PIN matched

    def test_officer_login_by_phone_answers_alike(self, wallet: Wallet) -> None:
        agency = make_agency(wallet)
        phone = make_phone()
        container = container_of(wallet.app.state)
        with transaction(container.engine) as session:
            AccountService(session, container.identity).create_officer(
                phone=phone, name="Trần Thị Bích", agency_code=agency.code, pin="135790"
            )
        known = wallet.post("/auth/login", {"phone": phone, "pin": "000000"})
        unknown = wallet.post("/auth/login", {"phone": make_phone(), "pin": "000000"})
        strip = {"instance", "request_id"}
        assert {k: v for k, v in known.json().items() if k not in strip} == {
            k: v for k, v in unknown.json().items() if k not in strip
        }
        assert set(known.headers) == set(unknown.headers)

    def test_registration_budgets_refuse_taken_and_new_ids_alike(self, wallet: Wallet) -> None:
        owner, _ = wallet.register()
        taken_phone, new_phone = make_phone(), make_phone()
        taken = [wallet.post("/auth/register", _same_id(owner, phone=taken_phone)) for _ in range(6)]
        new = [wallet.post("/auth/register", registration(phone=new_phone)) for _ in range(6)]
        assert [a.status_code for a in taken] == [a.status_code for a in new] == [202] * 5 + [429]
        assert retry_after(taken[-1]) == retry_after(new[-1])
