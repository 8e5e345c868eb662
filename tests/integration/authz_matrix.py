"""The authorization matrix, generated from the route policy table: every route × every kind of caller, with the ids
of another owner, → the answer the table and the ownership rules demand. A new route gets its row from its policy
entry; nothing here names a route.

Expected answers (API.md "Conventions", api/policy.py): a public route never refuses (401/403) and never fails
(5xx); otherwise an API route answers a caller without a token 401, a wrong kind of caller 403 `forbidden`, a caller
without the scope 403 `insufficient_scope`, and a rightful caller holding another owner's ids 404; a page sends a
caller without a session of its kind to its sign-in page (303), answers an officer without the scope 403 and another
owner's ids 404. Rightful callers are asked only with safe methods (a write would change the world under the next
row); their answer must be a success or a redirect."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from api.policy import Rule
from identity.scopes import KNOWN_SCOPES
from tests.integration.authz_world import World

OWNED = frozenset({"document_id", "file_id", "application_id", "request_id", "consent_id", "notice_id", "presence_id"})
OTHER_PARAMS = {"code": "passport_issue", "type_code": "diploma", "path": "openapi.yaml", "file_path": "none.css"}
# Query strings some pages need to have anything to show (a page asked without them answers 404 for everyone).
QUERIES = {"/officer/dossiers/{application_id}/confirm": "?action=processing"}
# Request headers a route needs to answer for what it is (the waiting page's poll answers htmx requests only).
HEADERS = {"/officer/requests/{request_id}/state": {"hx-request": "true"}}
# Bodies valid enough that a write reaches the ownership check rather than stopping at the body's validation.
BODIES: dict[str, dict[str, Any]] = {
    "/api/v1/agency/applications/{application_id}/status": {"status": "processing"},
    "/api/v1/agency/applications/{application_id}/result": {"fields": {"title": "Quyết định"}},
    "/api/v1/applications/{application_id}/rating": {"score": 5},
}
SAFE = frozenset({"GET"})
ALL_BUT_ADMIN = frozenset(KNOWN_SCOPES - {"admin"})


@dataclass(frozen=True)
class Caller:
    name: str
    kind: str  # anonymous | citizen | officer | agency
    foreign: bool  # holds ids of another owner (another citizen, another agency)


CALLERS = (
    Caller("anonymous", "anonymous", foreign=True),
    Caller("owner", "citizen", foreign=False),
    Caller("another citizen", "citizen", foreign=True),
    Caller("officer of the agency", "officer", foreign=False),
    Caller("officer of another agency", "officer", foreign=True),
    Caller("officer of an agency without scopes", "officer", foreign=True),  # another officer: their scans are not his
    Caller("agency without the scope", "agency", foreign=False),
    Caller("agency with the scope", "agency", foreign=False),
    Caller("another agency", "agency", foreign=True),
    Caller("admin", "agency", foreign=True),
)


@dataclass(frozen=True)
class Cell:
    method: str
    path: str
    caller: str
    expected: str
    status: int
    body: str

    def __str__(self) -> str:
        return f"{self.method} {self.path} as {self.caller}: expected {self.expected}, got {self.status} {self.body}"


def _scopes(caller: Caller, rule: Rule) -> frozenset[str]:
    if caller.name == "officer of an agency without scopes":
        return frozenset()
    if caller.name == "agency without the scope":
        return _narrowed(rule)
    return KNOWN_SCOPES if caller.name == "admin" else ALL_BUT_ADMIN


def _narrowed(rule: Rule) -> frozenset[str]:
    """Every scope the responsible agency holds except those (or the alternatives of those) the route needs."""
    needed = {choice for word in rule.scopes for choice in word.split("|")}
    return ALL_BUT_ADMIN - needed or frozenset({"metrics:read"})


def expectation(rule: Rule, method: str, path: str, caller: Caller, *, page: bool) -> str | None:
    """What the answer must be, or None when this cell is not asked (a rightful write)."""
    if rule.public:  # served to anyone; a credential of the wrong kind may still be refused (an e-ID link)
        if caller.kind == "anonymous":
            return "served"
        return "no fault" if method in SAFE else None  # a signed-in write here would sign the caller out
    if caller.kind == "anonymous" or caller.kind not in rule.callers or (page and caller.kind == "agency"):
        return "sign-in" if page else ("401" if caller.kind == "anonymous" else "403 forbidden")
    if caller.kind != "citizen" and not rule.allows_scopes(_scopes(caller, rule)):
        return "403" if page else "403 insufficient_scope"
    if caller.foreign and OWNED & set(re.findall(r"{(\w+)}", path)):
        return "404"
    return "ok" if method in SAFE else None


def meets(expected: str, status: int, body: dict[str, Any], location: str) -> bool:
    if expected == "served":
        return status < 500 and status not in (401, 403)
    if expected == "no fault":
        return status < 500
    if expected == "ok":
        return 200 <= status < 400
    if expected == "sign-in":
        return status in (204, 302, 303) and "/sign-in" in location  # 204: htmx is told where to go
    if expected.startswith("403 "):
        return status == 403 and body.get("code") == expected.split()[1]
    return status == int(expected)


class Matrix:
    """Asks every cell of one route's row through the app's test client and collects the cells that disagree."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.asked = 0
        self._csrf = self._csrf_token()

    def _csrf_token(self) -> str:
        client = self.world.wallet.client
        client.cookies.clear()
        client.get("/sign-in")
        token = client.cookies.get("cds_csrf")
        assert token, "the sign-in page sets the CSRF cookie"
        return str(token)

    def row(self, method: str, path: str, rule: Rule) -> list[Cell]:
        page = not path.startswith(("/api/", "/metrics", "/health", "/schema", "/.well-known", "/static"))
        url = self._url(path)
        wrong: list[Cell] = []
        for caller in CALLERS:
            expected = expectation(rule, method, path, caller, page=page)
            if expected is None or (expected == "ok" and "none" in url):
                continue
            status, body, location = self._ask(method, path, caller, rule, page=page)
            self.asked += 1
            if not meets(expected, status, body, location):
                wrong.append(Cell(method, path, caller.name, expected, status, str(body)[:200]))
        return wrong

    def _url(self, path: str) -> str:
        ids = self.world.owned(path) | OTHER_PARAMS
        return re.sub(r"{(\w+)}", lambda m: ids[m.group(1)], path) + QUERIES.get(path, "")

    def _ask(
        self, method: str, path: str, caller: Caller, rule: Rule, *, page: bool
    ) -> tuple[int, dict[str, Any], str]:
        url = self._url(path)
        client = self.world.wallet.client
        client.cookies.clear()
        headers = {"x-csrftoken": self._csrf, "cookie": f"cds_csrf={self._csrf}"}
        credential = self._credential(caller, rule)
        if credential and caller.kind in ("citizen", "officer") and page:
            cookie = "cds_at" if caller.kind == "citizen" else "cds_staff_at"
            headers["cookie"] += f"; {cookie}={credential}"
        elif credential:
            headers["authorization"] = f"Bearer {credential}"
        headers |= HEADERS.get(path, {})
        writes = method in ("POST", "PUT", "PATCH", "DELETE") and not page
        body: dict[str, Any] = {"json": BODIES.get(path, {})} if writes else {}
        answer = client.request(method, url, headers=headers, follow_redirects=False, **body)
        try:
            parsed = answer.json() if "json" in answer.headers.get("content-type", "") else {}
        except ValueError:
            parsed = {}
        location = answer.headers.get("location") or answer.headers.get("hx-redirect", "")
        return answer.status_code, parsed if isinstance(parsed, dict) else {}, location

    def _credential(self, caller: Caller, rule: Rule) -> str | None:
        w = self.world
        tokens = {
            "owner": lambda: w.owner.token,
            "another citizen": lambda: w.stranger.token,
            "officer of the agency": lambda: w.officer.token,
            "officer of another agency": lambda: w.other_officer.token,
            "officer of an agency without scopes": lambda: w.bare_officer.token,
            "agency without the scope": lambda: w.responsible.token(w.wallet, _narrowed(rule)),
            "agency with the scope": lambda: w.responsible.token(w.wallet),
            "another agency": lambda: w.other.token(w.wallet),
            "admin": lambda: w.admin.token(w.wallet),
        }
        make = tokens.get(caller.name)
        return make() if make else None
