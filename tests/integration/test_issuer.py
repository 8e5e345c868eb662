"""Issuer-signed papers end to end (API.md: "QR identity and verification"): an agency issues into a citizen's
wallet, anyone verifies the printed QR (JSON and a Vietnamese HTML page), the agency revokes. Every test runs on
SQLite and PostgreSQL with a frozen clock."""

from __future__ import annotations

import base64
import hashlib
import itertools
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import jwt
import pytest
import segno
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import update
from sqlmodel import select

from api.deps import container_of
from crypto.derive import BlindIndex
from crypto.keyring import load_keyring
from identity.accounts import AccountService
from storage.db import read_only, transaction
from tests.integration.conftest import Wallet
from tests.integration.wallet_helpers import (
    auth,
    cccd_fields,
    diploma_fields,
    health_insurance_fields,
    pdf_bytes,
    png_bytes,
    upload,
)
from tests.qr_raster import decode_svg
from wallet.attestations import MAX_QR_VERSION, VERIFY_AUDIENCE
from wallet.models import Attestation, Document

_codes = itertools.count(1)
DOSSIER = "000.00.20.H17-261124-0001"
PROCEDURE = "1.001234.000.00.00.H17"
VERIFY = "/verify/documents"
DOCUMENT_KEYS = {
    "type",
    "issuer",
    "issued_at",
    "dossier_code",
    "procedure_code",
    "document_name",
    "issuing_system",
    "valid_until",
    "requester_hash",
    "version",
}


# -- helpers ------------------------------------------------------------------------------------
def _agency(wallet: Wallet, scopes: tuple[str, ...] = ("documents:issue",), name: str = "Sở Tư pháp Đà Nẵng") -> str:
    """A new agency's access token."""
    container = container_of(wallet.app.state)
    code = f"SOTP-{next(_codes)}"
    with transaction(container.engine) as session:
        creds = AccountService(session, container.identity).create_agency(code, name, scopes)
    form = {"grant_type": "client_credentials", "client_id": creds.client_id, "client_secret": creds.client_secret}
    answer = wallet.client.post("/api/v1/oauth/token", data=form)
    assert answer.status_code == 200, answer.text
    return str(answer.json()["access_token"])


def _agency_code(token: str) -> str:
    return str(jwt.decode(token, options={"verify_signature": False})["sub"])


def _result_fields(**overrides: Any) -> dict[str, Any]:
    fields = {
        "procedure_code": PROCEDURE,
        "title": "Giấy chứng nhận đăng ký hộ kinh doanh",
        "decision_number": "123/QĐ-UBND",
        "issue_date": "2026-11-20",
        "issued_by": "UBND quận Hải Châu",
        "summary": "Cấp giấy chứng nhận đăng ký hộ kinh doanh",
    }
    return fields | overrides


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _payload(token: str) -> dict[str, Any]:
    part = token.split(".")[1]
    data: dict[str, Any] = json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))
    return data


@dataclass
class Issuing:
    wallet: Wallet
    citizen: dict[str, Any]
    citizen_token: str
    agency: str

    def issue(self, token: str | None = None, **body: Any) -> Any:
        payload = {"national_id": self.citizen["national_id"], "type": "tthc_result", "fields": _result_fields()}
        return self.wallet.post("/issuer/documents", payload | body, token=token or self.agency)

    def issued(self, **body: Any) -> dict[str, Any]:
        answer = self.issue(**body)
        assert answer.status_code == 201, answer.text
        return dict(answer.json())

    def verify(self, token: str, **headers: str) -> Any:
        return self.wallet.client.get(f"/api/v1{VERIFY}", params={"token": token}, headers=headers)

    def document(self, document_id: str) -> dict[str, Any]:
        answer = self.wallet.get(f"/documents/{document_id}", token=self.citizen_token)
        assert answer.status_code == 200, answer.text
        return dict(answer.json())


@pytest.fixture
def issuing(wallet: Wallet) -> Issuing:
    data, tokens = wallet.register(proofed=True)
    return Issuing(wallet, data, str(tokens["access_token"]), _agency(wallet))


def _file(content: bytes, filename: str = "ket-qua.pdf", content_type: str = "application/pdf") -> dict[str, str]:
    return {"filename": filename, "content_type": content_type, "content_base64": base64.b64encode(content).decode()}


