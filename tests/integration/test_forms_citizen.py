"""The citizen's side of once-only e-forms (API.md: "Once-only e-forms"; forms/service.py): the catalog, a draft
prefilled from the best paper of each type, what the citizen may type or choose, papers added later, submission
(frozen and disclosed to the agency), isolation, rating, and nothing in clear at rest. Every test runs on SQLite and
PostgreSQL with a frozen clock (2026-11-24 08:00 UTC).

Expectations are computed from the catalog as `GET /procedures/{code}` serves it and from the papers as
`GET /documents/{id}` serves them, never from the code under test."""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import text

from api.deps import container_of
from forms.catalog import SHIPPED
from forms.procedure import due_after
from tests.integration.conftest import Wallet
from tests.integration.forms_helpers import (
    Citizen,
    agency_token,
    asked_values,
    citizen_with_papers,
    patch,
    procedure,
    start,
    submitted,
)
from tests.integration.wallet_helpers import (
    auth,
    birth_certificate_fields,
    cccd_fields,
    child_birth_certificate_fields,
    png_bytes,
    relogin,
    residence_fields,
    residence_proof_fields,
    sex_of,
    upload,
)

PROBLEM_JSON = "application/problem+json"
AGENCIES = {
    "passport_issue": "ca_xnc",
    "birth_registration": "ubnd_xa",
    "driver_license_renewal": "ca_csgt",
    "criminal_record_request": "so_tu_phap",
    "permanent_residence": "ca_xa",
    "child_health_insurance": "bhxh",
}
PROCEDURE_KEYS = {
    "code",
    "name",
    "name_en",
    "agency",
    "fields",
    "required_documents",
    "dependant_documents",
    "processing_days",
}
FIELD_KEYS = {"name", "label", "label_en", "type", "required"}
ISSUER = "cuc_cs_qlhc"  # an agency issuing CCCDs (not one of the catalog's procedure agencies)
DOSSIER_CODE = re.compile(r"^HS-\d{8}-[A-Z0-9]{6}$")


# -- helpers ---------------------------------------------------------------------------------------------------------
def problem(answer: Any, status: int, code: str) -> dict[str, Any]:
    """The problem+json body of an expected error."""
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"].startswith(PROBLEM_JSON), answer.headers["content-type"]
    body = dict(answer.json())
    assert body["code"] == code, body
    return body


def error_fields(body: dict[str, Any]) -> set[str]:
    return {error["field"] for error in body.get("errors", [])}


def ok(answer: Any, status: int = 200) -> dict[str, Any]:
    assert answer.status_code == status, answer.text
    return dict(answer.json())


def same(got: Iterable[str], expected: Iterable[str]) -> None:
    """Exactly these names, each once (the order is the API's business)."""
    assert sorted(got) == sorted(expected)


def paper(wallet: Wallet, token: str, document_id: str) -> dict[str, Any]:
    return ok(wallet.get(f"/documents/{document_id}", token=token))


def uploaded(wallet: Wallet, token: str, type_code: str, fields: dict[str, Any]) -> dict[str, Any]:
    return ok(upload(wallet, token, type_code, fields), 201)


def updated(wallet: Wallet, token: str, document: dict[str, Any], **changes: Any) -> dict[str, Any]:
    answer = upload(
        wallet, token, document["type"], document["fields"] | changes, method="PUT", document_id=document["id"]
    )
    return ok(answer)


def issued(wallet: Wallet, agency: str, citizen: Citizen, type_code: str, fields: dict[str, Any]) -> dict[str, Any]:
    """An issuer-signed paper pushed into the citizen's wallet, as the citizen sees it."""
    body = {"national_id": citizen.data["national_id"], "type": type_code, "fields": fields}
    document_id = ok(wallet.post("/issuer/documents", body, token=agency), 201)["id"]
    return paper(wallet, citizen.token, document_id)


def application(wallet: Wallet, token: str, application_id: str) -> dict[str, Any]:
    return ok(wallet.get(f"/applications/{application_id}", token=token))


def refresh(wallet: Wallet, token: str, application_id: str) -> dict[str, Any]:
    return ok(wallet.post(f"/applications/{application_id}/refresh", token=token))


def submit(wallet: Wallet, token: str, application_id: str) -> Any:
    return wallet.post(f"/applications/{application_id}/submit", token=token)


def upload_into(wallet: Wallet, token: str, application_id: str, type_code: str, fields: dict[str, Any]) -> Any:
    """POST /applications/{id}/documents: multipart exactly like POST /documents, with one scan."""
    data = {"type": type_code, "fields": json.dumps(fields, ensure_ascii=False)}
    files = [("file", ("giay-to.png", png_bytes(), "image/png"))]
    return wallet.client.post(
        f"/api/v1/applications/{application_id}/documents", data=data, files=files, headers=auth(token)
    )


def sources(spec: dict[str, Any]) -> dict[str, tuple[str, str]]:
    """Sourced field name → (paper type, paper field), from the served catalog."""
    pairs = (f["source"].split(".", 1) for f in spec["fields"] if "source" in f)
    names = (f["name"] for f in spec["fields"] if "source" in f)
    return {name: (type_code, field) for name, (type_code, field) in zip(names, pairs, strict=True)}


def empty(value: Any) -> bool:
    return value is None or value in ("", [])


