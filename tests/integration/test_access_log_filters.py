"""`GET /me/access-log` narrowed by agency and period (optional query parameters `agency`, `since`, `until`), on
both databases with a frozen clock: the citizen proofed at a counter, then an agency's pulls under a consent."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from tests.integration.conftest import START, Wallet
from tests.integration.consent_helpers import Agency, Citizen, make_agency, make_citizen


def log(citizen: Citizen, **params: Any) -> dict[str, Any]:
    answer = citizen.wallet.get("/me/access-log", citizen.token, params=params)
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def pulled_twice(wallet: Wallet) -> tuple[Citizen, Agency]:
    """A proofed citizen (the counter's scan and proofing at START), then two pulls an hour apart, from START + 1 h."""
    citizen = make_citizen(wallet)
    agency = make_agency(wallet)
    consent = citizen.approved(agency.requested(citizen.national_id))
    for _ in range(2):
        wallet.clock.advance(timedelta(hours=1))
        assert agency.pull(consent["id"]).status_code == 200
    citizen.relogin()  # the morning's session has lapsed
    return citizen, agency


class TestAccessLogFilters:
    def test_by_agency_only_its_entries(self, wallet: Wallet) -> None:
        citizen, agency = pulled_twice(wallet)
        everyone = {e["actor"]["code"] for e in log(citizen)["items"]}
        assert agency.code in everyone and len(everyone) == 2  # the counter's agency too
        items = log(citizen, agency=agency.code)["items"]
        assert [e["action"] for e in items] == ["consent_pull", "consent_pull"]
        assert {e["actor"]["name"] for e in items} == {agency.name}

    def test_by_period_since_inclusive_until_exclusive(self, wallet: Wallet) -> None:
        citizen, _ = pulled_twice(wallet)
        second_pull = START + timedelta(hours=2)
        since = log(citizen, since=second_pull.isoformat())["items"]
        assert [e["at"] for e in since] == ["2026-11-24T10:00:00Z"]
        until = log(citizen, until=second_pull.isoformat())["items"]
        assert "2026-11-24T10:00:00Z" not in [e["at"] for e in until] and len(until) >= 3
        vietnam_morning = "2026-11-24T16:00:00+07:00"  # 09:00 UTC, the first pull
        both = log(citizen, since=vietnam_morning, until="2026-11-24T09:00:01Z")["items"]
        assert [e["at"] for e in both] == ["2026-11-24T09:00:00Z"]

    def test_the_cursor_pages_through_the_filtered_entries(self, wallet: Wallet) -> None:
        citizen, agency = pulled_twice(wallet)
        first = log(citizen, agency=agency.code, limit=1)
        assert [e["at"] for e in first["items"]] == ["2026-11-24T10:00:00Z"] and first["next_cursor"]
        rest = log(citizen, agency=agency.code, limit=1, cursor=first["next_cursor"])
        assert [e["at"] for e in rest["items"]] == ["2026-11-24T09:00:00Z"] and rest["next_cursor"] is None

    def test_a_time_without_its_offset_is_refused(self, wallet: Wallet) -> None:
        citizen = make_citizen(wallet, papers=False)
        answer = wallet.get("/me/access-log", citizen.token, params={"since": "2026-11-24T08:00:00"})
        assert answer.status_code == 422
        assert answer.json()["code"] == "validation_failed"
        assert [e["field"] for e in answer.json()["errors"]] == ["since"]

    def test_the_filters_are_in_the_schema(self, wallet: Wallet) -> None:
        schema = wallet.client.get("/schema/openapi.json").json()
        parameters = schema["paths"]["/api/v1/me/access-log"]["get"]["parameters"]
        found = {p["name"]: p for p in parameters}
        assert {"limit", "cursor", "agency", "since", "until"} <= set(found)
        assert not any(found[name].get("required") for name in ("agency", "since", "until"))
        for bound in ("since", "until"):
            assert {"type": "string", "format": "date-time"} in found[bound]["schema"]["oneOf"]