# -- POST /issuer/documents ---------------------------------------------------------------------
class TestIssueDocument:
    def test_a_result_with_a_file_lands_in_the_wallet_signed(self, issuing: Issuing) -> None:
        scan = pdf_bytes("quyết định")
        answer = issuing.issue(file=_file(scan), dossier_code=DOSSIER)
        assert answer.status_code == 201, answer.text
        issued = answer.json()
        assert set(issued) == {"id", "verification"}
        token, url = issued["verification"]["token"], issued["verification"]["url"]
        public_url = issuing.wallet.settings.resolved_public_url
        assert url == f"{public_url}/api/v1/verify/documents?token={token}"

        document = issuing.document(issued["id"])
        assert (document["source"], document["provenance"], document["status"]) == ("issuer", "issuer_signed", "active")
        assert document["issuer"] == {"code": _agency_code(issuing.agency), "name": "Sở Tư pháp Đà Nẵng"}
        assert document["verification"] == issued["verification"]
        assert document["fields"] == _result_fields()
        [file] = document["files"]
        assert (file["filename"], file["content_type"], file["size"]) == ("ket-qua.pdf", "application/pdf", len(scan))
        download = issuing.wallet.get(f"/documents/{issued['id']}/files/{file['id']}", token=issuing.citizen_token)
        assert download.content == scan
        listed = issuing.wallet.get("/documents", token=issuing.citizen_token).json()["items"]
        assert [d["id"] for d in listed] == [issued["id"]]

    def test_a_paper_without_a_file(self, issuing: Issuing) -> None:
        fields = cccd_fields(issuing.citizen)
        issued = issuing.issued(type="cccd", fields=fields)
        document = issuing.document(issued["id"])
        assert (document["type"], document["files"], document["valid_until"]) == ("cccd", [], "2035-03-02")
        claims = _payload(issued["verification"]["token"])
        assert "sha" not in claims and claims["vu"] == "2035-03-02" and claims["name"] == "Căn cước công dân"

    def test_the_file_type_is_sniffed_and_named_by_content(self, issuing: Issuing) -> None:
        issued = issuing.issued(file=_file(png_bytes(), "scan.exe", "application/pdf"))
        [file] = issuing.document(issued["id"])["files"]
        assert (file["filename"], file["content_type"]) == ("scan.png", "image/png")

    def test_a_cccd_is_checked_against_the_citizen(self, issuing: Issuing) -> None:
        other = issuing.wallet.register()[0]
        answer = issuing.issue(type="cccd", fields=cccd_fields(issuing.citizen, number=other["national_id"]))
        assert answer.status_code == 422, answer.text
        assert answer.json()["code"] == "validation_failed"

    def test_invalid_input_is_refused(self, issuing: Issuing) -> None:
        cases: list[tuple[dict[str, Any], int, str]] = [
            ({"fields": _result_fields(issue_date="not a date")}, 422, "validation_failed"),
            ({"type": "banknote"}, 422, "unknown_document_type"),
            ({"national_id": "12345"}, 422, "validation_failed"),
            ({"file": _file(b"")}, 415, "unsupported_file_type"),
            ({"file": _file(b"GIF89a not accepted")}, 415, "unsupported_file_type"),
            ({"file": {"filename": "a.pdf", "content_base64": "%%% not base64 %%%"}}, 422, "validation_failed"),
            ({"procedure_code": "2.000001"}, 422, "validation_failed"),  # differs from fields.procedure_code
            ({"dossier_code": "spaces are not codes"}, 422, "validation_failed"),
            ({"unexpected": 1}, 422, "validation_failed"),
        ]
        for body, status, code in cases:
            answer = issuing.issue(**body)
            assert (answer.status_code, answer.json()["code"]) == (status, code), (body, answer.text)
        expired = health_insurance_fields(issuing.citizen, valid_to="2026-01-01")
        assert issuing.issue(type="health_insurance", fields=expired).status_code == 422
        malformed = issuing.wallet.client.post(
            "/api/v1/issuer/documents", content=b"{not json", headers=auth(issuing.agency)
        )
        assert (malformed.status_code, malformed.json()["code"]) == (400, "malformed_request")
        assert issuing.wallet.get("/documents", token=issuing.citizen_token).json()["items"] == []

    def test_an_unknown_national_id_is_404(self, issuing: Issuing) -> None:
        answer = issuing.issue(national_id="048095999999")
        assert (answer.status_code, answer.json()["code"]) == (404, "citizen_not_found")

    def test_only_an_agency_with_the_scope_may_issue(self, issuing: Issuing) -> None:
        wallet = issuing.wallet
        assert issuing.issue(token=issuing.citizen_token).status_code == 403
        assert issuing.issue(token=_agency(wallet, ("consent:request",))).status_code == 403
        assert wallet.client.post("/api/v1/issuer/documents", json={}).status_code == 401

    def test_a_body_over_the_limit_is_refused_before_it_is_read(self, make_wallet: Any) -> None:
        wallet = make_wallet(max_file_mb=1)
        data, _ = wallet.register()
        body = {"national_id": data["national_id"], "type": "tthc_result", "fields": _result_fields()}
        big = body | {"file": _file(pdf_bytes(padding=2 * 1024 * 1024))}
        answer = wallet.post("/issuer/documents", big, token=_agency(wallet))
        assert (answer.status_code, answer.json()["code"]) == (413, "file_too_large")
        fits = body | {"file": _file(pdf_bytes(padding=900 * 1024))}
        assert wallet.post("/issuer/documents", fits, token=_agency(wallet)).status_code == 201


