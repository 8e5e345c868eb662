"""Consent-based sharing end to end (API.md: "Agencies and consent"): agencies' requests, the citizen's approval
(with a fresh second factor), denial and revocation, signed artefacts verified offline, field-level pulls, expiry at
the boundary with the frozen clock, the officer at the counter, and the citizen's access log. Every test runs on
SQLite and PostgreSQL."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import jwt
import pytest
from sqlmodel import col, select

from api.deps import container_of
from audit.service import PRESENCE_TTL
from consent.models import ConsentEvent
from identity.models import Citizen as CitizenRow
from storage.db import read_only, transaction
from tests.factories import e164, last_code, make_cccd
from tests.integration.auth_helpers import enroll_totp
from tests.integration.conftest import START, Wallet
from tests.integration.consent_helpers import (
    PURPOSE,
    Agency,
    Citizen,
    make_agency,
    make_citizen,
    officer_token,
)
from tests.integration.wallet_helpers import diploma_fields, pdf_bytes, upload
from tests.integration.wallet_helpers import problem as _problem

CONSENT_AUDIENCE = "congdanso-consent"
CCCD_ONLY_NAME = {"cccd": ["full_name", "number"]}


def _error_fields(answer: Any) -> set[str]:
    body = _problem(answer, 422, "validation_failed")
    return {str(error["field"]) for error in body["errors"]}


def _events(wallet: Wallet, subject_id: str) -> list[tuple[str | None, str, str, str]]:
    """(from, to, actor type, actor id) of every transition of a request or consent, oldest first."""
    with transaction(read_only(container_of(wallet.app.state).engine)) as session:
        rows = session.exec(
            select(ConsentEvent)
            .where(ConsentEvent.subject_id == subject_id)
            .order_by(col(ConsentEvent.at), col(ConsentEvent.id))
        ).all()
        return [(e.from_status, e.to_status, e.actor_type, e.actor_id) for e in rows]


def _event_times(wallet: Wallet, subject_id: str) -> dict[str, Any]:
    with transaction(read_only(container_of(wallet.app.state).engine)) as session:
        rows = session.exec(select(ConsentEvent).where(ConsentEvent.subject_id == subject_id)).all()
        return {e.to_status: e.at for e in rows}


def _qr_id(wallet: Wallet, citizen_id: str) -> str:
    with transaction(read_only(container_of(wallet.app.state).engine)) as session:
        row = session.get(CitizenRow, citizen_id)
        assert row is not None
        return row.qr_id


@pytest.fixture
def agency(wallet: Wallet) -> Agency:
    return make_agency(wallet)


@pytest.fixture
def citizen(wallet: Wallet) -> Citizen:
    return make_citizen(wallet)


def _approved(agency: Agency, citizen: Citizen, **body: Any) -> dict[str, Any]:
    """A request for `body` (default: the CCCD) approved by the citizen; returns the consent."""
    approval = body.pop("approval", {})
    request_id = agency.requested(citizen.national_id, **body)
    return citizen.approved(request_id, **approval)


# -- POST /consent-requests ---------------------------------------------------------------------------------------
class TestCreateRequest:
    @pytest.mark.e2e
    def test_an_agency_files_a_request_and_follows_it(self, agency: Agency, citizen: Citizen) -> None:
        request_id = agency.requested(citizen.national_id, document_types=["cccd", "diploma"], fields=CCCD_ONLY_NAME)
        assert agency.status(request_id) == {"id": request_id, "status": "pending", "consent_id": None}

    def test_a_citizen_who_does_not_exist_answers_like_any_other(self, wallet: Wallet, agency: Agency) -> None:
        someone = make_citizen(wallet, papers=False)
        nobody = make_cccd(START.date().replace(year=1990))
        real, ghost = agency.request(someone.national_id), agency.request(nobody)
        assert real.status_code == ghost.status_code == 201
        assert set(real.json()) == set(ghost.json()) == {"id", "status"}
        assert real.json()["status"] == ghost.json()["status"] == "pending"
        assert agency.status(ghost.json()["id"]) == {"id": ghost.json()["id"], "status": "pending", "consent_id": None}
        # it reaches no one, and no citizen can act on it
        assert [r["id"] for r in someone.requests()] == [real.json()["id"]]
        _problem(someone.approve(ghost.json()["id"]), 404, "consent_request_not_found")

    @pytest.mark.parametrize(
        ("body", "field"),
        [
            ({"document_types": ["cccd", "land_title"]}, "document_types"),
            ({"document_types": []}, "document_types"),
            ({"document_types": ["cccd", "cccd"]}, "document_types"),
            ({"fields": {"cccd": ["full_name", "blood_type"]}}, "fields.cccd"),
            ({"fields": {"cccd": []}}, "fields.cccd"),
            ({"fields": {"cccd": ["number", "number"]}}, "fields.cccd"),
            ({"fields": {"diploma": ["title"]}}, "fields.diploma"),
            ({"purpose": ""}, "purpose"),
            ({"purpose": "   \t  "}, "purpose"),
            ({"purpose": "Cấp hộ chiếu\x00"}, "purpose"),
            ({"purpose": "x" * 501}, "purpose"),
            ({"valid_days": 0}, "valid_days"),
            ({"valid_days": 366}, "valid_days"),
            ({"valid_days": -5}, "valid_days"),
            ({"valid_days": "30"}, "valid_days"),
            ({"valid_days": True}, "valid_days"),
            ({"national_id": "12345"}, "national_id"),
            ({"national_id": "003095001234"}, "national_id"),
            ({"presence_id": "no-such-scan"}, "presence_id"),
        ],
    )
    def test_a_bad_request_is_422_naming_the_field(
        self, agency: Agency, citizen: Citizen, body: dict[str, Any], field: str
    ) -> None:
        body = dict(body)  # the parameters are shared by both databases' runs
        national_id = body.pop("national_id", citizen.national_id)
        fields = _error_fields(agency.request(national_id, **body))
        assert any(field in name for name in fields), fields
        assert citizen.requests() == []

    @pytest.mark.parametrize("days", [1, 365])
    def test_validity_from_one_day_to_a_year(self, agency: Agency, citizen: Citizen, days: int) -> None:
        agency.requested(citizen.national_id, valid_days=days)
        assert citizen.requests()[0]["valid_days"] == days

    def test_validity_defaults_to_30_days(self, agency: Agency, citizen: Citizen) -> None:
        consent = _approved(agency, citizen)
        assert citizen.requests()[0]["valid_days"] == 30
        assert consent["valid_until"] == (START + timedelta(days=30)).isoformat().replace("+00:00", "Z")

    @pytest.mark.e2e
    def test_one_pending_request_per_purpose(self, agency: Agency, citizen: Citizen) -> None:
        first = agency.requested(citizen.national_id)
        assert "purpose" in _error_fields(agency.request(citizen.national_id, document_types=["diploma"]))
        agency.requested(citizen.national_id, purpose="Đăng ký thường trú")  # another purpose: its own request
        assert citizen.deny(first).status_code == 200
        agency.requested(citizen.national_id)  # once decided, the purpose may be asked again

    def test_another_agency_may_ask_for_the_same_purpose(self, wallet: Wallet, citizen: Citizen) -> None:
        make_agency(wallet).requested(citizen.national_id)
        make_agency(wallet).requested(citizen.national_id)
        assert len(citizen.requests()) == 2

    def test_needs_the_consent_request_scope(self, wallet: Wallet, citizen: Citizen) -> None:
        reader = make_agency(wallet, scopes=("consent:read",))
        _problem(reader.request(citizen.national_id), 403, "insufficient_scope")
        _problem(
            wallet.post("/consent-requests", {"national_id": citizen.national_id}, citizen.token), 403, "forbidden"
        )
        _problem(wallet.post("/consent-requests", {"national_id": citizen.national_id}), 401, "invalid_token")


# -- GET /consent-requests/{id} -----------------------------------------------------------------------------------
class TestRequestStatus:
    @pytest.mark.e2e
    def test_another_agency_gets_404(self, wallet: Wallet, agency: Agency, citizen: Citizen) -> None:
        request_id = agency.requested(citizen.national_id)
        other = make_agency(wallet)
        _problem(wallet.get(f"/consent-requests/{request_id}", other.token()), 404, "consent_request_not_found")
        _problem(wallet.get("/consent-requests/nothing", agency.token()), 404, "consent_request_not_found")

    @pytest.mark.e2e
    def test_follows_the_decision(self, agency: Agency, citizen: Citizen) -> None:
        approved, denied = agency.requested(citizen.national_id), agency.requested(citizen.national_id, purpose="B")
        consent = citizen.approved(approved)
        citizen.deny(denied)
        assert agency.status(approved) == {"id": approved, "status": "approved", "consent_id": consent["id"]}
        assert agency.status(denied) == {"id": denied, "status": "denied", "consent_id": None}


# -- GET /me/consent-requests -------------------------------------------------------------------------------------
class TestCitizenSeesRequests:
    def test_exactly_what_is_asked_by_whom_why_and_for_how_long(self, agency: Agency, citizen: Citizen) -> None:
        purpose = "  Xác minh nhân thân để cấp hộ chiếu (hồ sơ 0001)  "
        request_id = agency.requested(
            citizen.national_id,
            document_types=["cccd", "diploma"],
            fields=CCCD_ONLY_NAME,
            purpose=purpose,
            valid_days=14,
        )
        [shown] = citizen.requests(status="pending")
        assert shown["id"] == request_id and shown["status"] == "pending"
        assert shown["agency"] == {"code": agency.code, "name": agency.name}
        assert shown["purpose"] == purpose  # verbatim
        assert shown["valid_days"] == 14
        assert shown["collection_method"] == "app" and shown["at_counter_of"] is None
        assert shown["document_types"] == ["cccd", "diploma"] and shown["fields"] == CCCD_ONLY_NAME
        cccd, diploma = shown["documents"]
        assert cccd == {
            "type": "cccd",
            "name": "Căn cước công dân",
            "fields": ["full_name", "number"],
            "field_labels": ["Họ và tên", "Số định danh cá nhân"],
            "files": False,
        }
        assert diploma["type"] == "diploma" and diploma["fields"] is None and diploma["files"] is True
        assert len(diploma["field_labels"]) == 9
        assert purpose in shown["notice"] and agency.name in shown["notice"] and "14 ngày" in shown["notice"]
        assert shown["notice_sha256"] == hashlib.sha256(shown["notice"].encode()).hexdigest()
        assert shown["expires_at"] == (START + timedelta(days=7)).isoformat().replace("+00:00", "Z")

    def test_filters_by_status(self, agency: Agency, citizen: Citizen) -> None:
        pending = agency.requested(citizen.national_id)
        denied = agency.requested(citizen.national_id, purpose="Khác")
        citizen.deny(denied)
        assert [r["id"] for r in citizen.requests(status="pending")] == [pending]
        assert [r["id"] for r in citizen.requests(status="denied")] == [denied]
        assert [r["id"] for r in citizen.requests()] == [denied, pending]
        answer = citizen.wallet.get("/me/consent-requests", citizen.token, params={"status": "maybe"})
        assert answer.status_code in {400, 422}

    def test_pages_follow_the_cursor(self, agency: Agency, citizen: Citizen) -> None:
        made = [agency.requested(citizen.national_id, purpose=f"Thủ tục {n}") for n in range(3)]
        first = citizen.wallet.get("/me/consent-requests", citizen.token, params={"limit": 2}).json()
        second = citizen.wallet.get(
            "/me/consent-requests", citizen.token, params={"limit": 2, "cursor": first["next_cursor"]}
        ).json()
        assert [r["id"] for r in first["items"] + second["items"]] == made[::-1]
        assert second["next_cursor"] is None

    def test_another_citizens_requests_are_not_listed(self, wallet: Wallet, agency: Agency, citizen: Citizen) -> None:
        request_id = agency.requested(citizen.national_id)
        other = make_citizen(wallet, papers=False)
        assert other.requests() == []
        _problem(wallet.get(f"/me/consent-requests/{request_id}", other.token), 404, "consent_request_not_found")
        assert wallet.get(f"/me/consent-requests/{request_id}", citizen.token).json()["id"] == request_id

    def test_agencies_and_officers_cannot_list(self, wallet: Wallet, agency: Agency) -> None:
        _problem(wallet.get("/me/consent-requests", agency.token()), 403, "forbidden")


# -- POST /me/consent-requests/{id}/approve -----------------------------------------------------------------------
class TestApprove:
    @pytest.mark.e2e
    def test_shares_every_current_document_of_the_requested_types_by_default(
        self, agency: Agency, citizen: Citizen
    ) -> None:
        second = citizen.add("diploma2", "diploma", diploma_fields(title="Bằng thạc sĩ"), [])
        consent = _approved(agency, citizen, document_types=["diploma"])
        assert set(consent) == {"id", "artefact", "valid_until"}
        [listed] = citizen.consents()
        assert set(listed["document_ids"]) == {citizen.documents["diploma"]["id"], second["id"]}
        assert listed["status"] == "active" and listed["agency"]["code"] == agency.code

    @pytest.mark.e2e
    def test_the_citizen_may_choose_which_documents(self, agency: Agency, citizen: Citizen) -> None:
        citizen.add("diploma2", "diploma", diploma_fields(title="Bằng thạc sĩ"), [])
        chosen = citizen.documents["diploma2"]["id"]
        consent = _approved(agency, citizen, document_types=["diploma"], approval={"document_ids": [chosen]})
        assert [d["id"] for d in agency.pulled(consent["id"])] == [chosen]

    def test_only_own_documents_of_the_requested_types(self, wallet: Wallet, agency: Agency, citizen: Citizen) -> None:
        other = make_citizen(wallet)
        request_id = agency.requested(citizen.national_id, document_types=["diploma"])
        cases = [
            [other.documents["diploma"]["id"]],  # another citizen's paper
            [citizen.documents["cccd"]["id"]],  # a type not requested
            ["no-such-document"],
            [],
            [citizen.documents["diploma"]["id"]] * 2,
        ]
        for document_ids in cases:
            assert _error_fields(citizen.approve(request_id, document_ids=document_ids)) == {"document_ids"}
        assert agency.status(request_id)["status"] == "pending"

    def test_nothing_to_share_is_422(self, wallet: Wallet, agency: Agency) -> None:
        empty = make_citizen(wallet, papers=False)
        request_id = agency.requested(empty.national_id)
        assert _error_fields(empty.approve(request_id)) == {"document_ids"}

    def test_a_citizen_approving_another_citizens_request_gets_404(
        self, wallet: Wallet, agency: Agency, citizen: Citizen
    ) -> None:
        request_id = agency.requested(citizen.national_id)
        intruder = make_citizen(wallet)
        _problem(intruder.approve(request_id), 404, "consent_request_not_found")
        _problem(intruder.deny(request_id), 404, "consent_request_not_found")
        _problem(intruder.approve("01a20000-0000-7000-8000-000000000000"), 404, "consent_request_not_found")
        assert agency.status(request_id)["status"] == "pending"
        assert intruder.consents() == []

    @pytest.mark.e2e
    def test_a_decided_request_cannot_be_decided_again(self, agency: Agency, citizen: Citizen) -> None:
        approved = agency.requested(citizen.national_id)
        citizen.approved(approved)
        _problem(citizen.approve(approved), 409, "consent_request_not_pending")
        _problem(citizen.deny(approved), 409, "consent_request_not_pending")
        assert len(citizen.consents()) == 1

    def test_an_approval_without_a_body_uses_the_defaults(self, agency: Agency, citizen: Citizen) -> None:
        request_id = agency.requested(citizen.national_id)
        answer = citizen.wallet.client.post(
            f"/api/v1/me/consent-requests/{request_id}/approve", headers={"Authorization": f"Bearer {citizen.token}"}
        )
        assert answer.status_code == 200, answer.text

    def test_agencies_cannot_approve(self, agency: Agency, citizen: Citizen) -> None:
        request_id = agency.requested(citizen.national_id)
        answer = citizen.wallet.post(f"/me/consent-requests/{request_id}/approve", {}, agency.token())
        _problem(answer, 403, "forbidden")


class TestFreshFactor:
    def test_approval_without_a_fresh_factor_is_refused(self, wallet: Wallet, agency: Agency, citizen: Citizen) -> None:
        request_id = agency.requested(citizen.national_id)
        wallet.clock.advance(timedelta(minutes=5))  # the login is exactly 5 minutes old: no longer fresh
        _problem(citizen.approve(request_id), 403, "fresh_factor_required")
        assert agency.status(request_id)["status"] == "pending"
        assert citizen.consents() == []

    def test_a_login_under_five_minutes_old_is_enough(self, wallet: Wallet, agency: Agency, citizen: Citizen) -> None:
        request_id = agency.requested(citizen.national_id)
        wallet.clock.advance(timedelta(minutes=5) - timedelta(seconds=1))
        assert citizen.approve(request_id).status_code == 200

    def test_a_wrong_code_is_refused(self, wallet: Wallet, agency: Agency, citizen: Citizen) -> None:
        request_id = agency.requested(citizen.national_id)
        wallet.clock.advance(timedelta(minutes=10))
        wallet.post("/auth/otp/send", None, citizen.token)
        _problem(citizen.approve(request_id, code="000000"), 401, "otp_invalid")
        assert agency.status(request_id)["status"] == "pending"

    def test_an_sms_step_up_code_approves(self, wallet: Wallet, agency: Agency, citizen: Citizen) -> None:
        request_id = agency.requested(citizen.national_id)
        wallet.clock.advance(timedelta(minutes=10))
        challenge = wallet.post("/auth/otp/send", None, citizen.token)
        assert challenge.status_code == 202, challenge.text
        code = last_code(wallet.outbox, to=e164(citizen.data["phone"]))
        citizen.approved(request_id, code=code, challenge_id=challenge.json()["challenge_id"])
        # a code is single-use
        again = agency.requested(citizen.national_id, purpose="Lần khác")
        _problem(citizen.approve(again, code=code), 401, "otp_invalid")

    def test_a_totp_code_approves(self, wallet: Wallet, agency: Agency, citizen: Citizen) -> None:
        totp = enroll_totp(wallet, citizen.token, citizen.data["phone"])  # behind an SMS step-up code
        request_id = agency.requested(citizen.national_id)
        wallet.clock.advance(timedelta(minutes=6))
        citizen.approved(request_id, code=totp.at(wallet.clock.now()))


# -- POST /me/consent-requests/{id}/deny --------------------------------------------------------------------------
class TestDeny:
    @pytest.mark.e2e
    def test_a_denied_request_gives_nothing(self, wallet: Wallet, agency: Agency, citizen: Citizen) -> None:
        request_id = agency.requested(citizen.national_id)
        answer = citizen.deny(request_id)
        assert answer.status_code == 200, answer.text
        assert answer.json()["status"] == "denied"
        assert agency.status(request_id) == {"id": request_id, "status": "denied", "consent_id": None}
        assert citizen.consents() == []
        assert citizen.requests(status="pending") == []
        assert _events(wallet, request_id) == [
            (None, "pending", "agency", agency.code),
            ("pending", "denied", "citizen", citizen.id),
        ]


class TestRequestExpiry:
    def test_a_pending_request_expires_after_seven_days(self, wallet: Wallet, agency: Agency, citizen: Citizen) -> None:
        request_id = agency.requested(citizen.national_id)
        wallet.clock.set(START + timedelta(days=7) - timedelta(seconds=1))
        citizen.relogin()
        assert agency.status(request_id)["status"] == "pending"
        assert [r["id"] for r in citizen.requests(status="pending")] == [request_id]
        wallet.clock.set(START + timedelta(days=7))
        citizen.relogin()
        assert citizen.requests(status="pending") == []
        assert citizen.requests(status="expired")[0]["id"] == request_id
        _problem(citizen.approve(request_id), 409, "consent_request_not_pending")
        assert agency.status(request_id) == {"id": request_id, "status": "expired", "consent_id": None}
        assert _events(wallet, request_id)[-1] == ("pending", "expired", "system", "congdanso")
        assert _event_times(wallet, request_id)["expired"] == START + timedelta(days=7)


# -- the artefact -------------------------------------------------------------------------------------------------
class TestArtefact:
    def test_verifies_offline_with_the_jwks(self, wallet: Wallet, agency: Agency, citizen: Citizen) -> None:
        request_id = agency.requested(citizen.national_id, document_types=["cccd", "diploma"], fields=CCCD_ONLY_NAME)
        [shown] = citizen.requests()
        consent = citizen.approved(request_id)
        keys = jwt.PyJWKSet.from_dict(wallet.client.get("/.well-known/jwks.json").json())
        token = consent["artefact"]
        header = jwt.get_unverified_header(token)
        issuer = jwt.decode(citizen.token, options={"verify_signature": False})["iss"]
        claims = jwt.decode(
            token,
            keys[header["kid"]].key,
            algorithms=["EdDSA"],
            audience=CONSENT_AUDIENCE,
            issuer=issuer,
            options={"verify_exp": False, "verify_iat": False},  # the test clock is in 2026
        )
        assert claims["typ"] == "consent" and header["alg"] == "EdDSA"
        assert claims["consent_id"] == consent["id"] and claims["request_id"] == request_id
        assert claims["version"] == "1.0" and claims["jurisdiction"] == "VN"
        assert claims["sub"] == _qr_id(wallet, citizen.id) != citizen.national_id
        assert citizen.national_id not in jwt.utils.base64url_decode(token.split(".")[1]).decode()
        assert claims["agency"] == {"code": agency.code, "name": agency.name}
        assert claims["purpose"] == PURPOSE
        assert claims["document_types"] == ["cccd", "diploma"] and claims["fields"] == CCCD_ONLY_NAME
        assert claims["document_ids"] == [citizen.documents["cccd"]["id"], citizen.documents["diploma"]["id"]]
        assert claims["iat"] == int(START.timestamp()) and claims["issued_at"] == START.isoformat()
        assert claims["exp"] == int((START + timedelta(days=30)).timestamp())
        assert claims["collection_method"] == "app"
        assert claims["notice_sha256"] == shown["notice_sha256"] == hashlib.sha256(shown["notice"].encode()).hexdigest()
        assert claims["sensitive"] is True  # identity-card data

    def test_a_tampered_artefact_fails(self, wallet: Wallet, agency: Agency, citizen: Citizen) -> None:
        token = _approved(agency, citizen)["artefact"]
        header, _payload, signature = token.split(".")
        claims = jwt.decode(token, options={"verify_signature": False})
        claims["purpose"] = "Bất kỳ mục đích nào"
        forged_payload = jwt.utils.base64url_encode(jwt.api_jwt.json.dumps(claims).encode()).decode()
        keys = jwt.PyJWKSet.from_dict(wallet.client.get("/.well-known/jwks.json").json())
        with pytest.raises(jwt.InvalidSignatureError):
            jwt.decode(
                f"{header}.{forged_payload}.{signature}",
                keys[jwt.get_unverified_header(token)["kid"]].key,
                algorithms=["EdDSA"],
                audience=CONSENT_AUDIENCE,
                options={"verify_exp": False, "verify_iat": False},
            )

    def test_is_never_an_access_token(self, wallet: Wallet, agency: Agency, citizen: Citizen) -> None:
        artefact = _approved(agency, citizen)["artefact"]
        assert wallet.get("/me", artefact).status_code == 401
        assert wallet.get("/documents", artefact).status_code == 401


def _rotate_signing_key(wallet: Wallet) -> dict[str, Any]:
    """`congdanso keys rotate --signing` on the wallet's data (a separate process, at the wall clock)."""
    env = {
        "WALLET_DATA_DIR": str(wallet.settings.data_dir),
        "WALLET_DATABASE_URL": wallet.settings.resolved_database_url,
        "WALLET_LOG_LEVEL": "warning",
        "PATH": "/usr/bin:/bin",
    }
    cli = str(Path(sys.executable).with_name("congdanso"))
    args = [cli, "keys", "rotate", "--signing", "--grace-seconds", "60"]
    done = subprocess.run(args, env=env, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    wallet.app.state.container.keyring.reload_if_changed()
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


class TestArtefactSigningKey:
    def test_a_rotation_keeps_the_key_until_the_last_artefact_expires(self, wallet: Wallet) -> None:
        wallet.clock.set(datetime.now(UTC).replace(microsecond=0))  # the CLI rotates at the wall clock
        agency, citizen = make_agency(wallet), make_citizen(wallet, papers=False)
        citizen.add("diploma", "diploma", diploma_fields(), [])
        consent = _approved(agency, citizen, document_types=["diploma"], valid_days=365)
        kid = jwt.get_unverified_header(consent["artefact"])["kid"]
        report = _rotate_signing_key(wallet)
        valid_until = datetime.fromisoformat(consent["valid_until"])
        assert report["previous_kid"] == kid
        assert datetime.fromisoformat(report["previous_retired_at"]) == valid_until
        wallet.clock.set(valid_until - timedelta(seconds=1))
        assert kid in {k["kid"] for k in wallet.client.get("/.well-known/jwks.json").json()["keys"]}
        wallet.clock.set(valid_until)
        assert kid not in {k["kid"] for k in wallet.client.get("/.well-known/jwks.json").json()["keys"]}


# -- GET /consents/{id}/documents and files -----------------------------------------------------------------------
class TestPull:
    def test_only_the_listed_fields_and_no_files_under_a_restriction(self, agency: Agency, citizen: Citizen) -> None:
        consent = _approved(agency, citizen, document_types=["cccd", "diploma"], fields=CCCD_ONLY_NAME)
        cccd, diploma = agency.pulled(consent["id"])
        assert cccd["id"] == citizen.documents["cccd"]["id"]
        assert set(cccd["fields"]) == {"full_name", "number"}  # the exact field set
        assert cccd["fields"] == {"full_name": citizen.data["full_name"], "number": citizen.national_id}
        assert cccd["files"] == [] and cccd["verification"] is None
        assert cccd["valid_until"] is None  # derived from expiry_date, which is not shared
        # an unrestricted type is shared whole, exactly as its owner sees it
        own = citizen.wallet.get(f"/documents/{diploma['id']}", citizen.token).json()
        assert diploma == own and len(diploma["files"]) == 1

    def test_no_file_of_a_restricted_paper(self, agency: Agency, citizen: Citizen) -> None:
        consent = _approved(agency, citizen, fields={"cccd": ["full_name"]})
        cccd = citizen.documents["cccd"]
        answer = agency.file(consent["id"], cccd["id"], cccd["files"][0]["id"])
        _problem(answer, 403, "consent_required")

    @pytest.mark.e2e
    def test_files_of_an_unrestricted_paper_stream(self, agency: Agency, citizen: Citizen) -> None:
        consent = _approved(agency, citizen, document_types=["diploma"])
        diploma = citizen.documents["diploma"]
        answer = agency.file(consent["id"], diploma["id"], diploma["files"][0]["id"])
        assert answer.status_code == 200, answer.text
        assert answer.content == pdf_bytes("diploma")
        assert answer.headers["content-type"].startswith("application/pdf")

    @pytest.mark.e2e
    def test_only_the_approved_documents(self, wallet: Wallet, agency: Agency, citizen: Citizen) -> None:
        consent = _approved(agency, citizen, document_types=["diploma"])
        later = citizen.add("diploma2", "diploma", diploma_fields(title="Bằng thạc sĩ"), [("ts.pdf", pdf_bytes("ts"))])
        assert [d["id"] for d in agency.pulled(consent["id"])] == [citizen.documents["diploma"]["id"]]
        cccd = citizen.documents["cccd"]
        for document, file_id in ((cccd, cccd["files"][0]["id"]), (later, later["files"][0]["id"])):
            _problem(agency.file(consent["id"], document["id"], file_id), 404, "document_not_found")
        other = make_citizen(wallet)
        foreign = other.documents["diploma"]
        _problem(agency.file(consent["id"], foreign["id"], foreign["files"][0]["id"]), 404, "document_not_found")
        diploma = citizen.documents["diploma"]
        _problem(agency.file(consent["id"], diploma["id"], cccd["files"][0]["id"]), 404, "file_not_found")

    def test_the_version_current_at_pull_time(self, agency: Agency, citizen: Citizen) -> None:
        consent = _approved(agency, citizen, document_types=["diploma"])
        diploma = citizen.documents["diploma"]
        assert agency.pulled(consent["id"])[0]["version"] == 1
        updated = upload(
            citizen.wallet,
            citizen.token,
            "diploma",
            diploma_fields(classification="Xuất sắc"),
            [("ban-moi.pdf", pdf_bytes("v2"))],
            method="PUT",
            document_id=diploma["id"],
        )
        assert updated.status_code == 200, updated.text
        [pulled] = agency.pulled(consent["id"])
        assert pulled["version"] == 2 and pulled["fields"]["classification"] == "Xuất sắc"
        assert pulled == citizen.wallet.get(f"/documents/{diploma['id']}", citizen.token).json()
        new_file = pulled["files"][0]["id"]
        assert agency.file(consent["id"], diploma["id"], new_file).content == pdf_bytes("v2")
        # a scan of the superseded version is not part of the paper any more
        _problem(agency.file(consent["id"], diploma["id"], diploma["files"][0]["id"]), 404, "file_not_found")

    def test_a_deleted_document_is_no_longer_shared(self, agency: Agency, citizen: Citizen) -> None:
        consent = _approved(agency, citizen, document_types=["cccd", "diploma"])
        gone = citizen.documents["diploma"]["id"]
        deleted = citizen.wallet.client.delete(
            f"/api/v1/documents/{gone}", headers={"Authorization": f"Bearer {citizen.token}"}
        )
        assert deleted.status_code == 204
        assert [d["id"] for d in agency.pulled(consent["id"])] == [citizen.documents["cccd"]["id"]]

    def test_another_agency_gets_404(self, wallet: Wallet, agency: Agency, citizen: Citizen) -> None:
        consent = _approved(agency, citizen, document_types=["diploma"])
        other = make_agency(wallet)
        diploma = citizen.documents["diploma"]
        _problem(other.pull(consent["id"]), 404, "consent_not_found")
        _problem(other.file(consent["id"], diploma["id"], diploma["files"][0]["id"]), 404, "consent_not_found")
        _problem(agency.pull("01a20000-0000-7000-8000-000000000000"), 404, "consent_not_found")

    def test_needs_the_consent_read_scope(self, wallet: Wallet, citizen: Citizen) -> None:
        requester = make_agency(wallet, scopes=("consent:request",))
        consent = _approved(requester, citizen)
        _problem(requester.pull(consent["id"]), 403, "insufficient_scope")
        _problem(wallet.get(f"/consents/{consent['id']}/documents", citizen.token), 403, "forbidden")


# -- POST /me/consents/{id}/revoke --------------------------------------------------------------------------------
class TestRevoke:
    def test_takes_effect_on_the_very_next_request(self, wallet: Wallet, agency: Agency, citizen: Citizen) -> None:
        consent = _approved(agency, citizen, document_types=["diploma"])
        diploma = citizen.documents["diploma"]
        token = agency.token()
        assert agency.pull(consent["id"], token).status_code == 200
        answer = citizen.revoke(consent["id"])
        assert answer.status_code == 200, answer.text
        assert answer.json()["status"] == "revoked"
        assert answer.json()["revoked_at"] == START.isoformat().replace("+00:00", "Z")
        _problem(agency.pull(consent["id"], token), 403, "consent_revoked")
        _problem(agency.file(consent["id"], diploma["id"], diploma["files"][0]["id"], token), 403, "consent_revoked")
        assert citizen.consents()[0]["status"] == "revoked"

    def test_revoking_twice_is_harmless(self, wallet: Wallet, agency: Agency, citizen: Citizen) -> None:
        consent = _approved(agency, citizen)
        assert citizen.revoke(consent["id"]).status_code == 200
        assert citizen.revoke(consent["id"]).json()["status"] == "revoked"
        assert [e[1] for e in _events(wallet, consent["id"])] == ["active", "revoked"]

    def test_another_citizen_gets_404(self, wallet: Wallet, agency: Agency, citizen: Citizen) -> None:
        consent = _approved(agency, citizen)
        _problem(make_citizen(wallet, papers=False).revoke(consent["id"]), 404, "consent_not_found")
        assert agency.pull(consent["id"]).status_code == 200


class TestErasure:
    def test_erasing_the_account_withdraws_every_consent_and_request(
        self, wallet: Wallet, agency: Agency, citizen: Citizen
    ) -> None:
        consent = _approved(agency, citizen)
        pending = agency.requested(citizen.national_id, purpose="Đăng ký thường trú")
        challenge = wallet.post("/auth/otp/send", None, citizen.token).json()
        code = last_code(wallet.outbox, to=e164(citizen.data["phone"]))
        erased = wallet.client.request(
            "DELETE",
            "/api/v1/me",
            json={"code": code, "challenge_id": challenge["challenge_id"]},
            headers={"Authorization": f"Bearer {citizen.token}"},
        )
        assert erased.status_code == 204, erased.text
        _problem(agency.pull(consent["id"]), 403, "consent_revoked")
        assert agency.status(pending)["status"] == "denied"
        assert _events(wallet, consent["id"])[-1] == ("active", "revoked", "citizen", citizen.id)


class TestConsentExpiry:
    def test_ends_exactly_at_valid_until(self, wallet: Wallet, agency: Agency, citizen: Citizen) -> None:
        consent = _approved(agency, citizen, document_types=["diploma"], valid_days=1)
        end = START + timedelta(days=1)
        assert consent["valid_until"] == end.isoformat().replace("+00:00", "Z")
        diploma = citizen.documents["diploma"]
        wallet.clock.set(end - timedelta(seconds=1))
        assert agency.pull(consent["id"]).status_code == 200
        wallet.clock.set(end)
        token = agency.token()
        _problem(agency.pull(consent["id"], token), 403, "consent_expired")
        _problem(agency.file(consent["id"], diploma["id"], diploma["files"][0]["id"], token), 403, "consent_expired")
        citizen.relogin()
        assert citizen.consents()[0]["status"] == "expired"
        _problem(citizen.revoke(consent["id"]), 409, "consent_not_active")
        assert _events(wallet, consent["id"])[-1] == ("active", "expired", "system", "congdanso")
        assert _event_times(wallet, consent["id"])["expired"] == end


# -- every transition, and the access log -------------------------------------------------------------------------
class TestTransitionsAreRecorded:
    def test_a_whole_life(self, wallet: Wallet, agency: Agency, citizen: Citizen) -> None:
        request_id = agency.requested(citizen.national_id)
        consent = citizen.approved(request_id)
        wallet.clock.advance(timedelta(hours=1))
        citizen.relogin()
        citizen.revoke(consent["id"])
        assert _events(wallet, request_id) == [
            (None, "pending", "agency", agency.code),
            ("pending", "approved", "citizen", citizen.id),
        ]
        assert _events(wallet, consent["id"]) == [
            (None, "active", "citizen", citizen.id),
            ("active", "revoked", "citizen", citizen.id),
        ]
        assert _event_times(wallet, consent["id"])["revoked"] == START + timedelta(hours=1)


class TestAccessLog:
    @pytest.mark.e2e
    def test_lists_every_agency_pull_and_nothing_of_other_citizens(self, wallet: Wallet, agency: Agency) -> None:
        alice, bob = make_citizen(wallet), make_citizen(wallet)
        ours = _approved(agency, alice, document_types=["cccd", "diploma"])
        theirs = _approved(agency, bob, document_types=["diploma"], purpose="Tuyển dụng công chức")
        agency.pulled(ours["id"])
        diploma = alice.documents["diploma"]
        assert agency.file(ours["id"], diploma["id"], diploma["files"][0]["id"]).status_code == 200
        agency.pulled(theirs["id"])
        agency.pulled(theirs["id"])

        log = alice.access_log()
        actor = {"type": "agency", "code": agency.code, "name": agency.name}
        expected = [
            ("consent_pull", alice.documents["cccd"]["id"]),
            ("consent_pull", diploma["id"]),
            ("consent_file", diploma["id"]),
        ]
        assert sorted((e["action"], e["document_id"]) for e in log) == sorted(expected)
        assert all(e["actor"] == actor and e["consent_id"] == ours["id"] and e["purpose"] == PURPOSE for e in log)
        bobs = bob.access_log()
        assert [(e["action"], e["document_id"], e["consent_id"]) for e in bobs] == [
            ("consent_pull", bob.documents["diploma"]["id"], theirs["id"])
        ] * 2
        assert {e["purpose"] for e in bobs} == {"Tuyển dụng công chức"}

    def test_the_citizens_own_decisions_are_not_accesses(self, agency: Agency, citizen: Citizen) -> None:
        consent = _approved(agency, citizen)
        citizen.deny(agency.requested(citizen.national_id, purpose="Khác"))
        citizen.revoke(consent["id"])
        assert citizen.access_log() == []

    def test_refused_pulls_read_nothing_and_log_nothing(self, wallet: Wallet, agency: Agency, citizen: Citizen) -> None:
        consent = _approved(agency, citizen)
        make_agency(wallet).pull(consent["id"])
        citizen.revoke(consent["id"])
        agency.pull(consent["id"])
        assert citizen.access_log() == []


# -- the officer at the counter (issue 5, point 6) ----------------------------------------------------------------
class TestOfficerAtTheCounter:
    def test_scan_request_approve_on_the_phone_and_pull(self, wallet: Wallet, agency: Agency, citizen: Citizen) -> None:
        officer = officer_token(wallet, agency)
        qr = wallet.get("/me/qr", citizen.token).json()["token"]
        scan = wallet.post("/verify/qr", {"token": qr}, officer).json()
        assert scan["valid"] is True
        answer = agency.request(
            citizen.national_id,
            token=officer,
            document_types=["cccd", "diploma"],
            purpose="Đăng ký thường trú",
            presence_id=scan["presence_id"],
        )
        assert answer.status_code == 201, answer.text
        request_id = answer.json()["id"]
        # on the citizen's phone
        [shown] = citizen.requests(status="pending")
        assert shown["collection_method"] == "counter" and shown["at_counter_of"] == agency.name
        assert f"tại quầy tiếp nhận của {agency.name}" in shown["notice"]
        consent = citizen.approved(request_id)
        assert jwt.decode(consent["artefact"], options={"verify_signature": False})["collection_method"] == "counter"
        # the officer follows the request, then the agency pulls (its client, or the officer at the counter)
        assert wallet.get(f"/consent-requests/{request_id}", officer).json()["status"] == "approved"
        items = agency.pulled(consent["id"])
        assert [d["id"] for d in items] == [citizen.documents["cccd"]["id"], citizen.documents["diploma"]["id"]]
        at_counter = wallet.get(f"/consents/{consent['id']}/documents", officer)
        assert at_counter.status_code == 200 and at_counter.json()["items"] == items
        log = citizen.access_log()
        assert {(e["action"], e["actor"]["type"]) for e in log} == {
            ("qr_scan", "officer"),
            ("consent_pull", "agency"),
            ("consent_pull", "officer"),
        }
        assert _events(wallet, request_id)[0][2] == "officer"

    def test_a_presence_must_be_live_of_this_agency_and_this_citizen(
        self, wallet: Wallet, agency: Agency, citizen: Citizen
    ) -> None:
        officer = officer_token(wallet, agency)
        other_agency = make_agency(wallet)
        someone_else = make_citizen(wallet, papers=False)
        qr = wallet.get("/me/qr", citizen.token).json()["token"]
        presence = wallet.post("/verify/qr", {"token": qr}, officer).json()["presence_id"]
        assert "presence_id" in _error_fields(other_agency.request(citizen.national_id, presence_id=presence))
        assert "presence_id" in _error_fields(agency.request(someone_else.national_id, presence_id=presence))
        wallet.clock.advance(PRESENCE_TTL)
        assert "presence_id" in _error_fields(agency.request(citizen.national_id, presence_id=presence))
        citizen.relogin(), someone_else.relogin()
        assert citizen.requests() == [] and someone_else.requests() == []

    def test_an_officer_of_an_agency_without_the_scope_cannot_request(self, wallet: Wallet, citizen: Citizen) -> None:
        issuer_only = make_agency(wallet, scopes=("documents:issue",))
        officer = officer_token(wallet, issuer_only)
        answer = wallet.post(
            "/consent-requests",
            {"national_id": citizen.national_id, "document_types": ["cccd"], "purpose": PURPOSE},
            officer,
        )
        _problem(answer, 403, "insufficient_scope")
