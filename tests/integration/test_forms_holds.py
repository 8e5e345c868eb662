"""A paper attached by reference to a dossier the agency is still deciding cannot be deleted from the wallet: the
agency would be left without it. Drafts hold nothing, a decision releases the paper, and erasing the account still
removes everything."""

from __future__ import annotations

from typing import Any

from tests.integration.conftest import Wallet
from tests.integration.forms_helpers import agency_token, citizen_with_papers, start, submitted
from tests.integration.wallet_helpers import auth


def _delete(wallet: Wallet, token: str, document_id: str) -> Any:
    return wallet.client.delete(f"/api/v1/documents/{document_id}", headers=auth(token))


def _move(wallet: Wallet, agency: str, dossier: dict[str, Any], status: str, note: str | None = None) -> None:
    body = {"status": status} | ({"note": note} if note else {})
    answer = wallet.post(f"/agency/applications/{dossier['id']}/status", body, token=agency)
    assert answer.status_code == 200, answer.text


class TestPapersHeldByOpenDossiers:
    def test_a_paper_of_an_open_dossier_stays_until_the_agency_decides(self, wallet: Wallet) -> None:
        citizen = citizen_with_papers(wallet)
        agency = agency_token(wallet, "ca_xnc")
        dossier = submitted(wallet, citizen, "passport_issue")
        card = citizen.papers["cccd"]
        for status in ("submitted", "processing", "needs_info"):
            if status != "submitted":
                _move(wallet, agency, dossier, status, note="Bổ sung ảnh")
            refused = _delete(wallet, citizen.token, card)
            assert refused.status_code == 409, refused.text
            problem = refused.json()
            assert problem["code"] == "document_in_use"
            assert dossier["dossier_code"] in problem["detail"]
            assert wallet.get(f"/documents/{card}", token=citizen.token).status_code == 200
            read = wallet.get(f"/agency/applications/{dossier['id']}/documents/{card}", token=agency)
            assert read.status_code == 200, read.text
        _move(wallet, agency, dossier, "rejected", note="Hồ sơ không hợp lệ")
        assert _delete(wallet, citizen.token, card).status_code == 204
        assert wallet.get(f"/documents/{card}", token=citizen.token).status_code == 404

    def test_a_draft_holds_nothing(self, wallet: Wallet) -> None:
        citizen = citizen_with_papers(wallet)
        draft = start(wallet, citizen, "passport_issue")
        card = citizen.papers["cccd"]
        assert any(a["document_id"] == card for a in draft["attached_documents"])
        assert _delete(wallet, citizen.token, card).status_code == 204
        refreshed = wallet.post(f"/applications/{draft['id']}/refresh", token=citizen.token)
        assert refreshed.status_code == 200, refreshed.text
        assert "cccd" in refreshed.json()["missing_documents"]

    def test_papers_not_in_the_dossier_can_go(self, wallet: Wallet) -> None:
        citizen = citizen_with_papers(wallet)
        submitted(wallet, citizen, "passport_issue")
        assert _delete(wallet, citizen.token, citizen.papers["diploma"]).status_code == 204
