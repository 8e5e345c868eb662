"""The counter scan's reads (in-memory SQLite): the officer with their agency and the citizen of a QR id, each in
one statement, with the values the ORM queries they replace return."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import create_engine, event
from sqlmodel import Session, SQLModel

from identity.models import Agency, Citizen, Officer
from identity.repository import IdentityRepository, OfficerState, QrHolder, QrSubject

NOW = datetime(2026, 11, 24, 8, 0, tzinfo=UTC)


@pytest.fixture
def session() -> Iterator[Session]:
    engine = create_engine("sqlite://")
    tables = [SQLModel.metadata.tables[t] for t in ("agency", "officer", "citizen")]
    SQLModel.metadata.create_all(engine, tables=tables)
    with Session(engine) as session:
        session.add(
            Agency(code="CA-DN", name="Công an Đà Nẵng", client_id="c", secret_hash="h", scopes="", created_at=NOW)
        )
        session.add(
            Officer(id="o1", phone="0901", full_name="Lê Văn A", agency_code="CA-DN", pin_hash="p", created_at=NOW)
        )
        session.add(
            Citizen(
                id="c1",
                national_id_index="n",
                phone_index="p",
                qr_id="q1",
                profile_sealed=b"sealed",
                pin_hash="p",
                status="active",
                created_at=NOW,
            )
        )
        session.commit()
        session.expunge_all()
        yield session
    engine.dispose()


def statements(session: Session) -> list[str]:
    seen: list[str] = []
    event.listen(session.get_bind(), "before_cursor_execute", lambda *args: seen.append(args[2]))
    return seen


def test_the_officer_and_agency_read_in_one_statement(session: Session) -> None:
    seen = statements(session)
    expected = OfficerState("active", "Lê Văn A", "CA-DN", "Công an Đà Nẵng", "active", "")
    assert IdentityRepository(session).officer_state("o1") == expected
    assert len(seen) == 1
    officer, agency = session.get(Officer, "o1"), session.get(Agency, "CA-DN")
    assert officer is not None and agency is not None
    assert (officer.status, officer.full_name, agency.code, agency.name, agency.status, agency.scopes) == expected
    assert IdentityRepository(session).officer_state("nobody") is None


def test_an_officer_without_agency_row_has_none(session: Session) -> None:
    session.add(Officer(id="o2", phone="0902", full_name="B", agency_code="GONE", pin_hash="p", created_at=NOW))
    session.flush()
    assert IdentityRepository(session).officer_state("o2") == OfficerState("active", "B", None, None, None, None)


def test_the_citizen_of_a_qr_id(session: Session) -> None:
    repo = IdentityRepository(session)
    assert repo.qr_holder("q1") == QrHolder("c1", "active", b"sealed")
    assert repo.qr_holder("unknown") is None


def test_the_qr_subject_of_a_citizen(session: Session) -> None:
    seen = statements(session)
    repo = IdentityRepository(session)
    assert repo.qr_subject("c1") == QrSubject("active", "q1")
    assert len(seen) == 1
    assert repo.qr_subject("nobody") is None
