"""Every list route pages alike: `limit` 1..200 (else 422 naming it), an opaque `cursor`, 400 `invalid_cursor`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.integration.conftest import Wallet
from tests.integration.forms_helpers import agency_token, citizen_with_papers, start

GARBAGE = "Zm9vYmFy-not-a-cursor-<script>"
CITIZEN_ROUTES = [
    "/documents",
    "/me/access-log",
    "/me/notifications",
    "/me/consents",
    "/me/consent-requests",
    "/applications",
]
AGENCY_ROUTES = ["/agency/applications"]


@pytest.fixture
def tokens(wallet: Wallet) -> dict[str, str]:
    citizen = citizen_with_papers(wallet, papers=[], proofed=False)
    for _ in range(3):  # more than one page at limit=1 for the applications and the access log
        start(wallet, citizen, "passport_issue")
    agency = agency_token(wallet, "CA-HN", scopes=("applications:process",))
    return {"citizen": citizen.token, "agency": agency}


ROUTES = [(path, "citizen") for path in CITIZEN_ROUTES] + [(path, "agency") for path in AGENCY_ROUTES]
Check = Callable[[Any], None]


def get(wallet: Wallet, path: str, token: str, **params: Any) -> Any:
    return wallet.get(path, token, params=params)


@pytest.mark.parametrize(("path", "who"), ROUTES)
class TestEveryListRoute:
    @pytest.mark.parametrize("limit", ["0", "201", "abc", "-1"])
    def test_a_limit_out_of_bounds_is_422_naming_limit(
        self, wallet: Wallet, tokens: dict[str, str], path: str, who: str, limit: str
    ) -> None:
        answer = get(wallet, path, tokens[who], limit=limit)
        assert answer.status_code == 422, answer.text
        assert answer.json()["code"] == "validation_failed"
        assert "limit" in {e["field"] for e in answer.json()["errors"]}

    @pytest.mark.parametrize("limit", ["1", "200"])
    def test_the_bounds_are_accepted(
        self, wallet: Wallet, tokens: dict[str, str], path: str, who: str, limit: str
    ) -> None:
        assert get(wallet, path, tokens[who], limit=limit).status_code == 200

    @pytest.mark.parametrize("cursor", [GARBAGE, "x" * 5000, "", "%00"])
    def test_a_garbage_cursor_is_400_invalid_cursor_without_echo(
        self, wallet: Wallet, tokens: dict[str, str], path: str, who: str, cursor: str
    ) -> None:
        answer = get(wallet, path, tokens[who], cursor=cursor)
        if cursor == "":
            assert answer.status_code == 200, answer.text  # no cursor: the first page
            return
        assert answer.status_code == 400, answer.text
        assert answer.json()["code"] == "invalid_cursor"
        assert cursor not in answer.text and "not-a-cursor" not in answer.text

    def test_a_valid_cursor_round_trips(self, wallet: Wallet, tokens: dict[str, str], path: str, who: str) -> None:
        seen: list[Any] = []
        cursor: str | None = None
        for _ in range(20):
            params: dict[str, Any] = {"limit": 1} | ({"cursor": cursor} if cursor else {})
            answer = get(wallet, path, tokens[who], **params)
            assert answer.status_code == 200, answer.text
            page = answer.json()
            assert len(page["items"]) <= 1
            seen += [item.get("id", item.get("seq", item)) for item in page["items"]]
            cursor = page["next_cursor"]
            if not cursor:
                break
        assert cursor is None
        assert len(seen) == len({str(s) for s in seen})  # no item twice


def test_the_schema_shows_the_bounds(wallet: Wallet) -> None:
    schema = wallet.client.get("/schema/openapi.json").json()
    for path, _who in ROUTES:
        params = {p["name"]: p for p in schema["paths"][f"/api/v1{path}"]["get"]["parameters"]}
        limit = params["limit"]["schema"]
        integer = next((s for s in limit.get("oneOf", [limit]) if s.get("type") == "integer"), limit)
        bounds = (limit.get("minimum", integer.get("minimum")), limit.get("maximum", integer.get("maximum")))
        assert bounds == (1, 200), (path, limit)
        assert "cursor" in params
