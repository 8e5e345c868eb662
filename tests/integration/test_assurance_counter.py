"""Identity levels, counter proofing after a QR scan, papers held until level 2, and consent approval at level 2
(API.md: "Identity assurance"). On SQLite and PostgreSQL, with the injected clock at every expiry."""

from __future__ import annotations

import base64
import itertools
from datetime import timedelta
from typing import Any

import pytest

from api.deps import container_of
from identity.accounts import AccountService
from storage.db import transaction
from tests.factories import e164, outbox_lines
from tests.integration.assurance_helpers import Officer, me, new_counter_officer
from tests.integration.conftest import START, Wallet
from tests.integration.consent_helpers import make_agency, make_citizen
from tests.integration.wallet_helpers import problem as _problem

_codes = itertools.count(1)


def _issuer(wallet: Wallet) -> str:
    container = container_of(wallet.app.state)
    code = f"STP-{next(_codes)}"
    with transaction(container.engine) as session:
        accounts = AccountService(session, container.identity)
        creds = accounts.create_agency(code, "Sở Tư pháp Đà Nẵng", ["documents:issue"])
    form = {"grant_type": "client_credentials", "client_id": creds.client_id, "client_secret": creds.client_secret}
    answer = wallet.client.post("/api/v1/oauth/token", data=form)
    assert answer.status_code == 200, answer.text
    return str(answer.json()["access_token"])


def push(wallet: Wallet, issuer: str, national_id: str, title: str = "Giấy chứng nhận hộ kinh doanh") -> Any:
    fields = {
        "procedure_code": "1.001612",
        "title": title,
        "decision_number": "123/QĐ-UBND",
        "issue_date": "2026-11-20",
        "issued_by": "UBND quận Hải Châu",
        "summary": "Cấp giấy chứng nhận",
    }
    pdf = b"%PDF-1.7\n" + title.encode() + b"\n%%EOF\n"
    body = {
        "national_id": national_id,
        "type": "tthc_result",
        "fields": fields,
        "file": {"filename": "kq.pdf", "content_type": "application/pdf", "content_base64": _b64(pdf)},
    }
    answer = wallet.post("/issuer/documents", body, issuer)
    assert answer.status_code == 201, answer.text
    return dict(answer.json())


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


@pytest.fixture
def officer(wallet: Wallet) -> Officer:
    return new_counter_officer(wallet)


class TestLevels:
    def test_a_self_registered_citizen_is_at_level_1_without_proofing(self, wallet: Wallet) -> None:
        _, tokens = wallet.register()
        profile = me(wallet, tokens["access_token"])
        assert (profile["assurance"], profile["proofing"], profile["held_papers"]) == (1, None, 0)

    def test_the_schema_documents_the_new_fields(self, wallet: Wallet) -> None:
        schema = wallet.client.get("/schema/openapi.json").json()
        text = str(schema)
        for name in ("assurance", "held_papers", "/api/v1/identity/proofings", "/api/v1/identity/recoveries"):
            assert name in text, name


