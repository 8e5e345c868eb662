"""Due dates: a procedure's processing time counted in working days of Vietnam's calendar."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from forms.catalog import SHIPPED, ProcedureCatalog
from forms.procedure import due_after

VN = timezone(timedelta(hours=7))


@pytest.mark.parametrize(
    ("received", "days", "due"),
    [
        (datetime(2026, 12, 7, 9, 30, tzinfo=VN), 1, datetime(2026, 12, 8, 9, 30, tzinfo=VN)),  # Monday → Tuesday
        (datetime(2026, 12, 11, 16, 0, tzinfo=VN), 1, datetime(2026, 12, 14, 16, 0, tzinfo=VN)),  # Friday → Monday
        (datetime(2026, 12, 12, 10, 0, tzinfo=VN), 1, datetime(2026, 12, 14, 10, 0, tzinfo=VN)),  # Saturday → Monday
        (datetime(2026, 12, 13, 10, 0, tzinfo=VN), 5, datetime(2026, 12, 18, 10, 0, tzinfo=VN)),  # Sunday + a week
        (datetime(2026, 12, 7, 9, 0, tzinfo=VN), 8, datetime(2026, 12, 17, 9, 0, tzinfo=VN)),  # a passport
    ],
)
def test_working_days_skip_the_weekend(received: datetime, days: int, due: datetime) -> None:
    assert due_after(received, days) == due


def test_the_weekend_is_vietnams() -> None:
    # 18:00 UTC on a Friday is already Saturday 01:00 in Vietnam: one working day later is Monday 01:00 there
    # (Sunday 18:00 UTC), where counting in UTC would have said Monday 18:00
    received = datetime(2026, 12, 11, 18, 0, tzinfo=UTC)
    due = due_after(received, 1)
    assert due == datetime(2026, 12, 13, 18, 0, tzinfo=UTC)
    assert due.tzinfo == UTC


@given(
    st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)),  # noqa: DTZ001 - hypothesis bounds are naive
    st.integers(min_value=1, max_value=365),
)
def test_every_due_date_falls_on_a_working_day_and_counts_exactly(received: datetime, days: int) -> None:
    due = due_after(received, days)
    local_received, local_due = received.astimezone(VN), due.astimezone(VN)
    assert local_due.weekday() < 5
    assert local_due.time() == local_received.time()
    span = (local_due.date() - local_received.date()).days
    working = sum((local_received.date() + timedelta(days=n)).weekday() < 5 for n in range(1, span + 1))
    assert working == days


def test_every_shipped_procedure_states_its_processing_time() -> None:
    catalog = ProcedureCatalog.load(SHIPPED)
    assert {p.code: p.processing_days for p in catalog.all()} == {
        "passport_issue": 8,
        "birth_registration": 1,
        "driver_license_renewal": 5,
        "criminal_record_request": 10,
        "permanent_residence": 7,
        "child_health_insurance": 5,
    }