def expected_draft(spec: dict[str, Any], papers: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """What a fresh draft must show when `papers` (type → the paper as GET /documents serves it) are the ones used."""
    values: dict[str, Any] = {f["name"]: None for f in spec["fields"]}
    provenance: dict[str, dict[str, Any]] = {}
    for name, (type_code, field) in sources(spec).items():
        source = papers.get(type_code)
        if source is None or empty(source["fields"].get(field)):
            continue
        values[name] = source["fields"][field]
        provenance[name] = {
            "source": f"{type_code}.{field}",
            "document_id": source["id"],
            "type": type_code,
            "provenance": source["provenance"],
            "version": source["version"],
            "read_only": source["provenance"] == "issuer_signed",
        }
    return {
        "fields": values,
        "provenance": provenance,
        "missing_fields": [f["name"] for f in spec["fields"] if f["required"] and empty(values[f["name"]])],
    }


def check_draft(draft: dict[str, Any], spec: dict[str, Any], papers: dict[str, dict[str, Any]]) -> None:
    """The draft holds exactly what `papers` give: values, provenance, prefilled, read-only, missing, attached."""
    expected = expected_draft(spec, papers)
    assert draft["fields"] == expected["fields"]
    assert draft["provenance"] == expected["provenance"]
    same(draft["prefilled"], expected["provenance"])
    same(draft["read_only"], [n for n, p in expected["provenance"].items() if p["read_only"]])
    same(draft["missing_fields"], expected["missing_fields"])
    attached = {a["type"]: a for a in draft["attached_documents"]}
    assert len(attached) == len(draft["attached_documents"])  # one paper per type
    used = {p["type"] for p in expected["provenance"].values()}
    same(attached, (set(spec["required_documents"]) & set(papers)) | used)
    for type_code, entry in attached.items():
        assert entry["document_id"] == papers[type_code]["id"]
        assert entry["version"] is None  # frozen only at submission
    same(draft["missing_documents"], [t for t in spec["required_documents"] if t not in papers])


def cccd(citizen: Citizen, **overrides: Any) -> dict[str, Any]:
    return cccd_fields(citizen.data, sex=sex_of(citizen.data), **overrides)


def access_log(wallet: Wallet, token: str) -> list[dict[str, Any]]:
    return list(ok(wallet.get("/me/access-log", token=token, params={"limit": 100}))["items"])


def later(wallet: Wallet, minutes: int = 1) -> None:
    """Move the frozen clock on, so the next paper is strictly newer (papers at the same instant tie)."""
    wallet.clock.advance(timedelta(minutes=minutes))


# -- the catalog -----------------------------------------------------------------------------------------------------
class TestProcedures:
    @pytest.mark.e2e
    def test_six_procedures_with_fixed_agencies_in_the_documented_shape(self, wallet: Wallet) -> None:
        page = ok(wallet.get("/procedures"))  # no token
        assert page["next_cursor"] is None
        assert {p["code"]: p["agency"]["code"] for p in page["items"]} == AGENCIES
        assert len(page["items"]) == len(AGENCIES)
        shipped = {p["code"]: p for p in yaml.safe_load(SHIPPED.read_text(encoding="utf-8"))["procedures"]}
        paper_types = {t["code"]: {f["name"]: f for f in t["fields"]} for t in wallet.get("/document-types").json()}
        for item in page["items"]:
            code, raw_fields = item["code"], shipped[item["code"]]["fields"]
            spec = procedure(wallet, code)
            assert spec == item  # the list shows each procedure as its own page does
            assert set(spec) == PROCEDURE_KEYS and set(spec["agency"]) == {"code", "name"}
            assert spec["required_documents"] == shipped[code]["required_documents"]
            assert spec["dependant_documents"] == shipped[code].get("dependant_documents", [])
            assert spec["processing_days"] == shipped[code]["processing_days"]
            assert [f["name"] for f in spec["fields"]] == [f["name"] for f in raw_fields]
            for field, raw in zip(spec["fields"], raw_fields, strict=True):
                optional = {"source"} if "source" in raw else set()
                optional |= {"choices", "choice_labels"} if field["type"] in ("enum", "list") else set()
                optional |= {"pattern"} if "pattern" in field else set()
                assert set(field) == FIELD_KEYS | optional, field
                if "source" in raw:  # a sourced field takes its kind, choices and their labels from the paper's schema
                    assert field["source"] == raw["source"]
                    type_code, name = raw["source"].split(".")
                    origin = paper_types[type_code][name]
                    assert (field["type"], field.get("choices")) == (origin["type"], origin.get("choices"))
                    assert field.get("choice_labels") == origin.get("choice_labels")
                else:
                    assert (field["type"], field["required"]) == (raw["type"], raw.get("required", True))
                    assert field.get("choice_labels") == raw.get("choices")  # as the file labels them
                if "choices" in field:  # every choice labelled in both languages, in the order of the values
                    assert [c["value"] for c in field["choice_labels"]] == field["choices"]
                    assert all(set(c) == {"value", "label", "label_en"} for c in field["choice_labels"])
                    assert all(c["label"].strip() and c["label_en"].strip() for c in field["choice_labels"])

    def test_choice_labels_are_in_the_openapi_schema(self, wallet: Wallet) -> None:
        schemas = ok(wallet.client.get("/schema/openapi.json"))["components"]["schemas"]
        field = schemas["ProcedureFieldPublic"]["properties"]
        assert "choice_labels" in field and "choices" in field
        assert set(schemas["ChoiceLabelPublic"]["properties"]) == {"value", "label", "label_en"}

    @pytest.mark.e2e
    def test_an_unknown_code_is_a_404_problem(self, wallet: Wallet) -> None:
        problem(wallet.get("/procedures/khong_co"), 404, "procedure_not_found")
        citizen = citizen_with_papers(wallet, papers=[])
        answer = wallet.post("/applications", {"procedure_code": "khong_co"}, token=citizen.token)
        problem(answer, 404, "procedure_not_found")
        assert ok(wallet.get("/applications", token=citizen.token))["items"] == []


# -- prefill -------------------------------------------------------------------------------------------------------
class TestPrefill:
    @pytest.mark.e2e
    def test_values_equal_source_paper_fields_for_every_procedure(self, wallet: Wallet) -> None:
        citizen = citizen_with_papers(wallet)
        papers = {t: paper(wallet, citizen.token, i) for t, i in citizen.papers.items()}
        for code in AGENCIES:
            if code == "child_health_insurance":
                continue
            spec = procedure(wallet, code)
            draft = start(wallet, citizen, code)
            assert (draft["procedure_code"], draft["status"], draft["dossier_code"]) == (code, "draft", None)
            assert draft["agency"] == spec["agency"]
            assert all(a["origin"] == "prefill" for a in draft["attached_documents"])
            check_draft(draft, spec, papers)
            assert draft["missing_documents"] == []
            assert draft["prefilled"]  # a full wallet fills something in every form
        # The child's form takes the child from the child's birth certificate, never from the parent's own
        # (TestBestPaper.test_a_birth_certificate_serves_the_procedures_about_whom_it_is_about).
        child = uploaded(wallet, citizen.token, "birth_certificate", child_birth_certificate_fields(citizen.data))
        spec = procedure(wallet, "child_health_insurance")
        draft = start(wallet, citizen, "child_health_insurance")
        check_draft(draft, spec, papers | {"birth_certificate": child})
        assert draft["fields"]["child_full_name"] == child["fields"]["full_name"] != citizen.data["full_name"]
        assert draft["missing_fields"] == ["primary_care_facility"]

    @pytest.mark.e2e
    def test_an_empty_wallet_leaves_every_required_field_and_paper_missing(self, wallet: Wallet) -> None:
        citizen = citizen_with_papers(wallet, papers=[])
        for code in AGENCIES:
            spec = procedure(wallet, code)
            draft = start(wallet, citizen, code)
            assert draft["fields"] == {f["name"]: None for f in spec["fields"]}
            assert draft["prefilled"] == draft["read_only"] == draft["attached_documents"] == []
            assert draft["provenance"] == {}
            same(draft["missing_fields"], [f["name"] for f in spec["fields"] if f["required"]])
            same(draft["missing_documents"], spec["required_documents"])
        # values may come with the draft: kept when valid, the whole draft refused when not
        body = {"procedure_code": "passport_issue", "fields": {"request_kind": "bay"}}
        answer = wallet.post("/applications", body, token=citizen.token)
        assert error_fields(problem(answer, 422, "validation_failed")) == {"request_kind"}
        draft = start(wallet, citizen, "passport_issue", fields={"request_kind": "het_han"})
        assert draft["fields"]["request_kind"] == "het_han"
        assert "request_kind" not in draft["missing_fields"] and "request_kind" not in draft["prefilled"]
        assert len(ok(wallet.get("/applications", token=citizen.token))["items"]) == len(AGENCIES) + 1


# -- the best paper of a type --------------------------------------------------------------------------------------
class TestBestPaper:
    def test_active_before_expired_and_issuer_signed_before_self_uploaded(self, wallet: Wallet) -> None:
        citizen = citizen_with_papers(wallet, papers=[])
        agency = agency_token(wallet, ISSUER, scopes=("documents:issue",))
        signed = issued(wallet, agency, citizen, "cccd", cccd(citizen, expiry_date="2026-11-30"))
        later(wallet)
        own = uploaded(wallet, citizen.token, "cccd", cccd(citizen, place_of_residence="Số 1 Lê Duẩn, Huế"))
        later(wallet)
        lapsed = cccd(
            citizen, place_of_residence="Số 9 Trần Phú, Vinh", issue_date="2011-01-05", expiry_date="2026-01-05"
        )
        expired = uploaded(wallet, citizen.token, "cccd", lapsed)
        assert [(p["status"], p["provenance"]) for p in (signed, own, expired)] == [
            ("active", "issuer_signed"),
            ("active", "self_uploaded"),
            ("expired", "self_uploaded"),
        ]
        assert at(signed["updated_at"]) < at(own["updated_at"]) < at(expired["updated_at"])
        spec = procedure(wallet, "passport_issue")
        draft = start(wallet, citizen, "passport_issue")
        check_draft(draft, spec, {"cccd": signed})  # the oldest, but signed and active; the newest is expired
        wallet.clock.advance(timedelta(days=7))  # 2026-12-01: the signed card has expired too
        citizen.token = relogin(wallet, citizen.data)["access_token"]
        assert paper(wallet, citizen.token, signed["id"])["status"] == "expired"
        check_draft(refresh(wallet, citizen.token, draft["id"]), spec, {"cccd": own})  # active beats signed

    def test_newest_first_among_equals(self, wallet: Wallet) -> None:
        citizen = citizen_with_papers(wallet, papers=[])
        older = uploaded(wallet, citizen.token, "cccd", cccd(citizen, place_of_residence="Số 7 Nguyễn Huệ, Huế"))
        later(wallet)
        newer = uploaded(wallet, citizen.token, "cccd", cccd(citizen, place_of_residence="Số 8 Lý Thường Kiệt, Huế"))
        spec = procedure(wallet, "passport_issue")
        draft = start(wallet, citizen, "passport_issue")
        check_draft(draft, spec, {"cccd": newer})
        later(wallet)  # updating the older card makes it the newest (updated_at), in version 2
        renewed = updated(wallet, citizen.token, older, place_of_residence="Số 10 Phan Đình Phùng, Huế")
        assert renewed["version"] == 2
        check_draft(refresh(wallet, citizen.token, draft["id"]), spec, {"cccd": renewed})

    def test_a_revoked_issuer_paper_is_never_used(self, wallet: Wallet) -> None:
        citizen = citizen_with_papers(wallet, papers=[])
        own = uploaded(wallet, citizen.token, "cccd", cccd(citizen, place_of_residence="Số 2 Hai Bà Trưng, Huế"))
        later(wallet)
        agency = agency_token(wallet, ISSUER, scopes=("documents:issue",))
        signed = issued(wallet, agency, citizen, "cccd", cccd(citizen))
        spec = procedure(wallet, "passport_issue")
        draft = start(wallet, citizen, "passport_issue")
        check_draft(draft, spec, {"cccd": signed})
        ok(wallet.post(f"/issuer/documents/{signed['id']}/revoke", token=agency))
        assert paper(wallet, citizen.token, signed["id"])["status"] == "revoked"
        refreshed = refresh(wallet, citizen.token, draft["id"])
        check_draft(refreshed, spec, {"cccd": own})
        assert refreshed["read_only"] == []
        check_draft(start(wallet, citizen, "passport_issue"), spec, {"cccd": own})
        answer = patch(wallet, citizen.token, draft["id"], {"documents": {"cccd": signed["id"]}})
        assert error_fields(problem(answer, 422, "validation_failed")) == {"documents.cccd"}
        check_draft(application(wallet, citizen.token, draft["id"]), spec, {"cccd": own})

    def test_a_birth_certificate_serves_the_procedures_about_whom_it_is_about(self, wallet: Wallet) -> None:
        """A parent's wallet holds their own birth certificate and their children's. The holder's own procedures take
        the holder's own, even when a child's is newer; the child's procedure (`dependant_documents`) never takes the
        parent's own, even when it is the newest; among the children's, the newest, unless the parent pins one."""
        citizen = citizen_with_papers(wallet, papers=[])
        card = uploaded(wallet, citizen.token, "cccd", cccd(citizen))
        first_child = uploaded(wallet, citizen.token, "birth_certificate", child_birth_certificate_fields(citizen.data))
        later(wallet)
        own = uploaded(wallet, citizen.token, "birth_certificate", birth_certificate_fields(citizen.data))
        passport, insurance = procedure(wallet, "passport_issue"), procedure(wallet, "child_health_insurance")
        assert "birth_certificate" in insurance["dependant_documents"]
        assert "birth_certificate" not in passport["dependant_documents"]
        check_draft(start(wallet, citizen, "passport_issue"), passport, {"cccd": card, "birth_certificate": own})
        for_child = start(wallet, citizen, "child_health_insurance")
        check_draft(for_child, insurance, {"cccd": card, "birth_certificate": first_child})  # older, yet the child's

        later(wallet)
        second = child_birth_certificate_fields(
            citizen.data,
            full_name="Nguyễn Minh Châu",
            sex="nu",
            date_of_birth="2025-09-01",
            registration_number="2025/77",
        )
        second_child = uploaded(
            wallet, citizen.token, "birth_certificate", second | {"registration_date": "2025-09-20"}
        )
        check_draft(start(wallet, citizen, "passport_issue"), passport, {"cccd": card, "birth_certificate": own})
        refreshed = refresh(wallet, citizen.token, for_child["id"])
        check_draft(refreshed, insurance, {"cccd": card, "birth_certificate": second_child})
        pinned = ok(
            patch(wallet, citizen.token, for_child["id"], {"documents": {"birth_certificate": first_child["id"]}})
        )
        expected = expected_draft(insurance, {"cccd": card, "birth_certificate": first_child})
        assert pinned["fields"] == expected["fields"] and pinned["provenance"] == expected["provenance"]
        assert pinned["fields"]["child_full_name"] == first_child["fields"]["full_name"]


# -- what the citizen may change -----------------------------------------------------------------------------------
class TestReadOnly:
    def test_values_from_an_issuer_signed_paper_cannot_be_changed(self, wallet: Wallet) -> None:
        citizen = citizen_with_papers(wallet, papers=[])
        own = uploaded(wallet, citizen.token, "birth_certificate", birth_certificate_fields(citizen.data))
        agency = agency_token(wallet, ISSUER, scopes=("documents:issue",))
        signed = issued(wallet, agency, citizen, "cccd", cccd(citizen))
        spec = procedure(wallet, "passport_issue")
        draft = start(wallet, citizen, "passport_issue")
        check_draft(draft, spec, {"cccd": signed, "birth_certificate": own})
        from_card = [n for n, (t, _f) in sources(spec).items() if t == "cccd"]
        same(draft["read_only"], from_card)
        assert all(draft["provenance"][n]["read_only"] for n in from_card)
        assert not any(p["read_only"] for n, p in draft["provenance"].items() if n not in from_card)

        changed = {"full_name": "Nguyễn Văn Khác", "nationality": "Lào", "request_kind": "lan_dau"}
        body = problem(patch(wallet, citizen.token, draft["id"], {"fields": changed}), 409, "field_read_only")
        assert error_fields(body) == {"full_name", "nationality"}
        assert application(wallet, citizen.token, draft["id"])["fields"] == draft["fields"]  # nothing applied

        same_values = {"full_name": signed["fields"]["full_name"], "request_kind": "lan_dau"}
        after = ok(patch(wallet, citizen.token, draft["id"], {"fields": same_values}))
        assert after["fields"] == draft["fields"] | {"request_kind": "lan_dau"}
        assert after["provenance"] == draft["provenance"]
        same(after["read_only"], from_card)

    def test_a_signed_paper_chosen_later_replaces_a_typed_value(self, wallet: Wallet) -> None:
        citizen = citizen_with_papers(wallet, papers=[])
        agency = agency_token(wallet, ISSUER, scopes=("documents:issue",))
        signed = issued(wallet, agency, citizen, "cccd", cccd(citizen))
        later(wallet)
        own = uploaded(wallet, citizen.token, "cccd", cccd(citizen))
        draft = start(wallet, citizen, "passport_issue")
        # One request may choose a self-uploaded paper and type over what it gives.
        body = {"documents": {"cccd": own["id"]}, "fields": {"full_name": "Nguyễn Văn Gõ Tay"}}
        typed = ok(patch(wallet, citizen.token, draft["id"], body))
        assert typed["fields"]["full_name"] == "Nguyễn Văn Gõ Tay" and "full_name" not in typed["prefilled"]
        # Choosing the signed card brings back its certified value: a dossier never contradicts its signed paper.
        back = ok(patch(wallet, citizen.token, draft["id"], {"documents": {"cccd": signed["id"]}}))
        assert back["fields"]["full_name"] == signed["fields"]["full_name"]
        assert back["provenance"]["full_name"]["document_id"] == signed["id"]
        assert "full_name" in back["read_only"]

    def test_a_self_uploaded_value_can_be_typed_over_and_null_clears_typed_values(self, wallet: Wallet) -> None:
        citizen = citizen_with_papers(wallet, papers=[])
        card = uploaded(wallet, citizen.token, "cccd", cccd(citizen))
        born = uploaded(wallet, citizen.token, "birth_certificate", birth_certificate_fields(citizen.data))
        draft = start(wallet, citizen, "passport_issue")
        assert draft["read_only"] == [] and "place_of_birth" in draft["prefilled"]
        typed = {"place_of_birth": "Bệnh viện Trung ương Huế", "request_kind": "bi_mat"}
        assert typed["place_of_birth"] != born["fields"]["place_of_birth"]
        after = ok(patch(wallet, citizen.token, draft["id"], {"fields": typed}))
        assert after["fields"] == draft["fields"] | typed
        same(after["prefilled"], set(draft["prefilled"]) - {"place_of_birth"})
        assert after["provenance"] == {k: v for k, v in draft["provenance"].items() if k != "place_of_birth"}
        assert "request_kind" not in after["missing_fields"]
        # stored as typed, and a refresh from the wallet does not overwrite it
        assert application(wallet, citizen.token, draft["id"])["fields"] == after["fields"]
        assert refresh(wallet, citizen.token, draft["id"])["fields"] == after["fields"]
        assert {a["document_id"] for a in after["attached_documents"]} == {card["id"], born["id"]}
        # null clears: an asked field is empty (and missing) again, a sourced one falls back to the wallet's value
        cleared = ok(patch(wallet, citizen.token, draft["id"], {"fields": dict.fromkeys(typed)}))
        assert cleared["fields"] == draft["fields"]
        assert cleared["fields"]["place_of_birth"] == born["fields"]["place_of_birth"]
        assert cleared["provenance"] == draft["provenance"]
        same(cleared["missing_fields"], draft["missing_fields"])
        assert "request_kind" in cleared["missing_fields"]


class TestPatchValidation:
    @pytest.mark.e2e
    def test_unknown_fields_and_wrong_values_are_named(self, wallet: Wallet) -> None:
        citizen = citizen_with_papers(wallet, papers=[])
        draft = start(wallet, citizen, "birth_registration")
        wrong = {"ten_la": "x", "child_date_of_birth": "24/11/2026", "child_sex": "trai", "relationship": 3}
        body = problem(patch(wallet, citizen.token, draft["id"], {"fields": wrong}), 422, "validation_failed")
        assert error_fields(body) == set(wrong)
        for name, value in {"child_date_of_birth": "2026-02-30", "child_full_name": 12}.items():
            answer = patch(wallet, citizen.token, draft["id"], {"fields": {name: value}})
            assert error_fields(problem(answer, 422, "validation_failed")) == {name}
        assert application(wallet, citizen.token, draft["id"])["fields"] == draft["fields"]

        licence = start(wallet, citizen, "driver_license_renewal")
        choices = {f["name"]: f.get("choices") for f in procedure(wallet, "driver_license_renewal")["fields"]}
        for value in ("B", ["B", "Z9"], [1]):
            answer = patch(wallet, citizen.token, licence["id"], {"fields": {"license_classes": value}})
            assert error_fields(problem(answer, 422, "validation_failed")) == {"license_classes"}
        answer = patch(wallet, citizen.token, licence["id"], {"fields": {"license_classes": ["B", "A1"]}})
        assert ok(answer)["fields"]["license_classes"] == [c for c in choices["license_classes"] if c in ("A1", "B")]

    def test_every_field_type_is_checked(self, make_wallet: Callable[..., Wallet], tmp_path: Path) -> None:
        """The shipped catalog asks no integer: a catalog of one's own (WALLET_PROCEDURES_FILE) has every type."""
        catalog = tmp_path / "procedures.yaml"
        catalog.write_text(SURVEY, encoding="utf-8")
        wallet = make_wallet(procedures_file=catalog)
        citizen = citizen_with_papers(wallet, papers=[])
        draft = start(wallet, citizen, "household_survey")
        spec = procedure(wallet, "household_survey")
        assert {f["name"]: f["type"] for f in spec["fields"]} == {
            "full_name": "string",
            "members": "int",
            "languages": "list",
            "moved_on": "date",
            "tenure": "enum",
        }
        bad: dict[str, list[Any]] = {
            "members": ["3", 2.5, True],
            "languages": ["vi", ["xx"], [], [1]],
            "moved_on": ["01/11/2026", "2026-13-01", 20261101],
            "tenure": ["thue_nha", 1],
            "full_name": [7, ["Nguyễn"]],
        }
        for name, values in bad.items():
            for value in values:
                answer = patch(wallet, citizen.token, draft["id"], {"fields": {name: value}})
                assert error_fields(problem(answer, 422, "validation_failed")) == {name}, (name, value)
        good = {"members": 3, "languages": ["en", "vi"], "moved_on": "2026-11-01", "tenure": "so_huu"}
        after = ok(patch(wallet, citizen.token, draft["id"], {"fields": good}))
        assert after["fields"] == {"full_name": None} | good | {"languages": ["vi", "en"]}  # the catalog's order
        assert after["missing_fields"] == ["full_name"]


SURVEY = """
procedures:
  - code: household_survey
    name: Khảo sát hộ gia đình
    name_en: Household survey
    agency: {code: ubnd_xa, name: Ủy ban nhân dân xã}
    processing_days: 3
    required_documents: [cccd]
    fields:
      - {name: full_name, label: Họ và tên, label_en: Full name, source: cccd.full_name}
      - {name: members, label: Số thành viên, label_en: Members, type: int}
      - name: languages
        label: Ngôn ngữ
        label_en: Languages
        type: list
        required: false
        choices:
          - {value: vi, label: Tiếng Việt, label_en: Vietnamese}
          - {value: en, label: Tiếng Anh, label_en: English}
          - {value: fr, label: Tiếng Pháp, label_en: French}
      - {name: moved_on, label: Ngày chuyển đến, label_en: Moved in on, type: date, required: false}
      - name: tenure
        label: Hình thức sở hữu
        label_en: Tenure
        type: enum
        choices:
          - {value: so_huu, label: Sở hữu, label_en: Owned}
          - {value: thue, label: Thuê, label_en: Rented}
"""


class TestChoosePaper:
    def test_the_chosen_paper_is_attached_and_its_values_are_pulled(self, wallet: Wallet) -> None:
        citizen = citizen_with_papers(wallet, papers=[])
        older = uploaded(wallet, citizen.token, "cccd", cccd(citizen, place_of_residence="Số 4 Lê Lợi, Huế"))
        born = uploaded(wallet, citizen.token, "birth_certificate", birth_certificate_fields(citizen.data))
        later(wallet)
        newer = uploaded(wallet, citizen.token, "cccd", cccd(citizen, place_of_residence="Số 6 Ngô Quyền, Huế"))
        spec = procedure(wallet, "passport_issue")
        draft = start(wallet, citizen, "passport_issue")
        check_draft(draft, spec, {"cccd": newer, "birth_certificate": born})
        chosen = ok(patch(wallet, citizen.token, draft["id"], {"documents": {"cccd": older["id"]}}))
        expected = expected_draft(spec, {"cccd": older, "birth_certificate": born})
        assert chosen["fields"] == expected["fields"] and chosen["provenance"] == expected["provenance"]
        assert chosen["fields"]["permanent_address"] == older["fields"]["place_of_residence"]
        attached = {a["type"]: a for a in chosen["attached_documents"]}
        assert attached["cccd"] == {"type": "cccd", "document_id": older["id"], "origin": "chosen", "version": None}
        assert attached["birth_certificate"]["origin"] == "prefill"
        # a pinned paper stays, even when a newer one arrives
        later(wallet)
        uploaded(wallet, citizen.token, "cccd", cccd(citizen, place_of_residence="Số 11 Trần Hưng Đạo, Huế"))
        refreshed = refresh(wallet, citizen.token, draft["id"])
        assert refreshed["attached_documents"] == chosen["attached_documents"]
        assert refreshed["fields"] == chosen["fields"]
        # another citizen's paper, one of another type, an unknown id, a type the procedure never takes: refused
        other = citizen_with_papers(wallet, papers=[])
        theirs = uploaded(wallet, other.token, "cccd", cccd(other))
        refused = {
            "cccd": [theirs["id"], born["id"], "01a2101d-0000-7000-8000-000000000000"],
            "diploma": [older["id"]],
        }
        for type_code, ids in refused.items():
            for document_id in ids:
                answer = patch(wallet, citizen.token, draft["id"], {"documents": {type_code: document_id}})
                assert error_fields(problem(answer, 422, "validation_failed")) == {f"documents.{type_code}"}
        now = application(wallet, citizen.token, draft["id"])
        assert now["attached_documents"] == chosen["attached_documents"] and now["fields"] == chosen["fields"]


# -- papers added while the draft waits ----------------------------------------------------------------------------
class TestPaperAddedLater:
    def test_a_paper_stored_later_fills_the_draft_on_refresh(self, wallet: Wallet) -> None:
        citizen = citizen_with_papers(wallet, papers=[])
        card = uploaded(wallet, citizen.token, "cccd", cccd(citizen))
        spec = procedure(wallet, "criminal_record_request")
        draft = start(wallet, citizen, "criminal_record_request")
        check_draft(draft, spec, {"cccd": card})
        assert draft["missing_documents"] == ["residence"]
        later(wallet)
        home = uploaded(wallet, citizen.token, "residence", residence_fields(citizen.data))
        born = uploaded(wallet, citizen.token, "birth_certificate", birth_certificate_fields(citizen.data))
        refreshed = refresh(wallet, citizen.token, draft["id"])
        check_draft(refreshed, spec, {"cccd": card, "residence": home, "birth_certificate": born})
        assert refreshed["fields"]["permanent_address"] == home["fields"]["permanent_address"]
        assert {a["origin"] for a in refreshed["attached_documents"]} == {"prefill"}

    def test_a_paper_uploaded_into_the_dossier_is_kept_in_the_wallet(self, wallet: Wallet) -> None:
        citizen = citizen_with_papers(wallet, papers=[])
        card = uploaded(wallet, citizen.token, "cccd", cccd(citizen))
        spec = procedure(wallet, "criminal_record_request")
        draft = start(wallet, citizen, "criminal_record_request")
        sent = residence_fields(citizen.data, permanent_address="Số 15 Điện Biên Phủ, Đà Nẵng")
        after = ok(upload_into(wallet, citizen.token, draft["id"], "residence", sent), 201)
        attached = {a["type"]: a for a in after["attached_documents"]}
        assert attached["residence"]["origin"] == "uploaded" and attached["cccd"]["origin"] == "prefill"
        # stored in the wallet first: GET /documents holds it, with its scan
        stored = [d for d in ok(wallet.get("/documents", token=citizen.token))["items"] if d["type"] == "residence"]
        assert [d["id"] for d in stored] == [attached["residence"]["document_id"]]
        home = paper(wallet, citizen.token, stored[0]["id"])
        assert home["fields"]["permanent_address"] == sent["permanent_address"] and len(home["files"]) == 1
        expected = expected_draft(spec, {"cccd": card, "residence": home})
        assert after["fields"] == expected["fields"] and after["provenance"] == expected["provenance"]
        assert after["missing_documents"] == []
        assert refresh(wallet, citizen.token, draft["id"])["attached_documents"] == after["attached_documents"]
        # never asked again: another procedure pulling from that type gets it from the wallet
        assert "residence" in {t for t, _f in sources(procedure(wallet, "permanent_residence")).values()}
        moving = start(wallet, citizen, "permanent_residence")
        assert moving["fields"]["current_address"] == sent["permanent_address"]
        assert moving["provenance"]["current_address"]["document_id"] == home["id"]
        reused = {"type": "residence", "document_id": home["id"], "origin": "prefill", "version": None}
        assert reused in moving["attached_documents"]
        # a paper this procedure never takes is refused, and not stored
        refused = upload_into(
            wallet, citizen.token, draft["id"], "residence_proof", residence_proof_fields(citizen.data)
        )
        assert error_fields(problem(refused, 422, "validation_failed")) == {"type"}
        assert len(ok(wallet.get("/documents", token=citizen.token))["items"]) == 2


# -- submission ----------------------------------------------------------------------------------------------------
class TestSubmission:
    def test_an_incomplete_dossier_is_refused_a_complete_one_submitted_and_frozen(self, wallet: Wallet) -> None:
        citizen = citizen_with_papers(wallet, papers=[])
        card = uploaded(wallet, citizen.token, "cccd", cccd(citizen))
        born = uploaded(wallet, citizen.token, "birth_certificate", birth_certificate_fields(citizen.data))
        started_at = wallet.clock.now()
        draft = start(wallet, citizen, "criminal_record_request")
        body = problem(submit(wallet, citizen.token, draft["id"]), 422, "application_incomplete")
        assert error_fields(body) == set(draft["missing_fields"]) | {"documents.residence"}
        assert {"form", "purpose", "permanent_address"} <= error_fields(body)
        asked = [f["name"] for f in procedure(wallet, "criminal_record_request")["fields"] if "source" not in f]
        ok(
            patch(
                wallet, citizen.token, draft["id"], {"fields": asked_values(wallet, draft | {"missing_fields": asked})}
            )
        )
        body = problem(submit(wallet, citizen.token, draft["id"]), 422, "application_incomplete")
        assert error_fields(body) == {"permanent_address", "documents.residence"}
        still = application(wallet, citizen.token, draft["id"])
        assert (still["status"], still["dossier_code"], still["submitted_at"]) == ("draft", None, None)
        assert [e["status"] for e in still["history"]] == ["draft"]

        home = uploaded(wallet, citizen.token, "residence", residence_fields(citizen.data))
        home = updated(wallet, citizen.token, home, temporary_address="Số 3 Hàng Bài, Hà Nội")  # version 2
        later(wallet, 5)
        sent_at = wallet.clock.now()
        dossier = ok(submit(wallet, citizen.token, draft["id"]))  # submitting pulls the new paper in
        assert dossier["status"] == "submitted" and dossier["missing_fields"] == dossier["missing_documents"] == []
        assert dossier["fields"]["permanent_address"] == home["fields"]["permanent_address"]
        assert DOSSIER_CODE.match(dossier["dossier_code"]), dossier["dossier_code"]
        assert dossier["dossier_code"][3:11] == f"{sent_at:%Y%m%d}"
        assert at(dossier["submitted_at"]) == sent_at and at(dossier["created_at"]) == started_at
        assert at(dossier["due_at"]) == due_after(sent_at, 10)  # a criminal record extract: 10 working days
        assert application(wallet, citizen.token, dossier["id"])["due_at"] == dossier["due_at"]
        versions = {d["id"]: d["version"] for d in (card, born, home)}
        assert versions[home["id"]] == 2
        assert {a["document_id"]: a["version"] for a in dossier["attached_documents"]} == versions
        history = [(e["status"], at(e["at"]), e["actor"]["type"]) for e in dossier["history"]]
        assert history == [("draft", started_at, "citizen"), ("submitted", sent_at, "citizen")]

        later(wallet)
        renewed = updated(wallet, citizen.token, home, permanent_address="Số 20 Quang Trung, Đà Nẵng")
        assert renewed["version"] == 3
        shown = application(wallet, citizen.token, dossier["id"])
        assert {a["document_id"]: a["version"] for a in shown["attached_documents"]} == versions
        assert shown["fields"] == dossier["fields"]

        problem(submit(wallet, citizen.token, dossier["id"]), 409, "application_already_submitted")
        again = application(wallet, citizen.token, dossier["id"])
        assert again["dossier_code"] == dossier["dossier_code"] and len(again["history"]) == 2


def at(stamp: str) -> datetime:
    return datetime.fromisoformat(stamp)


# -- disclosure ----------------------------------------------------------------------------------------------------
class TestDisclosure:
    def test_the_submission_is_logged_per_paper_and_for_the_form(self, wallet: Wallet) -> None:
        citizen = citizen_with_papers(wallet)
        other = citizen_with_papers(wallet, papers=[])
        uploaded(wallet, other.token, "cccd", cccd(other))
        start(wallet, other, "criminal_record_request")
        spec = procedure(wallet, "criminal_record_request")
        start(wallet, citizen, "criminal_record_request")
        assert not [e for e in access_log(wallet, citizen.token) if e["action"] == "dossier_submitted"]  # drafts
        dossier = submitted(wallet, citizen, "criminal_record_request")
        entries = [e for e in access_log(wallet, citizen.token) if e["action"] == "dossier_submitted"]
        attached = [a["document_id"] for a in dossier["attached_documents"]]
        assert set(attached) >= {citizen.papers["cccd"], citizen.papers["residence"]}
        assert sorted(e.get("document_id", "") for e in entries) == sorted([*attached, ""])  # per paper + the form
        for entry in entries:
            assert entry["actor"] == {"type": "agency", "code": spec["agency"]["code"], "name": spec["agency"]["name"]}
            assert entry["purpose"] == f"Hồ sơ {dossier['dossier_code']}: {spec['name']}"
            assert at(entry["at"]) == wallet.clock.now()
        assert not [e for e in access_log(wallet, other.token) if e["action"] == "dossier_submitted"]


# -- isolation and roles -------------------------------------------------------------------------------------------
class TestIsolation:
    @pytest.mark.e2e
    def test_only_the_owner_sees_or_touches_a_dossier(self, wallet: Wallet) -> None:
        owner = citizen_with_papers(wallet, papers=[])
        uploaded(wallet, owner.token, "cccd", cccd(owner))
        draft = start(wallet, owner, "passport_issue")
        dossier = submitted(wallet, owner, "passport_issue")
        intruder = citizen_with_papers(wallet, papers=[])
        for target in (draft["id"], dossier["id"]):
            path = f"/api/v1/applications/{target}"
            tries = [
                wallet.client.get(path, headers=auth(intruder.token)),
                patch(wallet, intruder.token, target, {"fields": {"request_kind": "bi_mat"}}),
                wallet.client.post(f"{path}/submit", headers=auth(intruder.token)),
                wallet.client.post(f"{path}/refresh", headers=auth(intruder.token)),
                wallet.client.post(f"{path}/rating", json={"score": 1}, headers=auth(intruder.token)),
                wallet.client.delete(path, headers=auth(intruder.token)),
                upload_into(wallet, intruder.token, target, "cccd", cccd(intruder)),
            ]
            for answer in tries:
                problem(answer, 404, "application_not_found")
        assert ok(wallet.get("/documents", token=intruder.token))["items"] == []
        assert application(wallet, owner.token, draft["id"])["fields"] == draft["fields"]
        mine = application(wallet, owner.token, dossier["id"])
        assert (mine["status"], mine["rating"]) == ("submitted", None)
        # an agency's token is refused (403), no token at all is unauthenticated (401)
        agency = agency_token(wallet, "ca_xnc")
        for headers, status in ((auth(agency), 403), ({}, 401)):
            answers = [
                wallet.client.get("/api/v1/applications", headers=headers),
                wallet.client.post("/api/v1/applications", json={"procedure_code": "passport_issue"}, headers=headers),
                wallet.client.get(f"/api/v1/applications/{draft['id']}", headers=headers),
                wallet.client.post(f"/api/v1/applications/{draft['id']}/submit", headers=headers),
            ]
            for answer in answers:
                assert answer.status_code == status, answer.text
                assert answer.headers["content-type"].startswith(PROBLEM_JSON)
        assert application(wallet, owner.token, draft["id"])["status"] == "draft"

    def test_the_list_shows_only_ones_own_with_a_status_filter_and_paging(self, wallet: Wallet) -> None:
        citizen = citizen_with_papers(wallet, papers=[])
        uploaded(wallet, citizen.token, "cccd", cccd(citizen))
        drafts = [start(wallet, citizen, code)["id"] for code in ("birth_registration", "permanent_residence")]
        sent = submitted(wallet, citizen, "passport_issue")
        other = citizen_with_papers(wallet, papers=[])
        theirs = start(wallet, other, "passport_issue")

        first = ok(wallet.get("/applications", token=citizen.token, params={"limit": 2}))
        assert len(first["items"]) == 2 and first["next_cursor"]
        params = {"limit": 2, "cursor": first["next_cursor"]}
        second = ok(wallet.get("/applications", token=citizen.token, params=params))
        assert len(second["items"]) == 1 and second["next_cursor"] is None
        listed = first["items"] + second["items"]
        same([item["id"] for item in listed], [*drafts, sent["id"]])
        assert next(item for item in listed if item["id"] == sent["id"]) == {k: sent[k] for k in SUMMARY_KEYS}

        def ids(token: str, **params: Any) -> list[str]:
            return [i["id"] for i in ok(wallet.get("/applications", token=token, params=params))["items"]]

        same(ids(citizen.token, status="draft"), drafts)
        assert ids(citizen.token, status="submitted") == [sent["id"]]
        assert ids(citizen.token, status="completed") == []
        assert ids(other.token) == [theirs["id"]]

    @pytest.mark.e2e
    def test_a_draft_can_be_deleted_a_submitted_dossier_neither_deleted_nor_changed(self, wallet: Wallet) -> None:
        citizen = citizen_with_papers(wallet, papers=[])
        uploaded(wallet, citizen.token, "cccd", cccd(citizen))
        draft = start(wallet, citizen, "passport_issue")
        dossier = submitted(wallet, citizen, "passport_issue")
        answer = wallet.client.delete(f"/api/v1/applications/{draft['id']}", headers=auth(citizen.token))
        assert answer.status_code == 204, answer.text
        problem(wallet.get(f"/applications/{draft['id']}", token=citizen.token), 404, "application_not_found")

        path = f"/api/v1/applications/{dossier['id']}"
        problem(wallet.client.delete(path, headers=auth(citizen.token)), 409, "application_not_editable")
        answer = patch(wallet, citizen.token, dossier["id"], {"fields": {"request_kind": "bi_mat"}})
        problem(answer, 409, "application_not_editable")
        problem(wallet.client.post(f"{path}/refresh", headers=auth(citizen.token)), 409, "application_not_editable")
        before = ok(wallet.get("/documents", token=citizen.token))["items"]
        born = birth_certificate_fields(citizen.data)
        problem(
            upload_into(wallet, citizen.token, dossier["id"], "birth_certificate", born),
            409,
            "application_not_editable",
        )
        assert ok(wallet.get("/documents", token=citizen.token))["items"] == before  # nothing stored either
        assert application(wallet, citizen.token, dossier["id"]) == dossier
        assert [i["id"] for i in ok(wallet.get("/applications", token=citizen.token))["items"]] == [dossier["id"]]


SUMMARY_KEYS = (
    "id",
    "procedure_code",
    "procedure_name",
    "agency",
    "status",
    "dossier_code",
    "created_at",
    "updated_at",
    "submitted_at",
    "due_at",
)


# -- rating --------------------------------------------------------------------------------------------------------
class TestRating:
    def test_a_submitted_dossier_is_rated_once(self, wallet: Wallet) -> None:
        citizen = citizen_with_papers(wallet, papers=[])
        uploaded(wallet, citizen.token, "cccd", cccd(citizen))
        draft = start(wallet, citizen, "passport_issue")
        rating = f"/applications/{draft['id']}/rating"
        problem(wallet.post(rating, {"score": 5}, token=citizen.token), 409, "application_not_submitted")
        ok(patch(wallet, citizen.token, draft["id"], {"fields": asked_values(wallet, draft)}))
        ok(submit(wallet, citizen.token, draft["id"]))
        later(wallet, 2)
        comment = "Nhanh, không phải khai lại"
        given = ok(wallet.post(rating, {"score": 5, "comment": comment}, token=citizen.token), 201)
        assert given == {"score": 5, "comment": comment, "rated_at": given["rated_at"]}
        assert at(given["rated_at"]) == wallet.clock.now()
        problem(wallet.post(rating, {"score": 1}, token=citizen.token), 409, "already_rated")
        assert application(wallet, citizen.token, draft["id"])["rating"] == given

    @pytest.mark.e2e
    def test_a_score_must_be_an_integer_from_one_to_five(self, wallet: Wallet) -> None:
        citizen = citizen_with_papers(wallet, papers=[])
        uploaded(wallet, citizen.token, "cccd", cccd(citizen))
        dossier = submitted(wallet, citizen, "passport_issue")
        for score in (0, 6, -1, 4.5, None, "5", True):
            answer = wallet.post(f"/applications/{dossier['id']}/rating", {"score": score}, token=citizen.token)
            assert answer.status_code == 422, (score, answer.text)
            assert "score" in error_fields(problem(answer, 422, "validation_failed")), score
        assert application(wallet, citizen.token, dossier["id"])["rating"] is None


# -- at rest ---------------------------------------------------------------------------------------------------------
PURPOSE = "Du học MARKER-PURPOSE-8c1d"
COMMENT = "Rất tốt MARKER-COMMENT-5e2a"


def variants(secret: str) -> set[bytes]:
    """The byte forms a string could take at rest (UTF-8 NFC/NFD, UTF-16, and their hex), in both cases."""
    out: set[bytes] = set()
    for cased in {secret, secret.lower(), secret.upper()}:
        for form in {unicodedata.normalize("NFC", cased), unicodedata.normalize("NFD", cased)}:
            for encoding in ("utf-8", "utf-16-le", "utf-16-be"):
                raw = form.encode(encoding)
                out |= {raw, raw.hex().encode(), raw.hex().upper().encode()}
    return out


def raw_rows(wallet: Wallet, table: str) -> list[bytes]:
    """Every row of a table as bytes, read with plain SQL: binary columns as stored, the others as text."""
    engine = container_of(wallet.app.state).engine
    with engine.connect() as connection:
        rows = connection.execute(text(f"SELECT * FROM {table}")).all()  # noqa: S608 - fixed table names
    return [
        b"\x00".join(bytes(v) if isinstance(v, bytes | memoryview) else str(v).encode() for v in row) for row in rows
    ]


class TestAtRest:
    def test_typed_values_and_the_rating_comment_are_never_stored_in_clear(self, wallet: Wallet) -> None:
        citizen = citizen_with_papers(wallet, papers=[])
        uploaded(wallet, citizen.token, "cccd", cccd(citizen))
        uploaded(wallet, citizen.token, "residence", residence_fields(citizen.data))
        uploaded(wallet, citizen.token, "birth_certificate", birth_certificate_fields(citizen.data))
        draft = start(wallet, citizen, "criminal_record_request")
        ok(patch(wallet, citizen.token, draft["id"], {"fields": {"form": "2", "purpose": PURPOSE}}))
        ok(submit(wallet, citizen.token, draft["id"]))
        ok(
            wallet.post(f"/applications/{draft['id']}/rating", {"score": 4, "comment": COMMENT}, token=citizen.token),
            201,
        )
        shown = application(wallet, citizen.token, draft["id"])
        assert shown["fields"]["purpose"] == PURPOSE and shown["rating"]["comment"] == COMMENT  # they went in

        secrets = {"purpose": variants("MARKER-PURPOSE-8c1d"), "comment": variants("MARKER-COMMENT-5e2a")}
        secrets["national id"] = variants(citizen.data["national_id"])  # a prefilled value, sealed alike
        rows = {
            table: raw_rows(wallet, table) for table in ("application", "application_event", "application_document")
        }
        assert any(draft["id"].encode() in row for row in rows["application"])  # the search looks where the rows are
        assert len(rows["application_event"]) == len(shown["history"]) == 2
        assert len(rows["application_document"]) == len(shown["attached_documents"]) == 3
        leaks = {
            f"{table} row {i}": sorted(name for name, forms in secrets.items() if any(f in row for f in forms))
            for table, table_rows in rows.items()
            for i, row in enumerate(table_rows)
        }
        assert {where: hits for where, hits in leaks.items() if hits} == {}