class TestCounterProofing:
    def test_the_scanning_officer_raises_the_citizen_to_level_2(self, wallet: Wallet, officer: Officer) -> None:
        data, tokens = wallet.register()
        wallet.clock.advance(timedelta(minutes=3))
        answer = officer.proof(officer.scan(tokens["access_token"]))
        assert answer.status_code == 201, answer.text
        by = {"name": officer.name, "agency": {"code": officer.agency_code, "name": officer.agency_name}}
        at = (START + timedelta(minutes=3)).isoformat().replace("+00:00", "Z")
        proofing = {"method": "counter", "at": at, "by": by}
        assert answer.json() == {"citizen_assurance": 2, "proofing": proofing, "released_papers": 0}
        profile = me(wallet, tokens["access_token"])
        assert profile["assurance"] == 2
        assert profile["proofing"] == proofing
        sms = [m for m in outbox_lines(wallet.outbox) if m["channel"] == "sms" and m["to"] == e164(data["phone"])]
        assert "xác thực mức 2" in sms[-1]["body"] and officer.agency_name in sms[-1]["body"]

    def test_the_access_log_names_the_officer_and_agency(self, wallet: Wallet, officer: Officer) -> None:
        _, tokens = wallet.register()
        officer.proof(officer.scan(tokens["access_token"]))
        log = wallet.get("/me/access-log", tokens["access_token"]).json()["items"]
        entry = next(e for e in log if e["action"] == "identity_proofing")
        assert entry["actor"] == {
            "type": "officer",
            "code": officer.agency_code,
            "name": officer.agency_name,
            "person": officer.name,
        }
        assert officer.name in entry["purpose"]

    def test_a_second_proofing_records_nothing_more(self, wallet: Wallet, officer: Officer) -> None:
        _, tokens = wallet.register()
        first = officer.proof(officer.scan(tokens["access_token"])).json()
        wallet.clock.advance(timedelta(minutes=1))
        again = officer.proof(officer.scan(tokens["access_token"]))
        assert again.status_code == 201
        assert again.json() == first
        log = wallet.get("/me/access-log", tokens["access_token"]).json()["items"]
        assert [e["action"] for e in log].count("identity_proofing") == 1

    def test_only_the_scanning_officer_and_only_within_30_minutes(self, wallet: Wallet, officer: Officer) -> None:
        _, tokens = wallet.register()
        presence = officer.scan(tokens["access_token"])
        colleague = new_counter_officer(wallet, agency_code=officer.agency_code, name="Lê Văn Cường")
        _problem(colleague.proof(presence), 404, "presence_not_found")
        _problem(officer.proof("0193a6b0-0000-7000-8000-000000000000"), 404, "presence_not_found")
        assert me(wallet, tokens["access_token"])["assurance"] == 1
        wallet.clock.advance(timedelta(minutes=30))
        officer.relogin()
        _problem(officer.proof(presence), 404, "presence_not_found")

    def test_presence_valid_until_just_before_30_minutes(self, wallet: Wallet, officer: Officer) -> None:
        _, tokens = wallet.register()
        presence = officer.scan(tokens["access_token"])
        wallet.clock.advance(timedelta(minutes=30) - timedelta(microseconds=1))
        officer.relogin()
        assert officer.proof(presence).status_code == 201

    def test_citizens_agencies_and_strangers_cannot_proof(self, wallet: Wallet, officer: Officer) -> None:
        _, tokens = wallet.register()
        presence = officer.scan(tokens["access_token"])
        body = {"presence_id": presence}
        _problem(wallet.post("/identity/proofings", body, tokens["access_token"]), 403, "forbidden")
        _problem(wallet.post("/identity/proofings", body, make_agency(wallet).token()), 403, "forbidden")
        assert wallet.post("/identity/proofings", body).status_code == 401
        _problem(wallet.post("/identity/proofings", {"presence_id": 5}, officer.token), 422, "validation_failed")
        assert me(wallet, tokens["access_token"])["assurance"] == 1