class TestCitizenSide:
    def test_the_citizen_cannot_edit_but_may_delete(self, issuing: Issuing) -> None:
        issued = issuing.issued()
        edit = upload(
            issuing.wallet, issuing.citizen_token, "tthc_result", _result_fields(title="Sửa"), method="PUT",
            document_id=issued["id"],
        )  # fmt: skip
        assert (edit.status_code, edit.json()["code"]) == (409, "issuer_signed_readonly")
        deleted = issuing.wallet.client.delete(f"/api/v1/documents/{issued['id']}", headers=auth(issuing.citizen_token))
        assert deleted.status_code == 204
        # A printed result still verifies after the citizen deleted the paper from the wallet.
        assert issuing.verify(issued["verification"]["token"]).json()["status"] == "active"

    def test_the_qr_svg_encodes_the_verification_url(self, issuing: Issuing) -> None:
        issued = issuing.issued(dossier_code=DOSSIER)
        answer = issuing.wallet.get(f"/documents/{issued['id']}/qr", token=issuing.citizen_token)
        assert answer.status_code == 200, answer.text
        assert answer.headers["content-type"].startswith("image/svg+xml")
        assert answer.text.startswith("<svg") and "<title>" in answer.text
        [code] = decode_svg(answer.text)
        assert code.text == issued["verification"]["url"]

    def test_only_issuer_signed_papers_have_a_qr(self, issuing: Issuing) -> None:
        own = upload(issuing.wallet, issuing.citizen_token, "diploma", diploma_fields())
        assert own.status_code == 201, own.text
        assert own.json()["verification"] is None
        answer = issuing.wallet.get(f"/documents/{own.json()['id']}/qr", token=issuing.citizen_token)
        assert (answer.status_code, answer.json()["code"]) == (404, "verification_not_found")
        issued = issuing.issued()
        assert issuing.wallet.get(f"/documents/{issued['id']}/qr", token=issuing.agency).status_code == 403
        stranger = issuing.wallet.register()[1]["access_token"]
        assert issuing.wallet.get(f"/documents/{issued['id']}/qr", token=stranger).status_code == 404


