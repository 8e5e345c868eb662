"""What issuing reads and writes in Core statements (`wallet.issued_rows`): the paper count read with the citizen
still caps their wallet before anything is written, a citizen who is not active gets nothing, the agency's name
reaches the citizen's access log, and the rows inserted read back through the wallet like any paper, the scan's
pending record gone. Every test runs on SQLite and PostgreSQL."""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import func, select, update

from api.deps import container_of
from identity.accounts import AccountService
from identity.models import Citizen
from storage.db import read_only, transaction
from tests.integration.conftest import Wallet
from tests.integration.wallet_helpers import pdf_bytes
from wallet.issued_rows import row
from wallet.models import Attestation, Document, DocumentVersion, PendingBlob

AGENCY_NAME = "Sở Tư pháp Đà Nẵng"
FIELDS = {
    "procedure_code": "1.001234.000.00.00.H17",
    "title": "Giấy chứng nhận đăng ký hộ kinh doanh",
    "decision_number": "123/QĐ-UBND",
    "issue_date": "2026-11-20",
    "issued_by": "UBND quận Hải Châu",
    "summary": "Cấp giấy chứng nhận đăng ký hộ kinh doanh",
}


def _agency(wallet: Wallet) -> str:
    container = container_of(wallet.app.state)
    with transaction(container.engine) as session:
        creds = AccountService(session, container.identity).create_agency(
            "SOTP-ROWS", AGENCY_NAME, ("documents:issue",)
        )
    form = {"grant_type": "client_credentials", "client_id": creds.client_id, "client_secret": creds.client_secret}
    answer = wallet.client.post("/api/v1/oauth/token", data=form)
    assert answer.status_code == 200, answer.text
    return str(answer.json()["access_token"])


def _issue(wallet: Wallet, agency: str, national_id: str, **body: Any) -> Any:
    payload = {"national_id": national_id, "type": "tthc_result", "fields": FIELDS} | body
    return wallet.post("/issuer/documents", payload, token=agency)


def _count(wallet: Wallet, model: Any, citizen_id: str) -> int:
    engine = container_of(wallet.app.state).engine
    with transaction(read_only(engine)) as session:
        return int(session.execute(select(func.count()).where(model.citizen_id == citizen_id)).scalar_one())


class TestIssuedRows:
    def test_the_cap_refuses_a_paper_before_anything_is_written(self, make_wallet: Callable[..., Wallet]) -> None:
        wallet = make_wallet(max_documents=2)
        data, tokens = wallet.register(proofed=True)
        agency = _agency(wallet)
        for _ in range(2):
            assert _issue(wallet, agency, data["national_id"]).status_code == 201
        refused = _issue(wallet, agency, data["national_id"])
        assert refused.status_code == 409, refused.text
        assert refused.json()["code"] == "too_many_documents"
        citizen_id = tokens["citizen_id"]
        assert (_count(wallet, Document, citizen_id), _count(wallet, Attestation, citizen_id)) == (2, 2)

    def test_a_citizen_who_is_not_active_is_not_found(self, wallet: Wallet) -> None:
        data, tokens = wallet.register(proofed=True)
        agency = _agency(wallet)
        with transaction(container_of(wallet.app.state).engine) as session:
            session.execute(update(Citizen).where(Citizen.id == tokens["citizen_id"]).values(status="pending"))
        answer = _issue(wallet, agency, data["national_id"])
        assert answer.status_code == 404, answer.text
        assert _count(wallet, Document, tokens["citizen_id"]) == 0

    def test_the_rows_read_back_as_a_paper_with_its_scan(self, wallet: Wallet) -> None:
        data, tokens = wallet.register(proofed=True)
        token, citizen_id = str(tokens["access_token"]), str(tokens["citizen_id"])
        scan = pdf_bytes("quyết định")
        file = {"filename": "ket-qua.pdf", "content_base64": base64.b64encode(scan).decode()}
        answer = _issue(wallet, _agency(wallet), data["national_id"], file=file)
        assert answer.status_code == 201, answer.text
        issued = answer.json()
        document = wallet.get(f"/documents/{issued['id']}", token=token).json()
        assert (document["fields"], document["version"]) == (FIELDS, 1)
        assert (document["provenance"], document["verification"]) == ("issuer_signed", issued["verification"])
        [meta] = document["files"]
        assert (meta["filename"], meta["content_type"], meta["size"]) == ("ket-qua.pdf", "application/pdf", len(scan))
        assert wallet.get(f"/documents/{issued['id']}/files/{meta['id']}", token=token).content == scan
        assert _count(wallet, PendingBlob, citizen_id) == 0  # the blob has its metadata now
        log = wallet.get("/me/access-log", token=token).json()["items"]
        pushed = [entry for entry in log if entry["action"] == "issuer_push"]
        assert [(entry["actor"]["name"], entry["document_id"]) for entry in pushed] == [(AGENCY_NAME, issued["id"])]


class TestRow:
    def test_a_row_names_every_column_of_its_table(self) -> None:
        with pytest.raises(TypeError, match="DocumentVersion"):
            row(DocumentVersion, document_id="d", version=1)  # no id, key, sealed fields nor time
        with pytest.raises(TypeError, match="Document"):
            row(Document, id="d", unknown=1)
