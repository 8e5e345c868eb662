"""Papers at the counter through the API: a consent request named by the officer's QR scan alone (no national ID),
for exactly the passport procedure's papers; once approved, `POST /agency/counter-dossiers` files the citizen's dossier,
prefilled from the consented papers, submitted with its due date, its history naming the officer."""

from __future__ import annotations

from typing import Any

from api.deps import container_of
from identity.accounts import AccountService
from storage.db import transaction
from tests.factories import e164, last_code, make_phone
from tests.integration.conftest import Wallet
from tests.integration.forms_helpers import agency_token, citizen_with_papers
from tests.integration.wallet_helpers import birth_certificate_fields, cccd_fields, passport_fields, upload

OFFICE = "ca_xnc"
PASSPORT = "passport_issue"


def _ok(answer: Any, status: int = 200) -> dict[str, Any]:
    assert answer.status_code == status, answer.text
    return dict(answer.json())


def _officer(wallet: Wallet, agency: str = OFFICE, name: str = "Lê Văn Tâm") -> str:
    """An officer of a new agency `agency` holding the consent scopes and working its dossiers, signed in by phone,
    PIN and OTP."""
    agency_token(wallet, agency, scopes=("consent:request", "consent:read", "applications:process"))
    container = container_of(wallet.app.state)
    phone, pin = make_phone(), "135790"
    with transaction(container.engine) as session:
        AccountService(session, container.identity).create_officer(phone=phone, name=name, agency_code=agency, pin=pin)
    challenge = _ok(wallet.post("/auth/login", {"phone": phone, "pin": pin}), 202)
    verify = {"challenge_id": challenge["challenge_id"], "code": last_code(wallet.outbox, to=e164(phone))}
    return str(_ok(wallet.post("/auth/otp/verify", verify))["access_token"])


def _scan(wallet: Wallet, officer: str, citizen_token: str) -> str:
    qr = _ok(wallet.get("/me/qr", token=citizen_token))["token"]
    return str(_ok(wallet.post("/verify/qr", {"token": qr}, officer))["presence_id"])


def test_a_scan_names_the_citizen_and_the_dossier_is_filed_at_the_counter(wallet: Wallet) -> None:
    officer = _officer(wallet)
    papers = [
        ("cccd", cccd_fields),
        ("birth_certificate", birth_certificate_fields),
        ("passport", passport_fields),
    ]
    citizen = citizen_with_papers(wallet, papers=[])
    for type_code, build in papers:
        _ok(upload(wallet, citizen.token, type_code, build(citizen.data)), 201)
    presence = _scan(wallet, officer, citizen.token)
    body = {"presence_id": presence, "document_types": ["cccd"], "purpose": "Cấp hộ chiếu tại quầy"}
    asked = _ok(wallet.post("/consent-requests", body, officer), 201)
    mine = _ok(wallet.get("/me/consent-requests?status=pending", token=citizen.token))["items"]
    assert [r["id"] for r in mine] == [asked["id"]] and mine[0]["collection_method"] == "counter"

    refused = wallet.post("/consent-requests", body | {"presence_id": "nope"}, officer)
    assert refused.status_code == 422 and refused.json()["code"] == "validation_failed", refused.text
    no_one = wallet.post("/consent-requests", {k: v for k, v in body.items() if k != "presence_id"}, officer)
    assert no_one.status_code == 422, no_one.text  # neither a national ID nor a scan

    counter = {"presence_id": presence, "purpose": "Nộp hồ sơ hộ chiếu tại quầy"}
    counter |= {"document_types": ["cccd", "birth_certificate", "passport"]}
    counter["fields"] = {"birth_certificate": ["place_of_birth", "ethnicity", "father_name", "mother_name"]}
    request_id = _ok(wallet.post("/consent-requests", counter, officer), 201)["id"]
    _ok(wallet.post(f"/me/consent-requests/{request_id}/approve", {}, citizen.token))
    consent_id = _ok(wallet.get(f"/consent-requests/{request_id}", token=officer))["consent_id"]

    path = "/agency/counter-dossiers"
    incomplete = wallet.post(path, {"consent_id": consent_id, "procedure_code": PASSPORT}, officer)
    assert incomplete.status_code == 422, incomplete.text  # the request's kind is asked, not on any paper
    filing = {"consent_id": consent_id, "procedure_code": PASSPORT, "fields": {"request_kind": "lan_dau"}}
    filed = _ok(wallet.post(path, filing, officer), 201)
    assert filed["status"] == "submitted" and filed["dossier_code"] and filed["due_at"], filed

    dossier = _ok(wallet.get(f"/applications/{filed['id']}", token=citizen.token))
    assert dossier["fields"]["full_name"] == citizen.data["full_name"]
    assert dossier["fields"]["place_of_birth"] and dossier["fields"]["request_kind"] == "lan_dau"
    assert {a["type"] for a in dossier["attached_documents"]} >= {"cccd"}
    assert [(e["status"], e["actor"]["type"]) for e in dossier["history"]] == [
        ("draft", "officer"),
        ("submitted", "officer"),
    ]
    assert "Lê Văn Tâm" in dossier["history"][-1]["note"]
    inbox = _ok(wallet.get("/agency/applications", token=officer))["items"]
    assert filed["id"] in {d["id"] for d in inbox}
    log = _ok(wallet.get("/me/access-log", token=citizen.token))["items"]
    assert any(e["action"] == "consent_pull" and e["actor"]["person"] == "Lê Văn Tâm" for e in log)
    filed_by = {e["actor"].get("person") for e in log if e["action"] == "dossier_submitted"}
    assert filed_by == {"Lê Văn Tâm"}, log  # the form and every paper handed over name the officer who filed it

    other = _officer(wallet, f"other_{make_phone()[-6:]}", "Ngô Thị Lan")
    assert wallet.post(path, filing, other).status_code == 404  # another agency's consent is not found