# -- the attestation ----------------------------------------------------------------------------
class TestAttestation:
    def test_pyjwt_alone_verifies_it_offline(self, issuing: Issuing) -> None:
        wallet = issuing.wallet
        scan = pdf_bytes("offline")
        issued = issuing.issued(file=_file(scan), dossier_code=DOSSIER)
        token = issued["verification"]["token"]
        ring = load_keyring(wallet.settings.resolved_keyring_file)
        public = {k.kid: k.public_key for k in ring.verification_keys(wallet.clock.now())}
        header = jwt.get_unverified_header(token)
        assert header["alg"] == "EdDSA"
        claims = jwt.decode(
            token,
            public[header["kid"]],
            algorithms=["EdDSA"],
            audience=VERIFY_AUDIENCE,
            issuer=wallet.settings.resolved_public_url,
            options={"require": ["exp", "iat", "sub", "jti"]},
        )
        canonical = json.dumps(_result_fields(), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        assert claims["typ"] == "attestation" and claims["ver"] == 1
        assert claims["fh"] == _b64(hashlib.sha256(canonical.encode()).digest())
        assert claims["sha"] == _b64(hashlib.sha256(scan).digest())
        assert (claims["dossier"], claims["proc"]) == (DOSSIER, PROCEDURE)
        assert claims["name"] == "Giấy chứng nhận đăng ký hộ kinh doanh"
        assert claims["sys"] == f"congdanso:{_agency_code(issuing.agency)}"
        assert claims["iat"] == int(wallet.clock.now().timestamp())
        assert "vu" not in claims  # a TTHC result has no end of validity: the token lives ten years
        assert claims["exp"] - claims["iat"] >= 3650 * 86400
        with pytest.raises(jwt.InvalidSignatureError):
            jwt.decode(token, Ed25519PrivateKey.generate().public_key(), algorithms=["EdDSA"], audience=VERIFY_AUDIENCE)

    def test_pyjwt_verifies_it_with_the_published_jwks(self, issuing: Issuing) -> None:
        answer = issuing.wallet.client.get("/.well-known/jwks.json")
        if answer.status_code != 200:
            pytest.skip("no JWKS endpoint in this build")
        token = issuing.issued()["verification"]["token"]
        key = jwt.PyJWKSet.from_dict(answer.json())[jwt.get_unverified_header(token)["kid"]].key
        assert jwt.decode(token, key, algorithms=["EdDSA"], audience=VERIFY_AUDIENCE)["typ"] == "attestation"

    def test_the_requester_is_only_a_keyed_hash(self, issuing: Issuing) -> None:
        wallet, national_id = issuing.wallet, issuing.citizen["national_id"]
        issued = issuing.issued(type="cccd", fields=cccd_fields(issuing.citizen))
        token = issued["verification"]["token"]
        payload_text = base64.urlsafe_b64decode(token.split(".")[1] + "==").decode()
        assert national_id not in payload_text and national_id not in token
        ring = load_keyring(wallet.settings.resolved_keyring_file)
        keyed = _b64(bytes.fromhex(BlindIndex(ring.index_key, "requester")(national_id)))
        lookup = BlindIndex(ring.index_key, "national_id")(national_id)
        assert _payload(token)["sub"] == keyed
        assert lookup not in payload_text and _b64(bytes.fromhex(lookup)) not in payload_text
        with transaction(read_only(container_of(wallet.app.state).engine)) as session:
            row = session.exec(select(Attestation)).one()
            stored = " ".join(str(v) for v in row.model_dump().values())
        assert national_id not in stored and row.requester_hash == keyed
        assert issuing.verify(token).json()["document"]["requester_hash"] == keyed

    def test_the_printed_qr_stays_at_version_25_or_lower(self, issuing: Issuing) -> None:
        issued = issuing.issued(file=_file(pdf_bytes()), dossier_code=DOSSIER)
        qr = segno.make(issued["verification"]["url"], error="m", boost_error=False, micro=False)
        assert int(qr.version) <= MAX_QR_VERSION
        print(f"attestation: {len(issued['verification']['token'])} chars, URL QR version {qr.version}-M")

    def test_a_long_name_is_shortened_in_the_token_only(self, issuing: Issuing) -> None:
        title = "Giấy chứng nhận quyền sử dụng đất, quyền sở hữu nhà ở và tài sản khác gắn liền với đất " * 5
        fields = _result_fields(title=title.strip(), procedure_code="1.001234.000.00.00.H17-" + "9" * 60)
        issued = issuing.issued(fields=fields, dossier_code="D" * 64, file=_file(pdf_bytes()))
        url = issued["verification"]["url"]
        assert int(segno.make(url, error="m", boost_error=False, micro=False).version) <= MAX_QR_VERSION
        name = _payload(issued["verification"]["token"])["name"]
        assert name.endswith("…") and title.startswith(name[:-1])
        document = issuing.verify(issued["verification"]["token"]).json()["document"]
        assert document["document_name"] == title.strip()


# -- GET /verify/documents ----------------------------------------------------------------------
class TestVerifyDocument:
    def test_an_active_paper_in_json(self, issuing: Issuing) -> None:
        issued = issuing.issued(dossier_code=DOSSIER, file=_file(pdf_bytes()))
        answer = issuing.verify(issued["verification"]["token"])
        assert answer.status_code == 200, answer.text
        assert answer.headers["content-type"].startswith("application/json")
        body = answer.json()
        assert (body["valid"], body["status"], body["reason"]) == (True, "active", None)
        document = body["document"]
        assert set(document) == DOCUMENT_KEYS
        code = _agency_code(issuing.agency)
        assert document | {"requester_hash": None} == {
            "type": "tthc_result",
            "issuer": {"code": code, "name": "Sở Tư pháp Đà Nẵng"},
            "issued_at": "2026-11-24T08:00:00Z",
            "dossier_code": DOSSIER,
            "procedure_code": PROCEDURE,
            "document_name": "Giấy chứng nhận đăng ký hộ kinh doanh",
            "issuing_system": f"congdanso:{code}",
            "valid_until": None,
            "requester_hash": None,
            "version": 1,
        }
        # Nothing of the paper itself: no fields, no person's name.
        assert "123/QĐ-UBND" not in answer.text and issuing.citizen["full_name"] not in answer.text

    def test_an_active_paper_as_a_vietnamese_page(self, issuing: Issuing) -> None:
        issued = issuing.issued(dossier_code=DOSSIER)
        browser = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
        answer = issuing.verify(issued["verification"]["token"], accept=browser)
        assert answer.status_code == 200
        assert answer.headers["content-type"].startswith("text/html")
        csp = answer.headers["content-security-policy"]
        assert csp.startswith("default-src 'none'; style-src 'unsafe-inline'")
        page = answer.text
        assert '<html lang="vi">' in page and "HỢP LỆ" in page and DOSSIER in page and PROCEDURE in page
        assert "Giấy chứng nhận đăng ký hộ kinh doanh" in page and "Không thời hạn" in page
        assert "15:00, 24/11/2026" in page  # the issue time in Vietnam
        for external in ("<script", "src=", "href=", "http://", "https://", "@import", "url("):
            assert external not in page, external

    def test_revocation_takes_effect_on_the_next_verification(self, issuing: Issuing) -> None:
        issued = issuing.issued()
        token = issued["verification"]["token"]
        assert issuing.verify(token).json()["valid"] is True
        answer = issuing.wallet.post(f"/issuer/documents/{issued['id']}/revoke", token=issuing.agency)
        assert answer.status_code == 200, answer.text
        assert answer.json() == {"id": issued["id"], "status": "revoked"}
        body = issuing.verify(token).json()
        assert (body["valid"], body["status"], body["reason"]) == (False, "revoked", "revoked")
        assert body["document"]["dossier_code"] is None
        page = issuing.verify(token, accept="text/html").text
        assert "ĐÃ BỊ THU HỒI" in page and "HỢP LỆ" not in page.replace("KHÔNG HỢP LỆ", "")
        assert issuing.document(issued["id"])["status"] == "revoked"
        again = issuing.wallet.post(f"/issuer/documents/{issued['id']}/revoke", token=issuing.agency)
        assert again.status_code == 200  # idempotent

    def test_only_the_issuing_agency_may_revoke(self, issuing: Issuing) -> None:
        issued = issuing.issued()
        for token in (_agency(issuing.wallet), issuing.agency):
            unknown = issuing.wallet.post("/issuer/documents/no-such-document/revoke", token=token)
            assert (unknown.status_code, unknown.json()["code"]) == (404, "document_not_found")
        other = issuing.wallet.post(f"/issuer/documents/{issued['id']}/revoke", token=_agency(issuing.wallet))
        assert (other.status_code, other.json()["code"]) == (404, "document_not_found")
        citizen = issuing.wallet.post(f"/issuer/documents/{issued['id']}/revoke", token=issuing.citizen_token)
        assert citizen.status_code == 403
        assert issuing.verify(issued["verification"]["token"]).json()["status"] == "active"

    def test_the_issuer_revokes_a_paper_the_citizen_deleted(self, issuing: Issuing) -> None:
        issued = issuing.issued()
        deleted = issuing.wallet.client.delete(f"/api/v1/documents/{issued['id']}", headers=auth(issuing.citizen_token))
        assert deleted.status_code == 204
        assert issuing.wallet.post(f"/issuer/documents/{issued['id']}/revoke", token=issuing.agency).status_code == 200
        assert issuing.verify(issued["verification"]["token"]).json()["status"] == "revoked"

    def test_expired_once_past_its_validity(self, issuing: Issuing) -> None:
        fields = health_insurance_fields(issuing.citizen, valid_to="2026-12-31")
        issued = issuing.issued(type="health_insurance", fields=fields)
        token = issued["verification"]["token"]
        clock = issuing.wallet.clock
        clock.set(datetime(2026, 12, 31, 23, 59, 59, tzinfo=UTC))
        body = issuing.verify(token).json()
        assert (body["status"], body["document"]["valid_until"]) == ("active", "2026-12-31")
        clock.set(datetime(2027, 1, 1, tzinfo=UTC))
        body = issuing.verify(token).json()
        assert (body["valid"], body["status"], body["reason"]) == (False, "expired", "expired")
        assert body["document"]["valid_until"] == "2026-12-31"
        assert "ĐÃ HẾT HIỆU LỰC" in issuing.verify(token, accept="text/html").text
        assert _payload(token)["exp"] == int(datetime(2027, 1, 1, tzinfo=UTC).timestamp())

    def test_superseded_by_a_newer_version(self, issuing: Issuing) -> None:
        # No endpoint re-issues a paper yet: a corrected version is simulated by moving the document on.
        issued = issuing.issued()
        engine = container_of(issuing.wallet.app.state).engine
        with transaction(engine) as session:
            session.exec(update(Document).where(Document.id == issued["id"]).values(current_version=2))
        body = issuing.verify(issued["verification"]["token"]).json()
        assert (body["valid"], body["status"]) == (False, "superseded")
        assert "ĐÃ ĐƯỢC THAY THẾ" in issuing.verify(issued["verification"]["token"], accept="text/html").text

    def test_forged_and_malformed_tokens_are_invalid(self, issuing: Issuing) -> None:
        token = issuing.issued()["verification"]["token"]
        header, payload, signature = token.split(".")
        forged = _b64(json.dumps(_payload(token) | {"dossier": "FORGED"}).encode())
        flipped = signature[:-4] + ("AAAA" if signature[-4:] != "AAAA" else "BBBB")
        foreign = jwt.encode(
            _payload(token), Ed25519PrivateKey.generate(), algorithm="EdDSA", headers=jwt.get_unverified_header(token)
        )
        none = f"{_b64(json.dumps({'alg': 'none', 'typ': 'JWT'}).encode())}.{payload}."
        cases = {
            f"{header}.{forged}.{signature}": "bad_signature",
            f"{header}.{payload}.{flipped}": "bad_signature",
            foreign: "bad_signature",
            none: "bad_signature",
            issuing.agency: "malformed",  # a signed token of another purpose
            "abc": "malformed",
            "": "malformed",
            "x" * 5000: "malformed",
        }
        for candidate, reason in cases.items():
            answer = issuing.verify(candidate)
            assert answer.status_code == 200, answer.text
            body = answer.json()
            assert (body["valid"], body["status"], body["reason"], body["document"]) == (
                False,
                "invalid",
                reason,
                None,
            ), candidate[:40]
        page = issuing.verify("abc", accept="text/html")
        assert page.status_code == 200 and "KHÔNG HỢP LỆ" in page.text

    def test_a_missing_token_is_422(self, issuing: Issuing) -> None:
        answer = issuing.wallet.get(VERIFY)
        assert (answer.status_code, answer.json()["code"]) == (422, "validation_failed")

    def test_a_signed_token_without_its_record_is_unknown(self, issuing: Issuing) -> None:
        token = issuing.issued()["verification"]["token"]
        with transaction(container_of(issuing.wallet.app.state).engine) as session:
            session.delete(session.exec(select(Attestation)).one())
        body = issuing.verify(token).json()
        assert (body["valid"], body["status"], body["reason"]) == (False, "invalid", "unknown")


class TestIssuerPushInTheAccessLog:
    def test_the_citizen_sees_which_agency_wrote_into_their_wallet(self, issuing: Issuing) -> None:
        issued = issuing.issued()
        log = issuing.wallet.get("/me/access-log", token=issuing.citizen_token).json()["items"]
        pushes = [entry for entry in log if entry["action"] == "issuer_push"]
        assert len(pushes) == 1
        assert pushes[0]["document_id"] == issued["id"]
        assert pushes[0]["actor"]["type"] == "agency"
        assert pushes[0]["actor"]["code"] == _agency_code(issuing.agency)
        assert pushes[0]["actor"]["name"] == "Sở Tư pháp Đà Nẵng"

    def test_nothing_appears_in_another_citizens_log(self, issuing: Issuing) -> None:
        issuing.issued()
        _, other = issuing.wallet.register()
        assert issuing.wallet.get("/me/access-log", token=other["access_token"]).json()["items"] == []
