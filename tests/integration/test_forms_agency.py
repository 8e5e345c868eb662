"""The agency's side of e-forms (API.md: "Once-only e-forms"): its inbox, reading a submitted dossier and its papers
(each read in the citizen's access log), moving the dossier, issuing its result into the citizen's wallet, the
notices the citizen gets on every move, and the statistics. Every test runs on SQLite and PostgreSQL with a frozen
clock."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from api.deps import container_of
from forms.procedure import due_after
from identity.accounts import AccountService
from storage.db import transaction
from tests.factories import e164, last_code, make_phone, outbox_lines
from tests.integration.conftest import Wallet
from tests.integration.forms_helpers import (
    Citizen,
    agency_token,
    agency_tokens,
    asked_values,
    patch,
    procedure,
    start,
    submitted,
)
from tests.integration.wallet_helpers import (
    auth,
    birth_certificate_fields,
    cccd_fields,
    pdf_bytes,
    png_bytes,
    relogin,
    residence_fields,
    sex_of,
    upload,
)

PASSPORT = "passport_issue"  # dealt with by ca_xnc
CRIMINAL = "criminal_record_request"  # dealt with by so_tu_phap
XNC_NAME = "Phòng Quản lý xuất nhập cảnh Công an TP Đà Nẵng"


# -- helpers ------------------------------------------------------------------------------------
def _problem(answer: Any, status: int, code: str) -> None:
    assert answer.status_code == status, answer.text
    assert answer.json()["code"] == code, answer.text


def _ok(answer: Any, status: int = 200) -> dict[str, Any]:
    assert answer.status_code == status, answer.text
    return dict(answer.json())


def _move(wallet: Wallet, token: str, application_id: str, status: str, note: str | None = None) -> Any:
    body: dict[str, Any] = {"status": status} | ({"note": note} if note is not None else {})
    return wallet.post(f"/agency/applications/{application_id}/status", body, token=token)


def _moved(wallet: Wallet, token: str, application_id: str, status: str, note: str | None = None) -> dict[str, Any]:
    return _ok(_move(wallet, token, application_id, status, note))


def _dossier(wallet: Wallet, token: str, application_id: str) -> dict[str, Any]:
    return _ok(wallet.get(f"/agency/applications/{application_id}", token=token))


def _inbox(wallet: Wallet, token: str, **params: Any) -> dict[str, Any]:
    return _ok(wallet.get("/agency/applications", token=token, params=params))


def _access_log(wallet: Wallet, token: str) -> list[dict[str, Any]]:
    return list(_ok(wallet.get("/me/access-log", token=token, params={"limit": 100}))["items"])


def _citizen_id(wallet: Wallet, token: str) -> str:
    return str(_ok(wallet.get("/me", token=token))["id"])


def _officer(wallet: Wallet, agency_code: str) -> str:
    """An officer of the (existing) agency `agency_code`, logged in by phone + PIN + OTP."""
    container = container_of(wallet.app.state)
    phone, pin = make_phone(), "135790"
    with transaction(container.engine) as session:
        AccountService(session, container.identity).create_officer(
            phone=phone, name="Lê Văn Cường", agency_code=agency_code, pin=pin
        )
    challenge = _ok(wallet.post("/auth/login", {"phone": phone, "pin": pin}), 202)
    code = last_code(wallet.outbox, to=e164(phone))
    tokens = _ok(wallet.post("/auth/otp/verify", {"challenge_id": challenge["challenge_id"], "code": code}))
    return str(tokens["access_token"])


def _citizen(wallet: Wallet, *types: str, proofed: bool = False, **overrides: Any) -> Citizen:
    """A registered citizen (at level 2 if `proofed`: a result for level 1 waits, held) whose wallet holds only
    the papers named (few uploads keep the tests fast)."""
    builders: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
        "cccd": lambda d: cccd_fields(d, sex=sex_of(d)),
        "birth_certificate": birth_certificate_fields,
        "residence": residence_fields,
    }
    data, tokens = wallet.register(proofed=proofed, **overrides)
    citizen = Citizen(data, tokens["access_token"])
    for type_code in types:
        citizen.papers[type_code] = _ok(upload(wallet, citizen.token, type_code, builders[type_code](data)), 201)["id"]
    return citizen


def _result_fields(**overrides: Any) -> dict[str, Any]:
    fields = {
        "title": "Quyết định cấp hộ chiếu phổ thông",
        "decision_number": "45/QĐ-XNC",
        "issue_date": "2026-11-24",
        "issued_by": "Phòng Quản lý xuất nhập cảnh",
        "summary": "Cấp hộ chiếu phổ thông cho công dân",
    }
    return fields | overrides


def _file(content: bytes, filename: str = "quyet-dinh.pdf") -> dict[str, str]:
    return {
        "filename": filename,
        "content_type": "application/pdf",
        "content_base64": base64.b64encode(content).decode(),
    }


def _result(wallet: Wallet, token: str, application_id: str, **body: Any) -> Any:
    return wallet.post(
        f"/agency/applications/{application_id}/result", {"fields": _result_fields()} | body, token=token
    )


def _submit(wallet: Wallet, citizen: Citizen, application_id: str) -> dict[str, Any]:
    return _ok(wallet.post(f"/applications/{application_id}/submit", token=citizen.token))


def _started_and_filled(wallet: Wallet, citizen: Citizen, code: str) -> dict[str, Any]:
    application = start(wallet, citizen, code)
    if application["missing_fields"]:
        application = _ok(
            patch(wallet, citizen.token, application["id"], {"fields": asked_values(wallet, application)})
        )
    return application


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


# -- GET /agency/applications -------------------------------------------------------------------
class TestInbox:
    def test_submitted_dossiers_only_filtered_and_paged(self, wallet: Wallet) -> None:
        xnc = agency_token(wallet, "ca_xnc")
        citizen = _citizen(wallet, "cccd", "birth_certificate", "residence")
        draft = start(wallet, citizen, PASSPORT)
        dossiers = []
        for _ in range(3):
            wallet.clock.advance(timedelta(seconds=1))
            dossiers.append(submitted(wallet, citizen, PASSPORT))
        other_procedure = submitted(wallet, citizen, CRIMINAL)
        _moved(wallet, xnc, dossiers[0]["id"], "processing")

        everything = _inbox(wallet, xnc)
        newest_first = [d["id"] for d in reversed(dossiers)]
        assert [item["id"] for item in everything["items"]] == newest_first
        assert everything["next_cursor"] is None
        assert draft["id"] not in newest_first and other_procedure["id"] not in newest_first
        [first] = [item for item in everything["items"] if item["id"] == dossiers[0]["id"]]
        assert (first["status"], first["dossier_code"], first["procedure_code"]) == (
            "processing",
            dossiers[0]["dossier_code"],
            PASSPORT,
        )
        assert "fields" not in first  # the inbox carries no personal data: opening a dossier is logged

        processing = _inbox(wallet, xnc, status="processing")["items"]
        assert [item["id"] for item in processing] == [dossiers[0]["id"]]
        waiting = _inbox(wallet, xnc, status="submitted")["items"]
        assert [item["id"] for item in waiting] == newest_first[:2]
        assert _inbox(wallet, xnc, status="draft")["items"] == []

        page_one = _inbox(wallet, xnc, limit=2)
        assert len(page_one["items"]) == 2 and page_one["next_cursor"] is not None
        page_two = _inbox(wallet, xnc, limit=2, cursor=page_one["next_cursor"])
        assert page_two["next_cursor"] is None
        assert [item["id"] for item in page_one["items"] + page_two["items"]] == newest_first

    def test_another_agency_sees_nothing_and_gets_404(self, wallet: Wallet) -> None:
        xnc = agency_token(wallet, "ca_xnc")
        bhxh = agency_token(wallet, "bhxh")
        citizen = _citizen(wallet, "cccd", "birth_certificate")
        dossier = submitted(wallet, citizen, PASSPORT)

        assert _inbox(wallet, bhxh) == {"items": [], "next_cursor": None}
        path = f"/agency/applications/{dossier['id']}"
        _problem(wallet.get(path, token=bhxh), 404, "application_not_found")
        cccd = citizen.papers["cccd"]
        _problem(wallet.get(f"{path}/documents/{cccd}", token=bhxh), 404, "application_not_found")
        _problem(_move(wallet, bhxh, dossier["id"], "processing"), 404, "application_not_found")
        _problem(_result(wallet, bhxh, dossier["id"]), 404, "application_not_found")
        # The same answer as for a dossier that does not exist.
        _problem(wallet.get("/agency/applications/no-such-dossier", token=xnc), 404, "application_not_found")
        # Nothing moved, nothing was issued, nothing was logged in the name of the other agency.
        assert _dossier(wallet, xnc, dossier["id"])["status"] == "submitted"
        documents = _ok(wallet.get("/documents", token=citizen.token))["items"]
        assert "tthc_result" not in {d["type"] for d in documents}
        assert {e["actor"]["code"] for e in _access_log(wallet, citizen.token)} == {"ca_xnc"}

    def test_an_officer_of_the_agency_may_act(self, wallet: Wallet) -> None:
        agency_token(wallet, "ca_xnc", name=XNC_NAME)
        officer = _officer(wallet, "ca_xnc")
        citizen = _citizen(wallet, "cccd", "birth_certificate")
        dossier = submitted(wallet, citizen, PASSPORT)

        assert [item["id"] for item in _inbox(wallet, officer)["items"]] == [dossier["id"]]
        assert _dossier(wallet, officer, dossier["id"])["dossier_code"] == dossier["dossier_code"]
        moved = _moved(wallet, officer, dossier["id"], "processing", "Cán bộ tiếp nhận")
        assert moved["history"][-1]["status"] == "processing"
        assert moved["history"][-1]["actor"] == {"type": "officer", "code": "ca_xnc"}
        [read] = [e for e in _access_log(wallet, citizen.token) if e["action"] == "dossier_read"]
        assert read["actor"] == {"type": "officer", "code": "ca_xnc", "name": XNC_NAME, "person": "Lê Văn Cường"}

    def test_an_officer_of_another_agency_gets_404(self, wallet: Wallet) -> None:
        agency_token(wallet, "ca_xnc")
        agency_token(wallet, "bhxh")
        officer = _officer(wallet, "bhxh")
        citizen = _citizen(wallet, "cccd", "birth_certificate")
        dossier = submitted(wallet, citizen, PASSPORT)
        assert _inbox(wallet, officer)["items"] == []
        _problem(wallet.get(f"/agency/applications/{dossier['id']}", token=officer), 404, "application_not_found")
        _problem(_move(wallet, officer, dossier["id"], "processing"), 404, "application_not_found")

    def test_a_citizen_is_403_and_no_token_401(self, wallet: Wallet) -> None:
        citizen = _citizen(wallet, "cccd", "birth_certificate")
        dossier = submitted(wallet, citizen, PASSPORT)
        path = f"/agency/applications/{dossier['id']}"
        assert wallet.get("/agency/applications", token=citizen.token).status_code == 403
        assert wallet.get(path, token=citizen.token).status_code == 403
        assert _move(wallet, citizen.token, dossier["id"], "processing").status_code == 403
        assert _result(wallet, citizen.token, dossier["id"]).status_code == 403
        assert wallet.get("/agency/applications").status_code == 401
        assert wallet.get(path).status_code == 401
        assert wallet.post(f"{path}/status", {"status": "processing"}).status_code == 401
        assert wallet.post(f"{path}/result", {"fields": _result_fields()}).status_code == 401
        assert _ok(wallet.get(f"/applications/{dossier['id']}", token=citizen.token))["status"] == "submitted"


# -- GET /agency/applications/{id}, its papers and files ---------------------------------------------
class TestReading:
    def test_the_values_frozen_at_submission_and_each_read_logged(self, wallet: Wallet) -> None:
        xnc = agency_token(wallet, "ca_xnc", name=XNC_NAME)
        citizen = _citizen(wallet, "cccd", "birth_certificate")
        dossier = submitted(wallet, citizen, PASSPORT)
        cccd, birth = citizen.papers["cccd"], citizen.papers["birth_certificate"]
        # The citizen renews the CCCD afterwards: the agency still reads what was submitted.
        moved_to = "99 Bạch Đằng, Hải Châu, Đà Nẵng"
        fields_v2 = cccd_fields(citizen.data, sex=sex_of(citizen.data), place_of_residence=moved_to)
        renewed = upload(wallet, citizen.token, "cccd", fields_v2, method="PUT", document_id=cccd)
        assert _ok(renewed)["version"] == 2

        wallet.clock.advance(timedelta(seconds=5))
        read = _dossier(wallet, xnc, dossier["id"])
        assert read["fields"] == dossier["fields"]
        assert read["fields"]["permanent_address"] != moved_to
        assert (read["dossier_code"], read["status"], read["procedure_code"]) == (
            dossier["dossier_code"],
            "submitted",
            PASSPORT,
        )
        assert read["procedure_name"] == procedure(wallet, PASSPORT)["name"]
        attached = {d["type"]: (d["document_id"], d["version"]) for d in read["attached_documents"]}
        assert attached == {"cccd": (cccd, 1), "birth_certificate": (birth, 1)}
        assert read["result"] is None
        assert [(e["status"], e["actor"]["type"]) for e in read["history"]] == [
            ("draft", "citizen"),
            ("submitted", "citizen"),
        ]

        log = _access_log(wallet, citizen.token)
        reads = [e for e in log if e["action"] == "dossier_read"]
        assert len(reads) == 1
        assert reads[0]["actor"] == {"type": "agency", "code": "ca_xnc", "name": XNC_NAME}
        assert reads[0]["purpose"] == f"Hồ sơ {dossier['dossier_code']}: {read['procedure_name']}"
        assert _at(reads[0]["at"]) == wallet.clock.now()
        _dossier(wallet, xnc, dossier["id"])
        assert len([e for e in _access_log(wallet, citizen.token) if e["action"] == "dossier_read"]) == 2

    def test_a_paper_at_its_frozen_version(self, wallet: Wallet) -> None:
        xnc = agency_token(wallet, "ca_xnc", name=XNC_NAME)
        citizen = _citizen(wallet, "cccd", "birth_certificate")
        data_fields = cccd_fields(citizen.data, sex=sex_of(citizen.data))
        dossier = submitted(wallet, citizen, PASSPORT)
        cccd = citizen.papers["cccd"]
        fields_v2 = data_fields | {"place_of_residence": "99 Bạch Đằng, Hải Châu, Đà Nẵng"}
        assert upload(wallet, citizen.token, "cccd", fields_v2, method="PUT", document_id=cccd).status_code == 200
        current = _ok(wallet.get(f"/documents/{cccd}", token=citizen.token))
        assert (current["version"], current["fields"]["place_of_residence"]) == (2, fields_v2["place_of_residence"])

        paper = _ok(wallet.get(f"/agency/applications/{dossier['id']}/documents/{cccd}", token=xnc))
        assert paper["version"] == 1
        assert paper["fields"] == data_fields
        assert paper["fields"] != current["fields"]

        [entry] = [e for e in _access_log(wallet, citizen.token) if e["action"] == "dossier_document_read"]
        assert entry["document_id"] == cccd
        assert entry["actor"] == {"type": "agency", "code": "ca_xnc", "name": XNC_NAME}
        assert entry["purpose"] == f"Hồ sơ {dossier['dossier_code']}: {dossier['procedure_name']}"

    def test_a_paper_not_attached_is_404(self, wallet: Wallet) -> None:
        xnc = agency_token(wallet, "ca_xnc")
        citizen = _citizen(wallet, "cccd", "birth_certificate", "residence")  # a residence paper passports ignore
        dossier = submitted(wallet, citizen, PASSPORT)
        assert "residence" not in {d["type"] for d in dossier["attached_documents"]}
        base = f"/agency/applications/{dossier['id']}/documents"
        _problem(wallet.get(f"{base}/{citizen.papers['residence']}", token=xnc), 404, "application_not_found")
        _problem(wallet.get(f"{base}/no-such-paper", token=xnc), 404, "application_not_found")
        other = _citizen(wallet, "cccd")
        _problem(wallet.get(f"{base}/{other.papers['cccd']}", token=xnc), 404, "application_not_found")
        logged = {e["action"] for e in _access_log(wallet, citizen.token)}
        assert "dossier_document_read" not in logged

    def test_a_scan_downloads_byte_exact_and_is_logged(self, wallet: Wallet) -> None:
        xnc = agency_token(wallet, "ca_xnc")
        data, tokens = wallet.register()
        citizen = Citizen(data, tokens["access_token"])
        scan = png_bytes("mặt trước CCCD")
        cccd = _ok(
            upload(wallet, citizen.token, "cccd", cccd_fields(data, sex=sex_of(data)), [("cccd.png", scan)]), 201
        )
        birth = _ok(upload(wallet, citizen.token, "birth_certificate", birth_certificate_fields(data)), 201)
        citizen.papers = {"cccd": cccd["id"], "birth_certificate": birth["id"]}
        dossier = submitted(wallet, citizen, PASSPORT)

        base = f"/agency/applications/{dossier['id']}/documents/{cccd['id']}"
        [file] = _ok(wallet.get(base, token=xnc))["files"]
        assert (file["content_type"], file["size"]) == ("image/png", len(scan))
        download = wallet.get(f"{base}/files/{file['id']}", token=xnc)
        assert download.status_code == 200, download.text
        assert download.content == scan
        assert download.headers["content-type"].startswith("image/png")

        [entry] = [e for e in _access_log(wallet, citizen.token) if e["action"] == "dossier_file_read"]
        assert entry["document_id"] == cccd["id"]
        assert entry["actor"]["code"] == "ca_xnc"
        _problem(wallet.get(f"{base}/files/no-such-file", token=xnc), 404, "application_not_found")
        # Another agency cannot fetch the file, although it exists.
        other = agency_token(wallet, "bhxh")
        _problem(wallet.get(f"{base}/files/{file['id']}", token=other), 404, "application_not_found")
        assert len([e for e in _access_log(wallet, citizen.token) if e["action"] == "dossier_file_read"]) == 1


# -- POST /agency/applications/{id}/status -----------------------------------------------------------
class TestTransitions:
    def test_needs_info_round_trip_keeps_the_dossier_code(self, wallet: Wallet) -> None:
        xnc = agency_token(wallet, "ca_xnc")
        citizen = _citizen(wallet, "cccd", "birth_certificate")
        dossier = submitted(wallet, citizen, PASSPORT)
        assert dossier["fields"]["request_kind"] != "bi_mat"

        wallet.clock.advance(timedelta(minutes=1))
        processing = _moved(wallet, xnc, dossier["id"], "processing", "Đang thẩm định")
        assert processing["status"] == "processing"
        _problem(
            patch(wallet, citizen.token, dossier["id"], {"fields": {"request_kind": "bi_mat"}}),
            409,
            "application_not_editable",
        )
        wallet.clock.advance(timedelta(minutes=1))
        asked = "Đề nghị ghi rõ lý do: hộ chiếu cũ bị mất"
        needs_info = _moved(wallet, xnc, dossier["id"], "needs_info", asked)
        assert needs_info["status"] == "needs_info"

        wallet.clock.advance(timedelta(minutes=1))
        amended = _ok(patch(wallet, citizen.token, dossier["id"], {"fields": {"request_kind": "bi_mat"}}))
        assert amended["status"] == "needs_info"
        # The agency still reads the values of the last submission until the citizen resubmits.
        assert _dossier(wallet, xnc, dossier["id"])["fields"]["request_kind"] == dossier["fields"]["request_kind"]
        resubmitted = _submit(wallet, citizen, dossier["id"])
        assert (resubmitted["status"], resubmitted["dossier_code"]) == ("submitted", dossier["dossier_code"])
        assert resubmitted["submitted_at"] == dossier["submitted_at"]  # the first submission stays the reference
        # the processing time restarts from the complete dossier: 8 working days for a passport
        assert _at(dossier["due_at"]) == due_after(_at(dossier["submitted_at"]), 8)
        assert _at(resubmitted["due_at"]) == due_after(wallet.clock.now(), 8) > _at(dossier["due_at"])

        read = _dossier(wallet, xnc, dossier["id"])
        assert read["status"] == "submitted"
        assert read["fields"]["request_kind"] == "bi_mat"
        steps = [(e["status"], e["actor"], e["note"]) for e in read["history"]]
        assert steps == [
            ("draft", {"type": "citizen", "code": None}, None),
            ("submitted", {"type": "citizen", "code": None}, None),
            ("processing", {"type": "agency", "code": "ca_xnc"}, "Đang thẩm định"),
            ("needs_info", {"type": "agency", "code": "ca_xnc"}, asked),
            ("submitted", {"type": "citizen", "code": None}, None),
        ]
        times = [_at(e["at"]) for e in read["history"]]
        assert times == sorted(times) and times[-1] - times[1] == timedelta(minutes=3)
        assert _ok(wallet.get(f"/applications/{dossier['id']}", token=citizen.token))["history"] == read["history"]
        # Back in the agency's hands: it may process it again.
        assert _moved(wallet, xnc, dossier["id"], "processing")["status"] == "processing"

    def test_processing_then_completed(self, wallet: Wallet) -> None:
        xnc = agency_token(wallet, "ca_xnc")
        citizen = _citizen(wallet, "cccd", "birth_certificate")
        dossier = submitted(wallet, citizen, PASSPORT)
        _moved(wallet, xnc, dossier["id"], "processing")
        completed = _moved(wallet, xnc, dossier["id"], "completed", "Đã trả kết quả tại bộ phận một cửa")
        assert completed["status"] == "completed" and completed["result"] is None
        assert [e["status"] for e in completed["history"]] == ["draft", "submitted", "processing", "completed"]
        assert completed["history"][-1]["note"] == "Đã trả kết quả tại bộ phận một cửa"
        assert _ok(wallet.get(f"/applications/{dossier['id']}", token=citizen.token))["status"] == "completed"
        assert [i["id"] for i in _inbox(wallet, xnc, status="completed")["items"]] == [dossier["id"]]

    def test_a_rejection_needs_its_reason(self, wallet: Wallet) -> None:
        xnc = agency_token(wallet, "ca_xnc")
        citizen = _citizen(wallet, "cccd", "birth_certificate")
        dossier = submitted(wallet, citizen, PASSPORT)
        _problem(_move(wallet, xnc, dossier["id"], "rejected"), 422, "validation_failed")
        _problem(_move(wallet, xnc, dossier["id"], "rejected", "   "), 422, "validation_failed")
        assert _dossier(wallet, xnc, dossier["id"])["status"] == "submitted"

        reason = "Ảnh chân dung không đúng quy cách"
        rejected = _moved(wallet, xnc, dossier["id"], "rejected", reason)
        assert rejected["status"] == "rejected"
        assert rejected["history"][-1] == rejected["history"][-1] | {
            "status": "rejected",
            "actor": {"type": "agency", "code": "ca_xnc"},
            "note": reason,
        }
        mine = _ok(wallet.get(f"/applications/{dossier['id']}", token=citizen.token))
        assert (mine["status"], mine["history"][-1]["note"]) == ("rejected", reason)
        # A rejected dossier is final for the citizen too.
        _problem(patch(wallet, citizen.token, dossier["id"], {"fields": {}}), 409, "application_not_editable")
        _problem(_move(wallet, xnc, dossier["id"], "processing"), 409, "invalid_status_transition")

    def test_invalid_moves_are_refused_and_change_nothing(self, wallet: Wallet) -> None:
        xnc = agency_token(wallet, "ca_xnc")
        citizen = _citizen(wallet, "cccd", "birth_certificate")
        done, waiting = submitted(wallet, citizen, PASSPORT), submitted(wallet, citizen, PASSPORT)
        draft = _started_and_filled(wallet, citizen, PASSPORT)
        _moved(wallet, xnc, done["id"], "completed")
        _moved(wallet, xnc, waiting["id"], "needs_info", "Thiếu ảnh")

        for application_id, target in (
            (done["id"], "processing"),
            (done["id"], "needs_info"),
            (done["id"], "completed"),
            (waiting["id"], "processing"),
            (waiting["id"], "needs_info"),
            (waiting["id"], "completed"),
        ):
            _problem(_move(wallet, xnc, application_id, target), 409, "invalid_status_transition")
        for target in ("foo", "submitted", "draft", ""):
            _problem(_move(wallet, xnc, waiting["id"], target), 422, "validation_failed")
        # Drafts are invisible to the agency.
        _problem(_move(wallet, xnc, draft["id"], "processing"), 404, "application_not_found")

        assert _dossier(wallet, xnc, done["id"])["status"] == "completed"
        assert len(_dossier(wallet, xnc, done["id"])["history"]) == 3
        assert _dossier(wallet, xnc, waiting["id"])["status"] == "needs_info"
        assert _ok(wallet.get(f"/applications/{draft['id']}", token=citizen.token))["status"] == "draft"


# -- POST /agency/applications/{id}/result -----------------------------------------------------------
class TestResult:
    def test_the_result_lands_in_the_wallet_signed_and_verifies(self, wallet: Wallet) -> None:
        xnc = agency_token(wallet, "ca_xnc", name=XNC_NAME)
        citizen = _citizen(wallet, "cccd", "birth_certificate", proofed=True)
        dossier = submitted(wallet, citizen, PASSPORT)
        _moved(wallet, xnc, dossier["id"], "processing")
        scan = pdf_bytes("quyết định cấp hộ chiếu")

        answer = _result(wallet, xnc, dossier["id"], file=_file(scan))
        issued = _ok(answer, 201)
        assert set(issued) == {"id", "verification", "application_id", "status"}
        assert (issued["application_id"], issued["status"]) == (dossier["id"], "completed")
        token = issued["verification"]["token"]
        public_url = wallet.settings.resolved_public_url
        assert issued["verification"]["url"] == f"{public_url}/api/v1/verify/documents?token={token}"

        listed = {d["id"]: d for d in _ok(wallet.get("/documents", token=citizen.token))["items"]}
        paper = listed[issued["id"]]
        assert (paper["type"], paper["source"], paper["provenance"], paper["status"]) == (
            "tthc_result",
            "issuer",
            "issuer_signed",
            "active",
        )
        assert paper["issuer"] == {"code": "ca_xnc", "name": XNC_NAME}
        assert paper["fields"] == _result_fields() | {"procedure_code": PASSPORT}
        [file] = paper["files"]
        download = wallet.get(f"/documents/{issued['id']}/files/{file['id']}", token=citizen.token)
        assert download.content == scan

        verified = _ok(wallet.client.get("/api/v1/verify/documents", params={"token": token}))
        assert (verified["valid"], verified["status"]) == (True, "active")
        assert verified["document"]["dossier_code"] == dossier["dossier_code"]
        assert verified["document"]["procedure_code"] == PASSPORT
        assert verified["document"]["issuer"]["code"] == "ca_xnc"

        read = _dossier(wallet, xnc, dossier["id"])
        assert (read["status"], read["result"]) == ("completed", {"document_id": issued["id"]})
        assert read["history"][-1]["status"] == "completed"
        assert read["history"][-1]["actor"] == {"type": "agency", "code": "ca_xnc"}
        mine = _ok(wallet.get(f"/applications/{dossier['id']}", token=citizen.token))
        assert (mine["status"], mine["result"]) == ("completed", {"document_id": issued["id"]})

        _problem(_result(wallet, xnc, dossier["id"]), 409, "invalid_status_transition")
        results = [d for d in _ok(wallet.get("/documents", token=citizen.token))["items"] if d["type"] == "tthc_result"]
        assert len(results) == 1

    def test_a_result_straight_from_submitted_with_an_explicit_procedure_code(self, wallet: Wallet) -> None:
        xnc = agency_token(wallet, "ca_xnc")
        citizen = _citizen(wallet, "cccd", "birth_certificate", proofed=True)
        dossier = submitted(wallet, citizen, PASSPORT)
        issued = _ok(_result(wallet, xnc, dossier["id"], national_id=citizen.data["national_id"]), 201)
        paper = _ok(wallet.get(f"/documents/{issued['id']}", token=citizen.token))
        assert paper["fields"]["procedure_code"] == PASSPORT and paper["files"] == []
        assert _dossier(wallet, xnc, dossier["id"])["status"] == "completed"

    def test_a_result_for_a_level_1_applicant_waits_until_level_2(self, wallet: Wallet) -> None:
        xnc = agency_token(wallet, "ca_xnc")
        citizen = _citizen(wallet, "cccd", "birth_certificate")
        dossier = submitted(wallet, citizen, PASSPORT)
        issued = _ok(_result(wallet, xnc, dossier["id"]), 201)
        assert _dossier(wallet, xnc, dossier["id"])["status"] == "completed"
        _problem(wallet.get(f"/documents/{issued['id']}", token=citizen.token), 404, "document_not_found")
        assert _ok(wallet.get("/me", token=citizen.token))["held_papers"] == 1
        wallet.proof(citizen.token)
        assert _ok(wallet.get(f"/documents/{issued['id']}", token=citizen.token))["type"] == "tthc_result"

    def test_refused_results_issue_nothing(self, wallet: Wallet) -> None:
        xnc = agency_token(wallet, "ca_xnc")
        citizen = _citizen(wallet, "cccd", "birth_certificate")
        someone_else = wallet.register()[0]
        waiting, open_ = submitted(wallet, citizen, PASSPORT), submitted(wallet, citizen, PASSPORT)
        _moved(wallet, xnc, waiting["id"], "needs_info", "Thiếu ảnh")

        _problem(_result(wallet, xnc, waiting["id"]), 409, "invalid_status_transition")
        _problem(_result(wallet, xnc, open_["id"], national_id=someone_else["national_id"]), 422, "validation_failed")
        bad_file = {"filename": "a.pdf", "content_base64": "%%% not base64 %%%"}
        _problem(_result(wallet, xnc, open_["id"], file=bad_file), 422, "validation_failed")
        _problem(_result(wallet, xnc, open_["id"], unexpected=1), 422, "validation_failed")
        _problem(
            _result(wallet, xnc, open_["id"], fields=_result_fields(issue_date="hôm qua")), 422, "validation_failed"
        )
        malformed = wallet.client.post(
            f"/api/v1/agency/applications/{open_['id']}/result", content=b"{not json", headers=auth(xnc)
        )
        _problem(malformed, 400, "malformed_request")

        assert _dossier(wallet, xnc, waiting["id"])["status"] == "needs_info"
        assert (_dossier(wallet, xnc, open_["id"])["status"], _dossier(wallet, xnc, open_["id"])["result"]) == (
            "submitted",
            None,
        )
        for owner in (citizen.token, wallet.register()[1]["access_token"]):
            types = {d["type"] for d in _ok(wallet.get("/documents", token=owner))["items"]}
            assert "tthc_result" not in types


class TestScopes:
    """Dossiers need `applications:process`; a result also needs `documents:issue` (a token narrowed to others, or an
    agency not holding them, is refused before anything is read or issued)."""

    def test_each_scope_guards_its_part(self, wallet: Wallet) -> None:
        process_only, issue_only = agency_tokens(wallet, "ca_xnc", "applications:process", "documents:issue")
        citizen = _citizen(wallet, "cccd", "birth_certificate", proofed=True)
        dossier = submitted(wallet, citizen, PASSPORT)

        _problem(wallet.get("/agency/applications", token=issue_only), 403, "insufficient_scope")
        _problem(wallet.get(f"/agency/applications/{dossier['id']}", token=issue_only), 403, "insufficient_scope")
        _problem(_move(wallet, issue_only, dossier["id"], "processing"), 403, "insufficient_scope")
        _moved(wallet, process_only, dossier["id"], "processing")
        _problem(_result(wallet, process_only, dossier["id"]), 403, "insufficient_scope")
        _problem(_result(wallet, issue_only, dossier["id"]), 403, "insufficient_scope")
        assert _dossier(wallet, process_only, dossier["id"])["result"] is None
        assert "tthc_result" not in {d["type"] for d in _ok(wallet.get("/documents", token=citizen.token))["items"]}


# -- notices on every move -----------------------------------------------------------------------
Change = tuple[str, str | None, str, list[dict[str, Any]]]  # status, note, dossier code, outbox lines it wrote


def _every_move(wallet: Wallet, citizen: Citizen, xnc: str) -> list[Change]:
    """Drive one dossier through every status (and reject a second one); returns what each change wrote."""
    seen = len(outbox_lines(wallet.outbox))

    def written() -> list[dict[str, Any]]:
        nonlocal seen
        lines = outbox_lines(wallet.outbox)
        new, seen = lines[seen:], len(lines)
        return new

    application = _started_and_filled(wallet, citizen, PASSPORT)
    assert written() == []  # a draft notifies nobody
    changes: list[Change] = []
    code = ""
    steps: list[tuple[str, str | None]] = [
        ("submitted", None),
        ("processing", None),
        ("needs_info", "Vui lòng bổ sung ảnh chân dung nền trắng"),
        ("submitted", None),
        ("completed", None),
    ]
    for status, note in steps:
        wallet.clock.advance(timedelta(seconds=10))
        if status == "submitted":
            code = _submit(wallet, citizen, application["id"])["dossier_code"]
        elif status == "completed":
            _ok(_result(wallet, xnc, application["id"]), 201)
        else:
            _moved(wallet, xnc, application["id"], status, note)
        changes.append((status, note, code, written()))
    wallet.clock.advance(timedelta(seconds=10))
    other = submitted(wallet, citizen, PASSPORT)
    changes.append(("submitted", None, other["dossier_code"], written()))
    wallet.clock.advance(timedelta(seconds=10))
    _moved(wallet, xnc, other["id"], "rejected", "Hồ sơ không hợp lệ")
    changes.append(("rejected", "Hồ sơ không hợp lệ", other["dossier_code"], written()))
    return changes


class TestNotices:
    def test_every_move_is_told_by_sms_email_and_in_app(self, wallet: Wallet) -> None:
        xnc = agency_token(wallet, "ca_xnc")
        email = "an.nguyen@example.vn"
        citizen = _citizen(wallet, "cccd", "birth_certificate", proofed=True, email=email)
        _ok(wallet.post("/me/notifications/read-all", token=citizen.token))  # the setup's proofing notice
        citizen_id = _citizen_id(wallet, citizen.token)
        name = procedure(wallet, PASSPORT)["name"]

        changes = _every_move(wallet, citizen, xnc)
        subjects = []
        for status, note, code, lines in changes:
            by_channel = sorted((line["channel"], line["to"]) for line in lines)
            expected = [("email", email), ("in_app", citizen_id), ("sms", e164(citizen.data["phone"]))]
            assert by_channel == expected, (status, lines)
            assert len({(line["subject"], line["body"]) for line in lines}) == 1, status
            subject, body = lines[0]["subject"], lines[0]["body"]
            assert subject.startswith(f"Hồ sơ {code}: "), subject
            assert name in body and code in body, body
            if note:
                assert f"Ghi chú: {note}" in body
            else:
                assert "Ghi chú" not in body
            subjects.append(subject)
        # Each kind of move reads differently; a resubmission reads like the first submission.
        labels = {status: subject.split(": ", 1)[1] for (status, *_), subject in zip(changes, subjects, strict=True)}
        assert len(set(labels.values())) == 5
        assert subjects[0] == subjects[3]

        inbox = _ok(wallet.get("/me/notifications", token=citizen.token))
        moves = inbox["items"][: len(subjects)]  # the oldest notice, read, tells of the setup's counter proofing
        assert [item["subject"] for item in moves] == list(reversed(subjects))
        assert all(item["read"] is False and item["read_at"] is None for item in moves)
        created = [_at(item["created_at"]) for item in moves]
        assert created == sorted(created, reverse=True) and len(set(created)) == len(created)
        assert inbox["unread_count"] == len(subjects)

    def test_without_email_sms_and_in_app_only(self, wallet: Wallet) -> None:
        xnc = agency_token(wallet, "ca_xnc")
        citizen = _citizen(wallet, "cccd", "birth_certificate")
        assert "email" not in citizen.data
        citizen_id = _citizen_id(wallet, citizen.token)
        before = len(outbox_lines(wallet.outbox))
        dossier = submitted(wallet, citizen, PASSPORT)
        wallet.clock.advance(timedelta(seconds=1))
        _moved(wallet, xnc, dossier["id"], "processing")
        lines = outbox_lines(wallet.outbox)[before:]
        assert sorted((line["channel"], line["to"]) for line in lines) == sorted(
            [("sms", e164(citizen.data["phone"])), ("in_app", citizen_id)] * 2
        )
        inbox = _ok(wallet.get("/me/notifications", token=citizen.token))["items"]
        assert [item["subject"].startswith(f"Hồ sơ {dossier['dossier_code']}: ") for item in inbox] == [True, True]


# -- GET /stats ---------------------------------------------------------------------------------------
def _stats(wallet: Wallet, token: str) -> dict[str, dict[str, Any]]:
    report = _ok(wallet.get("/stats", token=token))
    codes = [item["procedure_code"] for item in report["items"]]
    assert len(codes) == len(set(codes))
    return {item["procedure_code"]: item for item in report["items"]}


def _upload_into(wallet: Wallet, citizen: Citizen, application_id: str, type_code: str, fields: Any) -> dict[str, Any]:
    data = {"type": type_code, "fields": json.dumps(fields, ensure_ascii=False)}
    answer = wallet.client.post(
        f"/api/v1/applications/{application_id}/documents", data=data, headers=auth(citizen.token)
    )
    return _ok(answer, 201)


@dataclass
class Scenario:
    """A small known set of dossiers: two passports submitted 660 s (with a token refresh on the way) and 90 s
    after their logins, one passport draft kept and one deleted, a criminal-record request with a paper uploaded
    through it, then rejected."""

    xnc: str
    tu_phap: str
    first: dict[str, Any]  # a passport completed 400 s after it was taken up, rated 5
    second: dict[str, Any]  # a passport left submitted, rated 2
    criminal: dict[str, Any]  # rejected at once, rated 4


def _scenario(wallet: Wallet) -> Scenario:
    full = _citizen(wallet, "cccd", "birth_certificate")
    bare = _citizen(wallet, "cccd")  # no birth certificate: more of the passport form is asked

    login = relogin(wallet, full.data)
    full.token = login["access_token"]
    first = _started_and_filled(wallet, full, PASSPORT)
    assert start(wallet, full, PASSPORT)["status"] == "draft"
    dropped = start(wallet, full, PASSPORT)
    assert wallet.client.delete(f"/api/v1/applications/{dropped['id']}", headers=auth(full.token)).status_code == 204
    wallet.clock.advance(timedelta(seconds=600))
    # A refreshed token is still the same login: the time counts from the PIN + OTP, not from the refresh.
    full.token = _ok(wallet.post("/auth/refresh", {"refresh_token": login["refresh_token"]}))["access_token"]
    wallet.clock.advance(timedelta(seconds=60))
    first = _submit(wallet, full, first["id"])

    bare.token = relogin(wallet, bare.data)["access_token"]
    second = _started_and_filled(wallet, bare, PASSPORT)
    wallet.clock.advance(timedelta(seconds=90))
    second = _submit(wallet, bare, second["id"])

    criminal = start(wallet, bare, CRIMINAL)
    assert criminal["missing_documents"] == ["residence"]
    criminal = _upload_into(wallet, bare, criminal["id"], "residence", residence_fields(bare.data))
    criminal = _ok(patch(wallet, bare.token, criminal["id"], {"fields": asked_values(wallet, criminal)}))
    wallet.clock.advance(timedelta(seconds=30))
    criminal = _submit(wallet, bare, criminal["id"])
    tu_phap = agency_token(wallet, "so_tu_phap")
    _moved(wallet, tu_phap, criminal["id"], "rejected", "Thiếu thông tin")

    xnc = agency_token(wallet, "ca_xnc")  # agency tokens live 15 minutes: taken when the agency acts
    _moved(wallet, xnc, first["id"], "processing")
    wallet.clock.advance(timedelta(seconds=400))
    _moved(wallet, xnc, first["id"], "completed")
    _ok(wallet.post(f"/applications/{first['id']}/rating", {"score": 5}, token=full.token), 201)
    _ok(wallet.post(f"/applications/{second['id']}/rating", {"score": 2}, token=bare.token), 201)
    _ok(wallet.post(f"/applications/{criminal['id']}/rating", {"score": 4}, token=bare.token), 201)
    return Scenario(xnc, tu_phap, first, second, criminal)


def _counts(item: dict[str, Any]) -> dict[str, Any]:
    # The figures API.md names; the later additions (overdue, processing_days) have tests of their own.
    left_out = {"procedure_code", "procedure_name", "agency", "overdue", "processing_days"}
    return {k: v for k, v in item.items() if k not in left_out}


class TestStats:
    def test_figures_match_the_dossiers(self, wallet: Wallet) -> None:
        seen = _scenario(wallet)
        admin = agency_token(wallet, "bo_cong_an", scopes=("admin",))

        # What the dossiers themselves say.
        passports = [seen.first, seen.second]
        assert len(seen.first["prefilled"]) != len(seen.second["prefilled"])
        ratio = sum(len(d["prefilled"]) for d in passports) / sum(len(d["fields"]) for d in passports)
        reused = sum(1 for d in passports for a in d["attached_documents"] if a["origin"] != "uploaded")
        mine = _stats(wallet, seen.xnc)
        ours = [p["code"] for p in _ok(wallet.get("/procedures"))["items"] if p["agency"]["code"] == "ca_xnc"]
        assert list(mine) == ours == [PASSPORT]
        figures = mine[PASSPORT]
        assert (figures["agency"]["code"], figures["procedure_name"]) == ("ca_xnc", seen.first["procedure_name"])
        assert _counts(figures) == {
            "started": 3,  # the deleted draft does not count, the kept one does
            "submitted": 2,
            "completed": 1,
            "rejected": 0,
            "median_seconds_login_to_submission": (660 + 90) / 2,
            "prefill_ratio": ratio,
            "papers_reused": reused,
            "papers_uploaded": 0,
            "ratings": 2,
            "satisfaction_rate": 0.5,
            "median_processing_seconds": 90 + 30 + 400,  # from the first submission to the decision
        }

        everything = _stats(wallet, admin)
        assert sorted(everything) == sorted(p["code"] for p in _ok(wallet.get("/procedures"))["items"])
        assert len(everything) == 6
        assert everything[PASSPORT] == figures
        criminal = seen.criminal
        assert [a["type"] for a in criminal["attached_documents"] if a["origin"] == "uploaded"] == ["residence"]
        assert _counts(everything[CRIMINAL]) == {
            "started": 1,
            "submitted": 1,
            "completed": 0,
            "rejected": 1,
            "median_seconds_login_to_submission": 90 + 30,  # the citizen logged in before their passport
            "prefill_ratio": len(criminal["prefilled"]) / len(criminal["fields"]),
            "papers_reused": len(criminal["attached_documents"]) - 1,
            "papers_uploaded": 1,
            "ratings": 1,
            "satisfaction_rate": 1.0,
            "median_processing_seconds": 0,
        }
        for code, item in everything.items():
            if code not in {PASSPORT, CRIMINAL}:
                assert (item["started"], item["submitted"], item["ratings"]) == (0, 0, 0), code
                assert (item["prefill_ratio"], item["satisfaction_rate"]) == (None, None), code
                assert item["median_seconds_login_to_submission"] is None, code
        assert _stats(wallet, seen.tu_phap).keys() == {CRIMINAL}

    def test_a_paper_added_to_the_wallet_after_the_dossier_began_counts_as_uploaded(self, wallet: Wallet) -> None:
        tu_phap = agency_token(wallet, "so_tu_phap")
        citizen = _citizen(wallet, "cccd")
        dossier = start(wallet, citizen, CRIMINAL)
        assert dossier["missing_documents"] == ["residence"]
        wallet.clock.advance(timedelta(seconds=5))
        _ok(upload(wallet, citizen.token, "residence", residence_fields(citizen.data)), 201)  # straight to the wallet
        dossier = _ok(wallet.post(f"/applications/{dossier['id']}/refresh", token=citizen.token))
        assert dossier["missing_documents"] == []
        dossier = _ok(patch(wallet, citizen.token, dossier["id"], {"fields": asked_values(wallet, dossier)}))
        _submit(wallet, citizen, dossier["id"])
        figures = _stats(wallet, tu_phap)[CRIMINAL]
        assert (figures["papers_reused"], figures["papers_uploaded"]) == (1, 1)  # the CCCD; the new residence paper

    def test_only_agencies_and_their_officers(self, wallet: Wallet) -> None:
        xnc = agency_token(wallet, "ca_xnc")
        officer = _officer(wallet, "ca_xnc")
        citizen = _citizen(wallet, "cccd")
        assert _stats(wallet, officer) == _stats(wallet, xnc)
        assert _stats(wallet, officer).keys() == {PASSPORT}
        assert wallet.get("/stats", token=citizen.token).status_code == 403
        assert wallet.get("/stats").status_code == 401

    def test_erasing_the_citizen_keeps_the_counters(self, wallet: Wallet) -> None:
        xnc = agency_token(wallet, "ca_xnc")
        citizen = _citizen(wallet, "cccd", "birth_certificate")
        dossier = submitted(wallet, citizen, PASSPORT)
        wallet.clock.advance(timedelta(seconds=45))
        _moved(wallet, xnc, dossier["id"], "completed")
        _ok(
            wallet.post(f"/applications/{dossier['id']}/rating", {"score": 4, "comment": "Nhanh"}, token=citizen.token),
            201,
        )
        before = _stats(wallet, xnc)[PASSPORT]
        assert (before["started"], before["submitted"], before["completed"], before["ratings"]) == (1, 1, 1, 1)

        challenge = _ok(wallet.post("/auth/otp/send", token=citizen.token), 202)
        code = last_code(wallet.outbox, to=e164(citizen.data["phone"]))
        erased = wallet.client.request(
            "DELETE",
            "/api/v1/me",
            json={"code": code, "challenge_id": challenge["challenge_id"]},
            headers=auth(citizen.token),
        )
        assert erased.status_code == 204, erased.text

        assert _stats(wallet, xnc)[PASSPORT] == before
        assert before["median_processing_seconds"] == 45
        _problem(wallet.get(f"/agency/applications/{dossier['id']}", token=xnc), 404, "application_not_found")
        _problem(_move(wallet, xnc, dossier["id"], "rejected", "x"), 404, "application_not_found")
        assert _inbox(wallet, xnc)["items"] == []
