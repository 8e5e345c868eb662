"""The rules of a consent request, the field restriction of a shared paper, and the state machines."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from consent.errors import ConsentInvalid
from consent.models import Consent, ConsentEvent, ConsentRequest
from consent.pulls import restrict
from consent.rules import check_request, notice_text, requested_documents, sha256_hex
from consent.state import (
    SYSTEM,
    EventActor,
    IllegalTransition,
    move_consent,
    move_request,
    settle_consent,
    settle_request,
)
from wallet.catalog import CATALOG
from wallet.schemas import DocumentPublic, FilePublic, VerificationPublic

NOW = datetime(2026, 11, 24, 8, 0, tzinfo=UTC)
VALID = {
    "national_id": "048095100001",
    "document_types": ["cccd"],
    "fields": None,
    "purpose": "Cấp hộ chiếu",
    "valid_days": 30,
}
CCCD_FIELDS = [spec.name for spec in CATALOG["cccd"].fields]


def _check(**overrides: Any) -> None:
    check_request(**(VALID | overrides))


def _problems(**overrides: Any) -> dict[str, list[str]]:
    with pytest.raises(ConsentInvalid) as caught:
        _check(**overrides)
    return caught.value.errors


class TestCheckRequest:
    def test_a_valid_request_passes(self) -> None:
        _check()
        _check(document_types=list(CATALOG), fields={"cccd": ["number"]}, valid_days=365)

    def test_every_problem_is_reported_at_once(self) -> None:
        problems = _problems(national_id="1", document_types=["x"], purpose=" ", valid_days=0)
        assert set(problems) == {"national_id", "document_types", "purpose", "valid_days"}

    @given(st.text(alphabet=" \t\u00a0\u3000", max_size=20))
    def test_a_blank_purpose_is_refused(self, purpose: str) -> None:
        assert "purpose" in _problems(purpose=purpose)

    @given(st.text(st.characters(exclude_categories=("Cc", "Cs")), min_size=1, max_size=500).filter(str.strip))
    def test_any_one_line_purpose_is_accepted_verbatim(self, purpose: str) -> None:
        _check(purpose=purpose)

    @given(st.lists(st.sampled_from(CCCD_FIELDS), min_size=1, unique=True))
    def test_any_set_of_known_fields_is_accepted(self, names: list[str]) -> None:
        _check(fields={"cccd": names})

    def test_fields_only_for_requested_types(self) -> None:
        assert set(_problems(fields={"diploma": ["title"]})) == {"fields.diploma"}


def _document(**overrides: Any) -> DocumentPublic:
    values: dict[str, Any] = {
        "id": "d1",
        "type": "cccd",
        "fields": {name: f"value of {name}" for name in CCCD_FIELDS} | {"expiry_date": "2035-03-02"},
        "files": [FilePublic(id="f1", filename="a.png", content_type="image/png", size=3)],
        "source": "issuer",
        "provenance": "issuer_signed",
        "issuer": None,
        "status": "active",
        "version": 3,
        "created_at": NOW,
        "updated_at": NOW,
        "valid_until": date(2035, 3, 2),
        "verification": VerificationPublic(token="t", url="u"),
    }
    return DocumentPublic(**(values | overrides))


class TestRestrict:
    @given(st.lists(st.sampled_from(CCCD_FIELDS), min_size=1, unique=True))
    def test_exactly_the_listed_fields_and_nothing_derived(self, names: list[str]) -> None:
        shared = restrict(_document(), {"cccd": names})
        assert list(shared.fields) == names
        assert shared.files == [] and shared.verification is None
        assert shared.valid_until == (date(2035, 3, 2) if "expiry_date" in names else None)
        assert (shared.id, shared.version, shared.status) == ("d1", 3, "active")

    def test_a_type_without_a_list_is_shared_whole(self) -> None:
        document = _document()
        assert restrict(document, None) == document
        assert restrict(document, {"diploma": ["title"]}) == document


class TestNotice:
    def test_names_the_agency_purpose_papers_duration_and_counter(self) -> None:
        documents = requested_documents(["cccd", "diploma"], {"cccd": ["full_name"]})
        text = notice_text(
            agency_code="CA-DN",
            agency_name="Công an Đà Nẵng",
            purpose="Đăng ký thường trú",
            documents=documents,
            valid_days=7,
            at_counter=True,
        )
        for part in ("Công an Đà Nẵng", "CA-DN", "Đăng ký thường trú", "Họ và tên", "7 ngày", "tại quầy", "91/2025"):
            assert part in text
        assert sha256_hex(text) == sha256_hex(text) and len(sha256_hex(text)) == 64


class _Repo:
    def __init__(self) -> None:
        self.rows: list[object] = []

    def add(self, *rows: object) -> None:
        self.rows.extend(rows)

    @property
    def events(self) -> list[ConsentEvent]:
        return [r for r in self.rows if isinstance(r, ConsentEvent)]


def _request(status: str = "pending") -> ConsentRequest:
    return ConsentRequest(
        id="r1",
        agency_code="A",
        agency_name="A",
        national_id_index="i",
        purpose="p",
        document_types=["cccd"],
        valid_days=1,
        collection_method="app",
        notice="n",
        notice_sha256="h",
        status=status,
        created_at=NOW,
        expires_at=NOW + timedelta(days=7),
    )


def _consent(status: str = "active") -> Consent:
    return Consent(
        id="c1",
        request_id="r1",
        citizen_id="z",
        agency_code="A",
        agency_name="A",
        purpose="p",
        document_types=["cccd"],
        document_ids=["d1"],
        collection_method="app",
        notice_sha256="h",
        status=status,
        created_at=NOW,
        valid_until=NOW + timedelta(days=1),
        artefact="x",
    )


class TestStateMachines:
    @pytest.mark.parametrize("to", ["approved", "denied", "expired"])
    def test_a_pending_request_moves_once(self, to: str) -> None:
        repo, request = _Repo(), _request()
        move_request(repo, request, to, actor=EventActor("citizen", "z"), at=NOW)  # type: ignore[arg-type]
        assert request.status == to
        [event] = repo.events
        assert (event.from_status, event.to_status, event.actor_type, event.at) == ("pending", to, "citizen", NOW)
        for again in ("pending", "approved", "denied", "expired"):
            with pytest.raises(IllegalTransition):
                move_request(repo, request, again, actor=SYSTEM, at=NOW)  # type: ignore[arg-type]

    @pytest.mark.parametrize("to", ["revoked", "expired"])
    def test_an_active_consent_ends_once(self, to: str) -> None:
        repo, consent = _Repo(), _consent()
        move_consent(repo, consent, to, actor=SYSTEM, at=NOW)  # type: ignore[arg-type]
        with pytest.raises(IllegalTransition):
            move_consent(repo, consent, "active", actor=SYSTEM, at=NOW)  # type: ignore[arg-type]

    def test_expiry_is_settled_at_the_boundary_with_the_time_it_happened(self) -> None:
        repo, request, consent = _Repo(), _request(), _consent()
        settle_request(repo, request, NOW + timedelta(days=7) - timedelta(microseconds=1))  # type: ignore[arg-type]
        settle_consent(repo, consent, NOW + timedelta(days=1) - timedelta(microseconds=1))  # type: ignore[arg-type]
        assert (request.status, consent.status, repo.events) == ("pending", "active", [])
        settle_request(repo, request, NOW + timedelta(days=30))  # type: ignore[arg-type]
        settle_consent(repo, consent, NOW + timedelta(days=1))  # type: ignore[arg-type]
        assert (request.status, consent.status) == ("expired", "expired")
        assert [(e.to_status, e.at, e.actor_type) for e in repo.events] == [
            ("expired", NOW + timedelta(days=7), "system"),
            ("expired", NOW + timedelta(days=1), "system"),
        ]
