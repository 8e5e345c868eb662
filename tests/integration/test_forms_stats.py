"""The statistics computed by the database equal the same figures computed here, in Python, from the test's own
dossier rows (random but seeded: ties, odd and even group sizes, microseconds, missing times, every status), on
SQLite and PostgreSQL, for every procedure, for the total and within periods (Vietnam's days)."""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from statistics import median
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlmodel import Session

from crypto.clock import FrozenClock
from forms.catalog import ProcedureCatalog
from forms.models import Application
from forms.schemas import StatsReport
from forms.stats import Period, StatsService, longest_span
from forms.stats_sql import TOTAL, Selection, portable_figures, postgres_figures
from identity.models import Citizen
from identity.notices import VIETNAM
from identity.sessions import Principal
from storage.db import create_db_engine
from tests.integration.conftest import Wallet
from tests.integration.forms_helpers import agency_token, citizen_with_papers, submitted
from tests.integration.wallet_helpers import auth

PASSPORT = "passport_issue"
NOW = datetime(2026, 6, 15, 3, 0, tzinfo=UTC)
STATUSES = ("draft", "submitted", "processing", "needs_info", "completed", "rejected")
ADMIN = Principal(role="agency", subject_id="bo_cong_an", scopes=frozenset({"admin"}))
FIGURES = (
    "started",
    "submitted",
    "completed",
    "rejected",
    "median_seconds_login_to_submission",
    "prefill_ratio",
    "papers_reused",
    "papers_uploaded",
    "ratings",
    "satisfaction_rate",
    "median_processing_seconds",
    "overdue",
)


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = create_db_engine(database_url, pool_size=1)
    yield engine
    engine.dispose()


def _citizen() -> Citizen:
    return Citizen(
        national_id_index="n",
        phone_index="p",
        qr_id="q",
        profile_sealed=b"x",
        pin_hash="h",
        status="active",
        created_at=NOW,
    )


def _dossier(rng: random.Random, citizen_id: str, procedure_code: str, index: int) -> Application:
    created = NOW - timedelta(days=rng.randint(0, 60), seconds=rng.randint(0, 86_399), microseconds=rng.randint(0, 999))
    status = rng.choice(STATUSES)
    submitted = None if status == "draft" else created + timedelta(seconds=rng.choice([30, 90, 299, 301, 900]))
    login = (
        submitted - timedelta(seconds=rng.randint(1, 600), microseconds=rng.randint(0, 999_999)) if submitted else None
    )
    decided = (
        submitted + timedelta(hours=rng.randint(0, 200)) if submitted and status in ("completed", "rejected") else None
    )
    fields = rng.randint(5, 12)
    return Application(
        id=f"{procedure_code[:8]}-{index:06d}",
        citizen_id=citizen_id,
        procedure_code=procedure_code,
        agency_code="x",
        status=status,
        wrapped_key=b"k",
        sealed=b"s",
        field_count=fields,
        prefilled_count=rng.randint(0, fields),
        reused_count=rng.randint(0, 3),
        uploaded_count=rng.randint(0, 2),
        login_at=login if rng.random() > 0.1 else None,  # some sessions predate the column
        created_at=created,
        updated_at=created,
        submitted_at=submitted,
        decided_at=decided,
        due_at=submitted + timedelta(days=rng.randint(1, 40)) if submitted else None,
        rating_score=rng.choice([None, 1, 2, 3, 4, 5]),
    )


def _seed(engine: Engine, codes: Sequence[str]) -> list[Application]:
    rng = random.Random(12)
    with Session(engine) as session:
        citizen = _citizen()
        session.add(citizen)
        session.flush()
        # Uneven sizes: one procedure has none, one a single dossier, the others odd and even counts.
        sizes = [0, 1, 40, 41, 57, 64][: len(codes)]
        rows = [
            _dossier(rng, citizen.id, code, i) for code, size in zip(codes, sizes, strict=False) for i in range(size)
        ]
        session.add_all(rows)
        session.commit()
        for row in rows:
            session.refresh(row)
            session.expunge(row)
    return rows


