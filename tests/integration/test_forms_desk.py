"""The agency's dossier list narrowed as the staff desk narrows it (API.md: `GET /agency/applications?status=
&procedure=&overdue=`): by status, by one of the agency's procedures, and overdue (past `due_at`, still submitted or
processing), the filters combined and paged; a request for more (`needs_info`) says what to add, as a rejection says
why. SQLite and PostgreSQL, a frozen clock moved past the due dates."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from tests.integration.conftest import Wallet
from tests.integration.forms_helpers import agency_token, submitted
from tests.integration.test_forms_agency import CRIMINAL, PASSPORT, _citizen, _inbox, _move, _moved, _officer, _problem


def _ids(page: dict[str, Any]) -> list[str]:
    return [item["id"] for item in page["items"]]


class TestInboxFilters:
    def test_status_procedure_and_overdue_combine(self, wallet: Wallet) -> None:
        xnc = agency_token(wallet, "ca_xnc")
        citizen = _citizen(wallet, "cccd", "birth_certificate", "residence")
        late_open = submitted(wallet, citizen, PASSPORT)
        late_processing = submitted(wallet, citizen, PASSPORT)
        late_waiting = submitted(wallet, citizen, PASSPORT)
        late_rejected = submitted(wallet, citizen, PASSPORT)
        _moved(wallet, xnc, late_processing["id"], "processing")
        _moved(wallet, xnc, late_waiting["id"], "needs_info", "Thiếu ảnh")
        _moved(wallet, xnc, late_rejected["id"], "rejected", "Sai thẩm quyền")
        wallet.clock.advance(timedelta(days=30))  # past the passport's 8 working days (and the first login)
        xnc = _officer(wallet, "ca_xnc")  # a fresh token: the agency's has expired meanwhile
        fresh = submitted(wallet, _citizen(wallet, "cccd", "birth_certificate", "residence"), PASSPORT)

        overdue = _inbox(wallet, xnc, overdue="true")
        assert _ids(overdue) == [late_processing["id"], late_open["id"]]  # newest first, open ones only
        assert _ids(_inbox(wallet, xnc, overdue="true", status="processing")) == [late_processing["id"]]
        assert _ids(_inbox(wallet, xnc, overdue="true", status="needs_info")) == []
        assert _ids(_inbox(wallet, xnc, status="submitted")) == [fresh["id"], late_open["id"]]
        everything = [fresh, late_rejected, late_waiting, late_processing, late_open]
        assert _ids(_inbox(wallet, xnc, procedure=PASSPORT)) == [d["id"] for d in everything]
        assert _ids(_inbox(wallet, xnc, procedure=CRIMINAL)) == []  # another agency's procedure: nothing of it

        first = _inbox(wallet, xnc, procedure=PASSPORT, limit=2)
        second = _inbox(wallet, xnc, procedure=PASSPORT, limit=2, cursor=first["next_cursor"])
        assert _ids(first) + _ids(second) == [d["id"] for d in everything[:4]]

    def test_asking_for_more_needs_a_note(self, wallet: Wallet) -> None:
        xnc = agency_token(wallet, "ca_xnc")
        citizen = _citizen(wallet, "cccd", "birth_certificate", "residence")
        dossier = submitted(wallet, citizen, PASSPORT)
        _problem(_move(wallet, xnc, dossier["id"], "needs_info"), 422, "validation_failed")
        _problem(_move(wallet, xnc, dossier["id"], "needs_info", "   "), 422, "validation_failed")
        assert _moved(wallet, xnc, dossier["id"], "needs_info", "Bổ sung ảnh")["status"] == "needs_info"
