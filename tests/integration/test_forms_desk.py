"""The agency's dossier list narrowed as the staff desk narrows it (API.md: `GET /agency/applications?status=
&procedure=&overdue=`): by status, by one of the agency's procedures, and overdue (past `due_at`, still submitted or
processing), the filters combined and paged; a request for more (`needs_info`) says what to add, as a rejection says
why. SQLite and PostgreSQL, a frozen clock moved past the due dates."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from tests.integration.conftest import Wallet
from tests.integration.forms_helpers import agency_token, submitted
from tests.integration.test_forms_agency import (
    CRIMINAL,
    PASSPORT,
    _access_log,
    _citizen,
    _inbox,
    _move,
    _moved,
    _officer,
    _problem,
    _result,
)


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


class TestEveryMoveNamesTheOfficer:
    def test_moves_and_the_result_are_in_the_citizens_log_with_the_officers_name(self, wallet: Wallet) -> None:
        agency_token(wallet, "ca_xnc")
        officer = _officer(wallet, "ca_xnc")
        citizen = _citizen(wallet, "cccd", "birth_certificate", "residence", proofed=True)
        waiting, refused, done = (submitted(wallet, citizen, PASSPORT) for _ in range(3))
        _moved(wallet, officer, waiting["id"], "needs_info", "Bổ sung ảnh")
        _moved(wallet, officer, refused["id"], "processing")
        _moved(wallet, officer, refused["id"], "rejected", "Sai thẩm quyền")
        assert _result(wallet, officer, done["id"]).status_code == 201

        log = _access_log(wallet, citizen.token)
        by_officer = {(e["action"], e.get("purpose")) for e in log if e["actor"].get("person") == "Lê Văn Cường"}
        wanted = {
            ("dossier_needs_info", waiting["dossier_code"]),
            ("dossier_processing", refused["dossier_code"]),
            ("dossier_rejected", refused["dossier_code"]),
            ("dossier_completed", done["dossier_code"]),
        }
        assert wanted <= {(a, (p or "").split(":")[0].removeprefix("Hồ sơ ")) for a, p in by_officer}, by_officer
        assert any(a == "issuer_push" for a, _ in by_officer), by_officer  # the result paper, issued by them
        moves = [e for e in log if e["action"] in {a for a, _ in wanted}]
        assert moves and all((e["actor"]["code"], e["actor"]["person"]) == ("ca_xnc", "Lê Văn Cường") for e in moves)