@dataclass(frozen=True)
class Expected:
    """The figures, computed the plain way."""

    rows: Sequence[Application]

    def figures(self) -> dict[str, object]:
        rows = self.rows
        sent = [r for r in rows if r.submitted_at is not None]
        to_submit = [(r.submitted_at - r.login_at).total_seconds() for r in sent if r.login_at and r.submitted_at]
        deciding = [(r.decided_at - r.submitted_at).total_seconds() for r in sent if r.decided_at and r.submitted_at]
        fields = sum(r.field_count for r in sent)
        scores = [r.rating_score for r in rows if r.rating_score is not None]
        open_late = [r for r in rows if r.status in ("submitted", "processing") and r.due_at and r.due_at < NOW]
        return {
            "started": len(rows),
            "submitted": len(sent),
            "completed": sum(r.status == "completed" for r in rows),
            "rejected": sum(r.status == "rejected" for r in rows),
            "median_seconds_login_to_submission": median(to_submit) if to_submit else None,
            "prefill_ratio": sum(r.prefilled_count for r in sent) / fields if fields else None,
            "papers_reused": sum(r.reused_count for r in sent),
            "papers_uploaded": sum(r.uploaded_count for r in sent),
            "ratings": len(scores),
            "satisfaction_rate": sum(s >= 4 for s in scores) / len(scores) if scores else None,
            "median_processing_seconds": median(deciding) if deciding else None,
            "overdue": len(open_late),
        }


def _approx(figures: dict[str, object]) -> dict[str, object]:
    return {k: pytest.approx(v, rel=1e-12) if isinstance(v, float) else v for k, v in figures.items()}


def _report(engine: Engine, principal: Principal, period: Period | None = None) -> StatsReport:
    with Session(engine) as session:
        return StatsService(session, ProcedureCatalog.shipped(), FrozenClock(NOW)).report(principal, period)


def _placed(row: Application) -> date:
    """The Vietnam day a dossier belongs to: its submission's, else its start's."""
    at = row.submitted_at or row.created_at
    return at.astimezone(VIETNAM).date()


def test_every_figure_equals_the_plain_computation(engine: Engine) -> None:
    codes = [p.code for p in ProcedureCatalog.shipped().all()]
    rows = _seed(engine, codes)
    report = _report(engine, ADMIN)
    assert [item.procedure_code for item in report.items] == codes
    for item in report.items:
        mine = [r for r in rows if r.procedure_code == item.procedure_code]
        assert item.model_dump(include=set(FIGURES)) == _approx(Expected(mine).figures()), item.procedure_code
    assert report.total.model_dump() == _approx(Expected(rows).figures())
    assert report.total.overdue > 0 and report.total.median_seconds_login_to_submission is not None
    assert (report.period_from, report.period_to) == (None, None)


@pytest.mark.parametrize(
    ("first", "last"),
    [(date(2026, 5, 20), date(2026, 6, 1)), (date(2026, 6, 10), None), (None, date(2026, 5, 1))],
)
def test_a_period_counts_the_dossiers_of_its_vietnam_days(
    engine: Engine, first: date | None, last: date | None
) -> None:
    codes = [p.code for p in ProcedureCatalog.shipped().all()]
    rows = _seed(engine, codes)
    inside = [r for r in rows if (first is None or _placed(r) >= first) and (last is None or _placed(r) <= last)]
    assert 0 < len(inside) < len(rows)
    report = _report(engine, ADMIN, Period(first, last))
    assert report.total.model_dump() == _approx(Expected(inside).figures())
    for item in report.items:
        mine = [r for r in inside if r.procedure_code == item.procedure_code]
        assert item.model_dump(include=set(FIGURES)) == _approx(Expected(mine).figures()), item.procedure_code
    assert (report.period_from, report.period_to) == (first, last)


def test_the_day_boundary_is_midnight_in_vietnam(engine: Engine) -> None:
    code = ProcedureCatalog.shipped().all()[0].code
    with Session(engine) as session:
        citizen = _citizen()
        session.add(citizen)
        session.flush()
        # 16:59:59.999999 UTC on 1 June is 23:59:59.999999 in Vietnam (1 June); one microsecond later is 2 June.
        for i, at in enumerate(
            [datetime(2026, 6, 1, 16, 59, 59, 999_999, UTC), datetime(2026, 6, 1, 17, 0, tzinfo=UTC)]
        ):
            row = _dossier(random.Random(i), citizen.id, code, i)
            row.status, row.created_at, row.submitted_at = "submitted", at - timedelta(minutes=1), at
            session.add(row)
        session.commit()
    first_day = _report(engine, ADMIN, Period(date(2026, 6, 1), date(2026, 6, 1)))
    second_day = _report(engine, ADMIN, Period(date(2026, 6, 2), date(2026, 6, 2)))
    assert (first_day.total.submitted, second_day.total.submitted) == (1, 1)