class TestHeldPapers:
    def test_a_push_to_a_level_1_account_is_held_out_of_sight(self, wallet: Wallet) -> None:
        data, tokens = wallet.register()
        token = tokens["access_token"]
        issued = push(wallet, _issuer(wallet), data["national_id"])
        assert wallet.get("/documents", token).json()["items"] == []
        assert wallet.get(f"/documents/{issued['id']}", token).status_code == 404
        assert wallet.get(f"/documents/{issued['id']}/versions", token).status_code == 404
        assert me(wallet, token)["held_papers"] == 1
        log = wallet.get("/me/access-log", token).json()["items"]
        held = [e for e in log if e["action"] == "issuer_push_held"]
        assert len(held) == 1 and held[0].get("document_id") is None
        assert not any(e["action"] == "issuer_push" for e in log)
        sms = [m for m in outbox_lines(wallet.outbox) if m["to"] == e164(data["phone"])]
        assert "Để nhận" in sms[-1]["body"] and "mức 2" in sms[-1]["body"] and "hộ kinh doanh" not in sms[-1]["body"]

    def test_the_printed_result_still_verifies_while_held(self, wallet: Wallet) -> None:
        data, _ = wallet.register()
        issued = push(wallet, _issuer(wallet), data["national_id"])
        answer = wallet.client.get("/api/v1/verify/documents", params={"token": issued["verification"]["token"]})
        assert answer.status_code == 200 and answer.json()["valid"] is True

    def test_counter_proofing_releases_them_into_the_wallet(self, wallet: Wallet, officer: Officer) -> None:
        data, tokens = wallet.register()
        token = tokens["access_token"]
        issuer = _issuer(wallet)
        first = push(wallet, issuer, data["national_id"], "Kết quả thứ nhất")
        second = push(wallet, issuer, data["national_id"], "Kết quả thứ hai")
        done = officer.proof(officer.scan(token)).json()
        assert done["released_papers"] == 2
        listed = {d["id"] for d in wallet.get("/documents", token).json()["items"]}
        assert listed == {first["id"], second["id"]}
        document = wallet.get(f"/documents/{first['id']}", token).json()
        assert document["source"] == "issuer" and document["fields"]["title"] == "Kết quả thứ nhất"
        content = wallet.get(f"/documents/{first['id']}/files/{document['files'][0]['id']}", token)
        assert content.status_code == 200 and "Kết quả thứ nhất".encode() in content.content
        assert me(wallet, token)["held_papers"] == 0

    def test_a_push_to_a_level_2_account_lands_at_once(self, wallet: Wallet) -> None:
        data, tokens = wallet.register(proofed=True)
        issued = push(wallet, _issuer(wallet), data["national_id"])
        assert wallet.get(f"/documents/{issued['id']}", tokens["access_token"]).status_code == 200
        assert me(wallet, tokens["access_token"])["held_papers"] == 0

    def test_a_held_paper_is_shared_with_no_agency(self, wallet: Wallet) -> None:
        citizen = make_citizen(wallet, papers=False, proofed=False)
        issued = push(wallet, _issuer(wallet), citizen.national_id)
        agency = make_agency(wallet)
        request_id = agency.requested(citizen.national_id, document_types=["tthc_result"])
        chosen = citizen.approve(request_id, document_ids=[issued["id"]])
        _problem(chosen, 403, "assurance_required")


class TestConsentNeedsLevelTwo:
    def test_approval_at_level_1_is_refused_and_works_after_proofing(self, wallet: Wallet, officer: Officer) -> None:
        citizen = make_citizen(wallet, proofed=False)
        agency = make_agency(wallet)
        request_id = agency.requested(citizen.national_id)
        _problem(citizen.approve(request_id), 403, "assurance_required")
        assert agency.status(request_id)["status"] == "pending"
        officer.proof(officer.scan(citizen.token))
        assert citizen.approve(request_id).status_code == 200


class TestOfficerStatistics:
    def test_stats_count_proofings_per_officer_and_flag_an_unusual_counter(self, wallet: Wallet) -> None:
        busy = new_counter_officer(wallet, name="Nguyễn Văn Bận", scopes=("stats:read",))
        calm = [new_counter_officer(wallet, agency_code=busy.agency_code, name=f"Cán bộ {i}") for i in range(2)]
        for _ in range(11):
            busy.proof(busy.scan(wallet.register()[1]["access_token"]))
        for colleague in calm:
            colleague.proof(colleague.scan(wallet.register()[1]["access_token"]))
        answer = wallet.get("/stats", busy.token)
        assert answer.status_code == 200, answer.text
        rows = {r["name"]: r for r in answer.json()["officers"]}
        assert rows["Nguyễn Văn Bận"]["proofings"] == 11 and rows["Nguyễn Văn Bận"]["unusual"] is True
        assert [rows[f"Cán bộ {i}"]["proofings"] for i in range(2)] == [1, 1]
        assert not any(rows[f"Cán bộ {i}"]["unusual"] for i in range(2))
        other = new_counter_officer(wallet, name="Ở cơ quan khác", scopes=("stats:read",))
        assert "Nguyễn Văn Bận" not in {r["name"] for r in wallet.get("/stats", other.token).json()["officers"]}
