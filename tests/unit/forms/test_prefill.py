"""Once-only prefill rules (forms/prefill.py) as pure functions: which paper of a type is the best, how a dossier's
sheet is filled from papers (keeping what the citizen typed), and what is still missing."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from forms.prefill import (
    Applicant,
    Sheet,
    about_applicant,
    best_by_type,
    best_paper,
    missing_documents,
    missing_fields,
    pull,
    used_types,
    wanted_types,
)
from forms.procedure import AgencyRef, Procedure, ProcedureField, Source
from wallet.schemas import DocumentPublic, IssuerPublic

T0 = datetime(2026, 11, 24, 8, 0, tzinfo=UTC)
STATUSES = ("active", "expired", "revoked", "superseded")
PROVENANCES = ("self_uploaded", "issuer_signed")
_ids = itertools.count(1)


def doc(
    type_code: str = "cccd",
    *,
    status: str = "active",
    provenance: str = "self_uploaded",
    minutes: int = 0,
    fields: dict[str, Any] | None = None,
    version: int = 1,
    doc_id: str | None = None,
) -> DocumentPublic:
    """A paper as the wallet shows it, updated `minutes` after T0."""
    at = T0 + timedelta(minutes=minutes)
    signed = provenance == "issuer_signed"
    return DocumentPublic(
        id=doc_id or f"doc-{next(_ids):06d}",
        type=type_code,
        fields=fields or {},
        files=[],
        source="issuer" if signed else "citizen",
        provenance=provenance,
        issuer=IssuerPublic(code="cuc_cs_qlhc", name="Cục Cảnh sát QLHC") if signed else None,
        status=status,
        version=version,
        created_at=at,
        updated_at=at,
        valid_until=None,
    )


def asked(name: str, kind: str = "string", *, required: bool = True) -> ProcedureField:
    return ProcedureField(name, name, name, kind, required, None)  # type: ignore[arg-type]


def sourced(name: str, source: str, kind: str = "string", *, required: bool = True) -> ProcedureField:
    type_code, field = source.split(".")
    return ProcedureField(name, name, name, kind, required, Source(type_code, field))  # type: ignore[arg-type]


PROCEDURE = Procedure(
    code="sample",
    name="Thủ tục mẫu",
    name_en="Sample",
    agency=AgencyRef("ubnd_xa", "Ủy ban nhân dân xã"),
    fields=(
        sourced("full_name", "cccd.full_name"),
        sourced("date_of_birth", "cccd.date_of_birth", "date"),
        sourced("place_of_birth", "birth_certificate.place_of_birth"),
        sourced("father_name", "birth_certificate.father_name", required=False),
        sourced("classes", "driver_license.classes", "list", required=False),
        asked("purpose"),
        asked("note", required=False),
    ),
    required_documents=("cccd", "residence"),
)
CARD = {"full_name": "Nguyễn Văn An", "date_of_birth": "1995-03-02", "number": "048095100001"}
BIRTH = {"place_of_birth": "Đà Nẵng", "father_name": "Nguyễn Văn Hùng"}


# -- best_paper ---------------------------------------------------------------------------------------------------
class TestBestPaper:
    def test_nothing_usable_is_no_paper(self) -> None:
        assert best_paper([]) is None
        assert best_paper([doc(status="revoked", provenance="issuer_signed"), doc(status="superseded")]) is None

    def test_revoked_never_even_when_signed_and_newest(self) -> None:
        expired = doc(status="expired", minutes=0)
        assert best_paper([doc(status="revoked", provenance="issuer_signed", minutes=9), expired]) is expired

    def test_active_before_expired_even_when_signed_and_newer(self) -> None:
        active = doc(minutes=0)
        assert best_paper([doc(status="expired", provenance="issuer_signed", minutes=9), active]) is active

    def test_issuer_signed_before_self_uploaded_even_when_older(self) -> None:
        signed = doc(provenance="issuer_signed", minutes=0)
        assert best_paper([doc(minutes=9), signed, doc(minutes=5)]) is signed

    def test_newest_first_among_equals(self) -> None:
        papers = [doc(minutes=m) for m in (3, 7, 1)]
        assert best_paper(papers) is papers[1]
        signed = [doc(provenance="issuer_signed", status="expired", minutes=m) for m in (2, 4)]
        assert best_paper(signed) is signed[1]

    def test_of_papers_stored_at_the_same_instant_the_later_stored_wins(self) -> None:
        # Ids are time-ordered (UUIDv7), so the greater id is the paper stored last.
        first, second = doc(doc_id="01a2-0001"), doc(doc_id="01a2-0002")
        assert best_paper([first, second]) is second
        assert best_paper([second, first]) is second

    @settings(max_examples=300, deadline=None)
    @given(
        st.lists(
            st.tuples(st.sampled_from(STATUSES), st.sampled_from(PROVENANCES), st.integers(0, 20)),
            max_size=12,
        ),
        st.randoms(use_true_random=False),
    )
    def test_the_choice_follows_the_rule_for_any_wallet(self, specs: list[tuple[str, str, int]], rnd: Any) -> None:
        papers = [doc(status=s, provenance=p, minutes=m) for s, p, m in specs]
        chosen = best_paper(papers)
        usable = [p for p in papers if p.status in ("active", "expired")]
        if not usable:
            assert chosen is None
            return
        assert chosen is not None and chosen in papers
        assert chosen.status not in {"revoked", "superseded"}
        if any(p.status == "active" for p in papers):
            assert chosen.status == "active"
        if any(p.status == "active" and p.provenance == "issuer_signed" for p in papers):
            assert chosen.provenance == "issuer_signed"
        top = [p for p in usable if (p.status, p.provenance) == (chosen.status, chosen.provenance)]
        assert chosen.updated_at == max(p.updated_at for p in top)  # the newest of its class
        shuffled = papers[:]
        rnd.shuffle(shuffled)
        assert best_paper(shuffled) is chosen  # ties are broken the same way whatever the wallet's order


# -- best_by_type -------------------------------------------------------------------------------------------------
APPLICANT = Applicant(national_id="048095100001", full_name="Nguyễn Văn An", date_of_birth="1995-03-02")


class TestBestByType:
    def test_one_best_paper_per_type_and_none_for_a_type_of_only_revoked_papers(self) -> None:
        card_old, card_new = doc("cccd", minutes=1), doc("cccd", minutes=2)
        licence = doc("driver_license", status="expired")
        revoked = doc("residence", status="revoked", provenance="issuer_signed")
        assert best_by_type([card_old, licence, revoked, card_new]) == {"cccd": card_new, "driver_license": licence}

    def test_a_paper_is_about_the_applicant_by_id_else_by_birth_date_and_name(self) -> None:
        assert about_applicant(doc("cccd", fields={"number": APPLICANT.national_id}), APPLICANT) is True
        assert about_applicant(doc("cccd", fields={"number": "048095100002"}), APPLICANT) is False
        assert about_applicant(doc("residence", fields={"national_id": APPLICANT.national_id}), APPLICANT) is True
        own = {"full_name": "  nguyễn  VĂN an ", "date_of_birth": "1995-03-02"}
        assert about_applicant(doc("birth_certificate", fields=own), APPLICANT) is True
        child = {"full_name": "Nguyễn Minh Khang", "date_of_birth": "2024-06-15"}
        assert about_applicant(doc("birth_certificate", fields=child), APPLICANT) is False
        namesake = {"full_name": "Nguyễn Văn Bình", "date_of_birth": "1995-03-02"}
        assert about_applicant(doc("birth_certificate", fields=namesake), APPLICANT) is False
        household = {"husband_name": "Nguyễn Văn An", "wife_name": "Trần Thị Bình"}
        assert about_applicant(doc("marriage_certificate", fields=household), APPLICANT) is None

    def test_own_types_skip_others_papers_and_dependant_types_skip_the_applicants(self) -> None:
        own = doc("birth_certificate", minutes=1, fields={"full_name": "Nguyễn Văn An", "date_of_birth": "1995-03-02"})
        child = doc(
            "birth_certificate", minutes=0, fields={"full_name": "Nguyễn Minh Khang", "date_of_birth": "2024-06-15"}
        )
        stranger_card = doc("cccd", minutes=5, provenance="issuer_signed", fields={"number": "048095100002"})
        card = doc("cccd", minutes=0, fields={"number": APPLICANT.national_id})
        marriage = doc("marriage_certificate", fields={"husband_name": "Nguyễn Văn An"})
        papers = [own, child, stranger_card, card, marriage]
        assert best_by_type(papers, APPLICANT) == {
            "birth_certificate": own,
            "cccd": card,
            "marriage_certificate": marriage,
        }
        for_child = best_by_type(papers, APPLICANT, ("birth_certificate",))
        assert for_child == {"birth_certificate": child, "cccd": card, "marriage_certificate": marriage}
        # a dependant type whose only paper is the applicant's own gives nothing, not the applicant's paper
        assert "birth_certificate" not in best_by_type([own, card], APPLICANT, ("birth_certificate",))
        # without an applicant nobody is told apart: the plain rule (newest)
        assert best_by_type(papers)["birth_certificate"] is own


# -- pull -----------------------------------------------------------------------------------------------------------
class TestPull:
    def test_fills_sourced_fields_with_their_provenance_and_leaves_asked_ones(self) -> None:
        card = doc("cccd", provenance="issuer_signed", fields=CARD, version=3)
        birth = doc("birth_certificate", fields=BIRTH)
        sheet = Sheet.blank(PROCEDURE)
        pull(PROCEDURE, sheet, {"cccd": card, "birth_certificate": birth})
        assert sheet.fields == {
            "full_name": CARD["full_name"],
            "date_of_birth": CARD["date_of_birth"],
            "place_of_birth": BIRTH["place_of_birth"],
            "father_name": BIRTH["father_name"],
            "classes": None,  # no driver's licence
            "purpose": None,
            "note": None,
        }
        assert sheet.prefilled == ["full_name", "date_of_birth", "place_of_birth", "father_name"]
        assert sheet.provenance["full_name"] == {
            "source": "cccd.full_name",
            "document_id": card.id,
            "type": "cccd",
            "provenance": "issuer_signed",
            "version": 3,
        }
        assert sheet.provenance["father_name"]["document_id"] == birth.id
        assert sheet.read_only == ["full_name", "date_of_birth"]
        assert used_types(PROCEDURE, sheet) == {"cccd", "birth_certificate"}

    def test_an_empty_value_on_the_paper_prefills_nothing(self) -> None:
        birth = doc("birth_certificate", fields={"place_of_birth": "", "father_name": None})
        licence = doc("driver_license", fields={"classes": []})
        sheet = Sheet.blank(PROCEDURE)
        pull(PROCEDURE, sheet, {"birth_certificate": birth, "driver_license": licence})
        assert sheet.prefilled == [] and sheet.provenance == {}
        assert all(value is None for value in sheet.fields.values())
        assert used_types(PROCEDURE, sheet) == set()

    def test_typed_values_are_kept_and_pulled_ones_follow_the_papers(self) -> None:
        sheet = Sheet.blank(PROCEDURE)
        sheet.set_entered("place_of_birth", "Huế")
        sheet.set_entered("purpose", "Du học")
        first = doc("cccd", fields=CARD)
        pull(PROCEDURE, sheet, {"cccd": first, "birth_certificate": doc("birth_certificate", fields=BIRTH)})
        assert (sheet.fields["place_of_birth"], sheet.fields["purpose"]) == ("Huế", "Du học")
        assert "place_of_birth" not in sheet.prefilled and sheet.entered("place_of_birth")
        assert sheet.fields["father_name"] == BIRTH["father_name"]
        # another paper replaces the pulled values and their provenance; typed ones stay
        renamed = doc("cccd", fields=CARD | {"full_name": "Nguyễn Văn Bình"}, version=2)
        pull(PROCEDURE, sheet, {"cccd": renamed})
        assert sheet.fields["full_name"] == "Nguyễn Văn Bình"
        assert sheet.provenance["full_name"]["document_id"] == renamed.id
        assert sheet.provenance["full_name"]["version"] == 2
        assert sheet.fields["place_of_birth"] == "Huế"
        # the birth certificate is gone: what it gave goes back to empty
        assert sheet.fields["father_name"] is None and "father_name" not in sheet.provenance
        # a paper gone altogether clears the values pulled from it
        pull(PROCEDURE, sheet, {})
        assert sheet.fields["full_name"] is None and sheet.prefilled == []
        assert sheet.fields["purpose"] == "Du học"

    def test_a_certified_value_replaces_a_typed_one(self) -> None:
        sheet = Sheet.blank(PROCEDURE)
        sheet.set_entered("full_name", "Gõ Tay")
        pull(PROCEDURE, sheet, {"cccd": doc("cccd", fields=CARD)})
        assert sheet.fields["full_name"] == "Gõ Tay"  # a self-uploaded paper does not override the citizen
        signed = doc("cccd", provenance="issuer_signed", fields=CARD)
        pull(PROCEDURE, sheet, {"cccd": signed})
        assert sheet.fields["full_name"] == CARD["full_name"]
        assert "full_name" in sheet.read_only

    def test_a_cleared_typed_value_is_pulled_again(self) -> None:
        sheet = Sheet.blank(PROCEDURE)
        sheet.set_entered("full_name", "Tên gõ tay")
        card = doc("cccd", fields=CARD)
        pull(PROCEDURE, sheet, {"cccd": card})
        assert sheet.fields["full_name"] == "Tên gõ tay"
        sheet.set_entered("full_name", None)
        pull(PROCEDURE, sheet, {"cccd": card})
        assert sheet.fields["full_name"] == CARD["full_name"] and "full_name" in sheet.prefilled

    def test_a_sheet_survives_sealing_as_json(self) -> None:
        sheet = Sheet.blank(PROCEDURE)
        pull(PROCEDURE, sheet, {"cccd": doc("cccd", fields=CARD)})
        sheet.set_entered("purpose", "Làm việc ở nước ngoài")
        sheet.submitted = {"fields": dict(sheet.fields), "documents": [], "at": T0.isoformat()}
        again = Sheet.loads(sheet.dumps())
        assert (again.fields, again.provenance, again.submitted) == (sheet.fields, sheet.provenance, sheet.submitted)
        assert "Làm việc".encode() in sheet.dumps()  # UTF-8 as is (sealed whole, never stored in clear)


# -- what is missing ----------------------------------------------------------------------------------------------
class TestMissing:
    def test_missing_fields_are_the_required_ones_left_empty(self) -> None:
        sheet = Sheet.blank(PROCEDURE)
        assert sorted(missing_fields(PROCEDURE, sheet)) == sorted(
            ["full_name", "date_of_birth", "place_of_birth", "purpose"]
        )
        pull(PROCEDURE, sheet, {"cccd": doc("cccd", fields=CARD)})
        sheet.set_entered("purpose", "")  # a blank is empty
        sheet.set_entered("note", "Ghi chú")  # optional: never missing
        assert sorted(missing_fields(PROCEDURE, sheet)) == ["place_of_birth", "purpose"]
        sheet.set_entered("place_of_birth", "Huế")
        sheet.set_entered("purpose", "Du lịch")
        assert missing_fields(PROCEDURE, sheet) == []

    def test_missing_documents_are_the_required_types_not_attached(self) -> None:
        assert missing_documents(PROCEDURE, []) == ["cccd", "residence"]
        assert missing_documents(PROCEDURE, ["birth_certificate", "cccd"]) == ["residence"]
        assert missing_documents(PROCEDURE, ["residence", "cccd"]) == []

    def test_wanted_types_are_the_required_then_the_sources_each_once(self) -> None:
        assert wanted_types(PROCEDURE) == ["cccd", "residence", "birth_certificate", "driver_license"]