@pytest.mark.postgres
@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
def test_one_postgres_scan_gives_the_portable_figures(engine: Engine) -> None:
    """PostgreSQL's one scan (the sums and `percentile_cont(0.5)`) and the portable queries (grouped sums, ORDER
    BY/LIMIT medians), on the same dossiers: groups of 0 (absent from both), 1, 40, 41, 57 and 64 rows, the total, a
    period, and a selection with no dossier at all."""
    codes = [p.code for p in ProcedureCatalog.shipped().all()]
    rows = _seed(engine, codes)
    selections = [
        Selection(codes),
        Selection(codes, start=NOW - timedelta(days=20)),
        Selection(codes[2:4]),  # an odd and an even group
        Selection(codes[:1]),  # the empty group only
        Selection(codes, start=NOW + timedelta(days=1)),
    ]
    with Session(engine) as session:
        for selection in selections:
            assert postgres_figures(session, selection, NOW) == portable_figures(session, selection, NOW), selection
    with Session(engine) as session:
        everything = postgres_figures(session, Selection(codes), NOW)
    plain = [(r.submitted_at - r.login_at).total_seconds() for r in rows if r.login_at and r.submitted_at]
    assert everything.to_submit[TOTAL] == pytest.approx(median(plain), rel=1e-12)
    assert codes[0] not in everything.to_submit and len(everything.to_submit) == len(codes)  # empty: no median
    assert codes[0] not in everything.sums and sum(s.started for s in everything.sums.values()) == len(rows)


def test_the_longest_span_of_working_days() -> None:
    assert longest_span(1) == timedelta(days=3)  # received on a Friday, due on Monday
    assert longest_span(5) == timedelta(days=7)
    assert longest_span(10) == timedelta(days=14)


class TestApi:
    """`GET /stats` answers as before, plus `total`, the period and `overdue`."""

    def test_period_total_and_overdue(self, wallet: Wallet) -> None:
        xnc = agency_token(wallet, "ca_xnc")
        citizen = citizen_with_papers(wallet)
        dossier = submitted(wallet, citizen, PASSPORT)
        today = wallet.clock.now().astimezone(VIETNAM).date()

        def stats(**query: str) -> dict[str, Any]:
            answer = wallet.client.get("/api/v1/stats", params=query, headers=auth(xnc))
            assert answer.status_code == 200, answer.text
            return dict(answer.json())

        everything = stats()
        assert everything["total"] == {k: v for k, v in everything["items"][0].items() if k in FIGURES}
        assert (everything["total"]["submitted"], everything["total"]["overdue"]) == (1, 0)
        assert everything["items"][0]["processing_days"] == ProcedureCatalog.shipped().get(PASSPORT).processing_days
        assert (everything["period_from"], everything["period_to"]) == (None, None)
        same_day = stats(**{"from": today.isoformat(), "to": today.isoformat()})
        assert (same_day["total"]["submitted"], same_day["period_from"]) == (1, today.isoformat())
        assert stats(**{"from": (today + timedelta(days=1)).isoformat()})["total"]["started"] == 0
        assert stats(to=(today - timedelta(days=1)).isoformat())["total"]["started"] == 0

        due = datetime.fromisoformat(_ok(wallet.get(f"/agency/applications/{dossier['id']}", token=xnc))["due_at"])
        wallet.clock.advance(due - wallet.clock.now() + timedelta(seconds=1))
        admin = agency_token(wallet, "bo_cong_an", scopes=("admin",))  # a fresh token (the first has expired)
        later = _ok(wallet.get("/stats", token=admin))
        assert (
            later["total"]["overdue"] == next(i for i in later["items"] if i["procedure_code"] == PASSPORT)["overdue"]
        )
        assert later["total"]["overdue"] == 1

        backwards = wallet.client.get(
            "/api/v1/stats", params={"from": today.isoformat(), "to": "2020-01-01"}, headers=auth(admin)
        )
        assert backwards.status_code == 422, backwards.text
        assert wallet.client.get("/api/v1/stats", params={"from": "31/12"}, headers=auth(admin)).status_code == 422
        # The calendar's ends are open bounds, not a fault (their midnight in UTC lies outside datetime's range).
        for ends in ({"from": "0001-01-01"}, {"to": "9999-12-31"}, {"from": "0001-01-01", "to": "9999-12-31"}):
            whole = _ok(wallet.client.get("/api/v1/stats", params=ends, headers=auth(admin)))
            assert whole["total"]["started"] == later["total"]["started"], ends


def _ok(answer: Any) -> dict[str, Any]:
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def test_the_schema_documents_the_period_and_the_new_figures(wallet: Wallet) -> None:
    schema = wallet.client.get("/schema/openapi.json").json()
    operation = schema["paths"]["/api/v1/stats"]["get"]
    assert {p["name"] for p in operation["parameters"] if p["in"] == "query"} >= {"from", "to"}
    total = schema["components"]["schemas"]["StatsTotal"]["properties"]
    assert set(FIGURES) <= set(total)
    assert {"overdue", "processing_days"} <= set(schema["components"]["schemas"]["ProcedureStats"]["properties"])
