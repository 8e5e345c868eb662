"""Names and free text others read: NFC, and refused (422 naming the field) when they could deceive the reader."""

from __future__ import annotations

import re
import unicodedata
from typing import Any

import pytest

from api.deps import container_of
from identity.accounts import AccountService
from identity.errors import ValidationFailed
from storage.db import transaction
from tests.factories import e164, make_phone, outbox_lines, registration
from tests.integration.conftest import Wallet
from tests.integration.forms_helpers import citizen_with_papers, patch, start
from tests.integration.wallet_helpers import diploma_fields, upload

RLO = "\u202e"
NAME = "Nguyễn Thị Ánh Tuyết"


def refused_field(answer: Any, field: str) -> None:
    assert answer.status_code == 422, answer.text
    body = answer.json()
    assert body["code"] == "validation_failed"
    assert field in {e["field"] for e in body["errors"]}, body


def sms_to(wallet: Wallet, phone: str) -> list[dict[str, Any]]:
    return [line for line in outbox_lines(wallet.outbox) if line.get("to") == e164(phone)]


class TestRegistrantName:
    @pytest.mark.parametrize(
        "name", [f"Nguyễn {RLO}nA năV", "Nguyễn\u200bVăn An", "Nguyеn Văn An", "Trần\u2066Văn\u2069 An"]
    )
    def test_api_refuses_and_sends_nothing(self, wallet: Wallet, name: str) -> None:
        data = registration(full_name=name)
        refused_field(wallet.post("/auth/register", data), "full_name")
        assert sms_to(wallet, data["phone"]) == []

    def test_api_stores_a_decomposed_name_composed(self, wallet: Wallet) -> None:
        _data, tokens = wallet.register(full_name=unicodedata.normalize("NFD", NAME))
        me = wallet.get("/me", tokens["access_token"])
        assert me.status_code == 200, me.text
        assert me.json()["full_name"] == NAME

    def test_the_registration_page_refuses_with_its_error_summary(self, wallet: Wallet) -> None:
        page = wallet.client.get("/register")
        token = re.search(r'name="_csrf_token" value="([^"]+)"', page.text)
        assert token, page.text
        data = registration(full_name=f"Nguyễn {RLO}nA năV")
        form = {k: data[k] for k in ("national_id", "full_name", "phone", "pin")}
        form |= {"date_of_birth": "02/03/1995", "email": "", "_csrf_token": token.group(1)}
        answer = wallet.client.post("/register", data=form)
        assert answer.status_code == 422, answer.text
        summary = answer.text.split('class="error-summary"', 1)[1].split("</div>", 1)[0]
        assert "#full_name" in summary and "Nhập họ và tên" in summary, summary
        assert sms_to(wallet, data["phone"]) == []


class TestOfficerName:
    def test_refused_with_a_bidi_override(self, wallet: Wallet) -> None:
        container = container_of(wallet.app.state)
        with transaction(container.engine) as session:
            accounts = AccountService(session, container.identity)
            accounts.create_agency("ubnd-text", "UBND phường Văn Bản", ())
            with pytest.raises(ValidationFailed) as refused:
                accounts.create_officer(phone=make_phone(), name=f"Lê {RLO}nA", agency_code="ubnd-text", pin="135790")
        assert "full_name" in refused.value.errors


class TestPaperAndFormText:
    def test_a_paper_field_with_a_zero_width_space_is_refused(self, wallet: Wallet) -> None:
        _data, tokens = wallet.register()
        answer = upload(wallet, tokens["access_token"], "diploma", diploma_fields(institution="Đại học\u200b Huế"))
        refused_field(answer, "institution")

    def test_a_paper_field_may_quote_another_script(self, wallet: Wallet) -> None:
        _data, tokens = wallet.register()
        answer = upload(wallet, tokens["access_token"], "diploma", diploma_fields(institution="МГУ / Moscow"))
        assert answer.status_code == 201, answer.text

    def test_an_application_text_field_mixing_scripts_in_a_word_is_refused(self, wallet: Wallet) -> None:
        citizen = citizen_with_papers(wallet, papers=[], proofed=False)
        draft = start(wallet, citizen, "passport_issue")
        refused_field(
            patch(wallet, citizen.token, draft["id"], {"fields": {"place_of_birth": "Hà Nоi"}}), "place_of_birth"
        )
