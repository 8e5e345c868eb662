"""Per-citizen limits beside the quota (API.md "Configuration", Limits): draft applications (`WALLET_MAX_DRAFTS`,
409 `too_many_drafts`, on the API and on the procedure page's `Bắt đầu`) and live pending consent requests to one
national ID (`WALLET_MAX_PENDING_CONSENTS`, 409 `too_many_pending_requests`, from an agency or its officer, and alike
whether or not the ID has an account). Both hold exactly under requests arriving together. Every test runs on SQLite
and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import date, timedelta
from typing import Any

from sqlalchemy import text

from tests.factories import make_cccd
from tests.integration.conftest import Wallet
from tests.integration.consent_helpers import PURPOSE, make_agency, make_citizen, officer_token
from tests.integration.forms_helpers import citizen_with_papers, start
from tests.integration.wallet_helpers import auth
from tests.integration.wallet_helpers import problem as _problem

PROCEDURE = "criminal_record_request"
AT_ONCE = 8  # requests sent together against a limit of LIMIT
LIMIT = 3


def _drafts(wallet: Wallet, token: str) -> list[str]:
    answer = wallet.get("/applications?status=draft", token)
    assert answer.status_code == 200, answer.text
    return [item["id"] for item in answer.json()["items"]]


def _stored(wallet: Wallet, query: str, citizen_id: str) -> int:
    with wallet.app.state.container.engine.connect() as connection:
        return int(connection.execute(text(query), {"c": citizen_id}).scalar_one())


def _together(send: Callable[[int], Any]) -> list[Any]:
    """`send(0)` … `send(AT_ONCE - 1)`, all in flight at once."""
    with ThreadPoolExecutor(max_workers=AT_ONCE) as pool:
        return list(pool.map(send, range(AT_ONCE)))


def _exactly_the_limit_passed(answers: list[Any], code: str) -> None:
    statuses = sorted(a.status_code for a in answers)
    assert statuses == [201] * LIMIT + [409] * (AT_ONCE - LIMIT), statuses
    for refused in (a for a in answers if a.status_code == 409):
        _problem(refused, 409, code)


def _csrf(wallet: Wallet) -> str:
    wallet.client.cookies.clear()
    wallet.client.get("/sign-in")
    token = wallet.client.cookies.get("cds_csrf")
    assert token, "the sign-in page sets the CSRF cookie"
    return str(token)


class TestDraftLimit:
    def test_a_citizen_holds_at_most_max_drafts_drafts(self, make_wallet: Callable[..., Wallet]) -> None:
        wallet = make_wallet(max_drafts=2)
        citizen = citizen_with_papers(wallet, papers=[])
        first = start(wallet, citizen, PROCEDURE)["id"]
        start(wallet, citizen, "passport_issue")
        refused = wallet.post("/applications", {"procedure_code": PROCEDURE}, token=citizen.token)
        _problem(refused, 409, "too_many_drafts")
        assert len(_drafts(wallet, citizen.token)) == 2  # nothing was created
        deleted = wallet.client.delete(f"/api/v1/applications/{first}", headers=auth(citizen.token))
        assert deleted.status_code == 204, deleted.text
        start(wallet, citizen, PROCEDURE)

    def test_the_limit_is_each_citizens_own(self, make_wallet: Callable[..., Wallet]) -> None:
        wallet = make_wallet(max_drafts=1)
        one, other = citizen_with_papers(wallet, papers=[]), citizen_with_papers(wallet, papers=[])
        start(wallet, one, PROCEDURE)
        _problem(wallet.post("/applications", {"procedure_code": PROCEDURE}, token=one.token), 409, "too_many_drafts")
        start(wallet, other, PROCEDURE)

    def test_drafts_started_together_stop_exactly_at_the_limit(self, make_wallet: Callable[..., Wallet]) -> None:
        wallet = make_wallet(max_drafts=LIMIT)
        citizen = make_citizen(wallet, papers=False)
        body = {"procedure_code": PROCEDURE}
        answers = _together(lambda _i: wallet.post("/applications", body, token=citizen.token))
        _exactly_the_limit_passed(answers, "too_many_drafts")
        query = "SELECT COUNT(*) FROM application WHERE citizen_id = :c AND status = 'draft'"
        assert _stored(wallet, query, citizen.id) == LIMIT
        assert len(_drafts(wallet, citizen.token)) == LIMIT

    def test_english_title_on_request(self, make_wallet: Callable[..., Wallet]) -> None:
        wallet = make_wallet(max_drafts=1)
        citizen = citizen_with_papers(wallet, papers=[])
        start(wallet, citizen, PROCEDURE)
        answer = wallet.client.post(
            "/api/v1/applications",
            json={"procedure_code": PROCEDURE},
            headers=auth(citizen.token) | {"accept-language": "en"},
        )
        body = _problem(answer, 409, "too_many_drafts")
        assert body["title"].startswith("Too many draft applications"), body

    def test_the_start_button_says_why_on_the_procedure_page(self, make_wallet: Callable[..., Wallet]) -> None:
        wallet = make_wallet(max_drafts=1)
        citizen = citizen_with_papers(wallet, papers=[])
        start(wallet, citizen, PROCEDURE)
        csrf = _csrf(wallet)
        headers = {"x-csrftoken": csrf, "cookie": f"cds_csrf={csrf}; cds_at={citizen.token}"}
        answer = wallet.client.post(f"/services/{PROCEDURE}/start", headers=headers, follow_redirects=False)
        assert answer.status_code == 409, answer.text[:500]
        assert answer.headers["content-type"].startswith("text/html")
        summary = answer.text.split('class="error-summary"', 1)[1].split("</div>", 1)[0]
        assert 'href="#start"' in summary and "Bạn đã có 1 hồ sơ nháp" in summary, summary
        assert 'id="start"' in answer.text
        assert len(_drafts(wallet, citizen.token)) == 1


class TestPendingRequestLimit:
    def test_a_national_id_gets_at_most_max_pending_requests(self, make_wallet: Callable[..., Wallet]) -> None:
        wallet = make_wallet(max_pending_consents=2)
        citizen = make_citizen(wallet, papers=False)
        first, second = make_agency(wallet), make_agency(wallet, name="Sở Tư pháp TP Đà Nẵng")
        first.requested(citizen.national_id)
        second.requested(citizen.national_id, purpose=f"{PURPOSE} (bản sao)")
        # any agency's requests count: the citizen's inbox is what the limit protects
        _problem(first.request(citizen.national_id, purpose="Một mục đích khác"), 409, "too_many_pending_requests")
        pending = wallet.get("/me/consent-requests?status=pending", citizen.token)
        assert pending.status_code == 200, pending.text
        assert len(pending.json()["items"]) == 2

    def test_requests_sent_together_stop_exactly_at_the_limit(self, make_wallet: Callable[..., Wallet]) -> None:
        wallet = make_wallet(max_pending_consents=LIMIT)
        citizen = make_citizen(wallet, papers=False)
        agency = make_agency(wallet)
        token = agency.token()
        answers = _together(lambda i: agency.request(citizen.national_id, token, purpose=f"{PURPOSE} ({i})"))
        _exactly_the_limit_passed(answers, "too_many_pending_requests")
        query = "SELECT COUNT(*) FROM consent_request WHERE citizen_id = :c AND status = 'pending'"
        assert _stored(wallet, query, citizen.id) == LIMIT
        pending = wallet.get("/me/consent-requests?status=pending", citizen.token)
        assert len(pending.json()["items"]) == LIMIT

    def test_an_officer_is_refused_alike(self, make_wallet: Callable[..., Wallet]) -> None:
        wallet = make_wallet(max_pending_consents=1)
        citizen = make_citizen(wallet, papers=False)
        agency = make_agency(wallet)
        agency.requested(citizen.national_id)
        refused = agency.request(citizen.national_id, officer_token(wallet, agency), purpose="Một mục đích khác")
        _problem(refused, 409, "too_many_pending_requests")

    def test_an_id_without_account_answers_the_same(self, make_wallet: Callable[..., Wallet]) -> None:
        """No enumeration: a registered and an unregistered ID reach the limit at the same count, same answer."""
        wallet = make_wallet(max_pending_consents=2)
        registered, unknown = make_citizen(wallet, papers=False).national_id, make_cccd(date(1990, 1, 1))
        agency = make_agency(wallet)
        answers = {}
        for national_id in (registered, unknown):
            for purpose in (PURPOSE, f"{PURPOSE} (lần 2)"):
                assert agency.request(national_id, purpose=purpose).status_code == 201
            third = agency.request(national_id, purpose=f"{PURPOSE} (lần 3)")
            body = _problem(third, 409, "too_many_pending_requests")
            answers[national_id] = {k: v for k, v in body.items() if k != "request_id"}
        assert answers[registered] == answers[unknown]

    def test_room_comes_back_when_requests_are_answered_or_expire(self, make_wallet: Callable[..., Wallet]) -> None:
        wallet = make_wallet(max_pending_consents=1)
        citizen = make_citizen(wallet, papers=False)
        agency = make_agency(wallet)
        request_id = agency.requested(citizen.national_id)
        _problem(agency.request(citizen.national_id, purpose="Mục đích thứ hai"), 409, "too_many_pending_requests")
        denied = wallet.post(f"/me/consent-requests/{request_id}/deny", None, citizen.token)
        assert denied.status_code == 200, denied.text
        agency.requested(citizen.national_id, purpose="Mục đích thứ hai")
        wallet.clock.advance(timedelta(days=7, seconds=1))  # pending requests expire after 7 days
        agency.requested(citizen.national_id, purpose="Mục đích thứ ba")
