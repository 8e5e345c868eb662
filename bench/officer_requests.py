"""Papers at the counter, server side: what the officer's waiting page costs while it polls (`GET
/officer/requests/<id>/state` every 2 s, pending), and the approved request's page (the papers read under the consent,
each read written to the access log, plus the dossier's preview built by the e-form service in an undone savepoint).
Requests from one client against the real server process, with the staff session's cookies.

`python -m bench.officer_requests`. No goal is asserted here; the poll should stay far below its 2 s period."""

from __future__ import annotations

import httpx

from bench.harness import percentile, record, timed
from tests.web.server import WebServer
from tests.web.test_officer_requests import citizen_at_counter, passport_office
from tests.web.world import bearer, new_staff, ok

POLLS = 200
PAGES = 30
PURPOSE_CODE = "passport_issue"


def _client(web: WebServer, tokens: dict[str, str]) -> httpx.Client:
    cookies = {"cds_staff_at": tokens["access_token"], "cds_staff_rt": tokens["refresh_token"]}
    return httpx.Client(base_url=web.base_url, cookies=cookies, timeout=30, follow_redirects=False)


def _ask(client: httpx.Client, presence: str) -> str:
    """The request filed through the page, as the officer's browser would (its CSRF cookie and token first)."""
    form = client.get(f"/officer/requests/new?presence={presence}")
    token = form.text.split('name="_csrf_token" value="', 1)[1].split('"', 1)[0]
    answer = client.post(
        "/officer/requests/new",
        data={"_csrf_token": token, "presence": presence, "procedure": PURPOSE_CODE},
    )
    assert answer.status_code == 303, answer.text
    return answer.headers["location"].rsplit("/", 1)[1]


def main() -> None:
    with WebServer() as web:
        staff = new_staff(web, passport_office(web), name="Lê Văn Tâm")
        person, presence = citizen_at_counter(web, staff)
        with _client(web, staff.tokens) as client:
            request_id = _ask(client, presence)
            state = f"/officer/requests/{request_id}/state"
            poll = timed(lambda: client.get(state, headers={"hx-request": "true"}).raise_for_status(), repeat=POLLS)
            with web.api() as api:
                pending = ok(api.get("/me/consent-requests?status=pending", headers=bearer(person.token)))["items"]
                path = f"/me/consent-requests/{pending[0]['id']}/approve"
                ok(api.post(path, json={}, headers=bearer(person.token)))
            shown = timed(lambda: client.get(f"/officer/requests/{request_id}").raise_for_status(), repeat=PAGES)
    record(
        {
            "officer_requests.pending_poll.p50_ms": percentile(poll, 50) * 1000,
            "officer_requests.pending_poll.p99_ms": percentile(poll, 99) * 1000,
            "officer_requests.approved_page.p50_ms": percentile(shown, 50) * 1000,
            "officer_requests.approved_page.p95_ms": percentile(shown, 95) * 1000,
        }
    )


if __name__ == "__main__":
    main()
