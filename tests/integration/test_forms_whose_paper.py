"""Whose paper fills a form: a parent's wallet holds both their own birth certificate and their child's. The
passport form takes the applicant's own; the child's health insurance form takes the child's, whatever the order
in which they were uploaded."""

from __future__ import annotations

import pytest

from tests.integration.conftest import Wallet
from tests.integration.forms_helpers import Citizen, citizen_with_papers, patch, start
from tests.integration.wallet_helpers import (
    birth_certificate_fields,
    cccd_fields,
    child_birth_certificate_fields,
    sex_of,
    upload,
)


def _parent(wallet: Wallet, *, child_first: bool) -> tuple[Citizen, dict[str, str]]:
    """A citizen with their CCCD and two birth certificates, their own and their child's; the ids by role."""
    citizen = citizen_with_papers(wallet, papers=[])
    ids = {"cccd": upload(wallet, citizen.token, "cccd", cccd_fields(citizen.data, sex=sex_of(citizen.data)))}
    certificates = {
        "own": birth_certificate_fields(citizen.data),
        "child": child_birth_certificate_fields(citizen.data),
    }
    for role in ("child", "own") if child_first else ("own", "child"):
        ids[role] = upload(wallet, citizen.token, "birth_certificate", certificates[role])
    for answer in ids.values():
        assert answer.status_code == 201, answer.text
    return citizen, {role: answer.json()["id"] for role, answer in ids.items()}


@pytest.mark.parametrize("child_first", [True, False], ids=["child-first", "own-first"])
class TestOwnAndDependantPapers:
    def test_passport_form_uses_the_applicants_own_birth_certificate(self, wallet: Wallet, child_first: bool) -> None:
        citizen, ids = _parent(wallet, child_first=child_first)
        application = start(wallet, citizen, "passport_issue")
        assert application["provenance"]["place_of_birth"]["document_id"] == ids["own"]
        assert application["fields"]["father_name"] == birth_certificate_fields(citizen.data)["father_name"]
        attached = {a["type"]: a["document_id"] for a in application["attached_documents"]}
        assert attached["birth_certificate"] == ids["own"]

    def test_child_insurance_form_uses_the_childs_birth_certificate(self, wallet: Wallet, child_first: bool) -> None:
        citizen, ids = _parent(wallet, child_first=child_first)
        application = start(wallet, citizen, "child_health_insurance")
        child = child_birth_certificate_fields(citizen.data)
        assert application["fields"]["child_full_name"] == child["full_name"]
        assert application["fields"]["child_date_of_birth"] == child["date_of_birth"]
        assert application["provenance"]["child_full_name"]["document_id"] == ids["child"]
        assert application["fields"]["parent_full_name"] == citizen.data["full_name"]
        attached = {a["type"]: a["document_id"] for a in application["attached_documents"]}
        assert attached["birth_certificate"] == ids["child"]

    def test_the_citizen_may_still_choose_another_paper(self, wallet: Wallet, child_first: bool) -> None:
        citizen, ids = _parent(wallet, child_first=child_first)
        application = start(wallet, citizen, "passport_issue")
        answer = patch(wallet, citizen.token, application["id"], {"documents": {"birth_certificate": ids["child"]}})
        assert answer.status_code == 200, answer.text
        assert answer.json()["provenance"]["place_of_birth"]["document_id"] == ids["child"]


class TestOnlyOtherPeoplesPapers:
    def test_a_spouses_paper_never_fills_the_applicants_form(self, wallet: Wallet) -> None:
        citizen = citizen_with_papers(wallet, papers=[])
        spouse = birth_certificate_fields(
            citizen.data, full_name="Trần Thị Bình", date_of_birth="1990-01-09", registration_date="1990-01-20"
        )
        assert upload(wallet, citizen.token, "birth_certificate", spouse).status_code == 201
        application = start(wallet, citizen, "passport_issue")
        assert application["fields"]["place_of_birth"] is None
        assert "place_of_birth" in application["missing_fields"]
        assert all(a["type"] != "birth_certificate" for a in application["attached_documents"])
