"""Who may call each route, in one table: the app's one guard reads it for every request, API and pages alike, and
the app refuses to start while a route has no entry (or an entry names no route).

A line is `METHOD PATH CALLER... [SCOPE...]`, under a `[PREFIX]` section. Callers: `anonymous` (no credential
asked), `citizen`, `officer` (a one-stop officer, who acts with the scopes their agency holds now), `agency` (an OAuth
client token). Every scope listed (`a|b`: either one) is needed by an officer or agency caller; a citizen needs none.
API routes take a bearer token; pages take the browser session of their kind (the citizen's or the staff's cookies)
and send a signed-out person to sign in. The answers: no or a dead credential 401 (a page: the sign-in page), a
wrong kind of caller 403 `forbidden`, a missing scope 403 `insufficient_scope`. What a caller may see of a resource
(a citizen only their own, an agency only its own dossiers) is the domain services' rule, answered 404 across
owners."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Literal, get_args

from identity.scopes import KNOWN_SCOPES

Caller = Literal["anonymous", "citizen", "officer", "agency"]
CALLERS: tuple[Caller, ...] = get_args(Caller)

_TABLE = """
[/api/v1]
POST   /auth/register                                       anonymous
POST   /auth/login                                          anonymous
POST   /auth/otp/verify                                     anonymous
POST   /auth/refresh                                        anonymous
POST   /auth/recover/complete                               anonymous
GET    /auth/eid/start                                      anonymous
GET    /auth/eid/callback                                   anonymous
POST   /auth/eid/exchange                                   anonymous
POST   /oauth/token                                         anonymous
GET    /document-types                                      anonymous
GET    /procedures                                          anonymous
GET    /procedures/{code}                                   anonymous
GET    /verify/documents                                    anonymous

POST   /auth/logout                                         citizen officer
POST   /auth/otp/send                                       citizen officer
POST   /auth/totp/enroll                                    citizen officer
POST   /auth/totp/confirm                                   citizen officer
DELETE /auth/totp                                           citizen officer
GET    /me                                                  citizen officer
GET    /me/notifications                                    citizen officer
POST   /me/notifications/read-all                           citizen officer
POST   /me/notifications/{notice_id}/read                   citizen officer

DELETE /me                                                  citizen
GET    /me/qr                                               citizen
GET    /me/access-log                                       citizen
GET    /documents                                           citizen
POST   /documents                                           citizen
GET    /documents/{document_id}                             citizen
PUT    /documents/{document_id}                             citizen
DELETE /documents/{document_id}                             citizen
GET    /documents/{document_id}/versions                    citizen
GET    /documents/{document_id}/files/{file_id}             citizen
GET    /documents/{document_id}/qr                          citizen
GET    /applications                                        citizen
POST   /applications                                        citizen
GET    /applications/{application_id}                       citizen
PATCH  /applications/{application_id}                       citizen
DELETE /applications/{application_id}                       citizen
POST   /applications/{application_id}/documents             citizen
POST   /applications/{application_id}/refresh               citizen
POST   /applications/{application_id}/submit                citizen
POST   /applications/{application_id}/rating                citizen
GET    /me/consent-requests                                 citizen
GET    /me/consent-requests/{request_id}                    citizen
POST   /me/consent-requests/{request_id}/approve            citizen
POST   /me/consent-requests/{request_id}/deny               citizen
GET    /me/consents                                         citizen
POST   /me/consents/{consent_id}/revoke                     citizen

POST   /verify/qr                                           officer
POST   /identity/proofings                                  officer
POST   /identity/recoveries                                 officer
POST   /agency/counter-dossiers                             officer consent:read

POST   /issuer/documents                                    agency documents:issue
POST   /issuer/documents/{document_id}/revoke               agency documents:issue
POST   /consent-requests                                    agency officer consent:request
GET    /consent-requests/{request_id}                       agency officer consent:request
GET    /consents/{consent_id}/documents                     agency officer consent:read
GET    /consents/{consent_id}/documents/{document_id}/files/{file_id} agency officer consent:read
GET    /agency/applications                                 agency officer applications:process
GET    /agency/applications/{application_id}                agency officer applications:process
POST   /agency/applications/{application_id}/status         agency officer applications:process
GET    /agency/applications/{application_id}/documents/{document_id} agency officer applications:process
GET    /agency/applications/{application_id}/documents/{document_id}/files/{file_id} agency officer applications:process
POST   /agency/applications/{application_id}/result         agency officer applications:process documents:issue
GET    /stats                                               agency officer stats:read|admin

[/]
GET    /health                                              anonymous
GET    /.well-known/jwks.json                               anonymous
GET    /metrics                                             agency metrics:read
GET    /schema                                              anonymous
GET    /schema/openapi.json                                 anonymous
GET    /schema/swagger                                      anonymous
GET    /schema/{path}                                       anonymous
GET    /static/{file_path}                                  anonymous

GET    /                                                    anonymous
GET    /register                                            anonymous
POST   /register                                            anonymous
GET    /sign-in                                             anonymous
POST   /sign-in                                             anonymous
GET    /sign-in/code                                        anonymous
POST   /sign-in/code                                        anonymous
POST   /sign-out                                            anonymous
GET    /account/deleted                                     anonymous
GET    /account/eid/done                                    anonymous
GET    /verify                                              anonymous
POST   /verify/photo                                        anonymous
GET    /manifest.webmanifest                                anonymous
GET    /offline                                             anonymous
GET    /sw.js                                               anonymous

GET    /papers                                              citizen
GET    /papers/add                                          citizen
GET    /papers/add/{type_code}                              citizen
POST   /papers/add/{type_code}                              citizen
GET    /papers/{document_id}                                citizen
GET    /papers/{document_id}/files/{file_id}                citizen
GET    /papers/{document_id}/update                         citizen
POST   /papers/{document_id}/update                         citizen
GET    /papers/{document_id}/delete                         citizen
POST   /papers/{document_id}/delete                         citizen
GET    /qr                                                  citizen
GET    /sharing                                             citizen
POST   /sharing/{request_id}/approve                        citizen
POST   /sharing/{request_id}/deny                           citizen
POST   /sharing/{request_id}/code                           citizen
GET    /sharing/consents/{consent_id}/revoke                citizen
POST   /sharing/consents/{consent_id}/revoke                citizen
GET    /access-log                                          citizen
GET    /notifications                                       citizen
POST   /notifications/read-all                              citizen
POST   /notifications/{notice_id}/read                      citizen
GET    /services                                            citizen
GET    /services/{code}                                     citizen
POST   /services/{code}/start                               citizen
GET    /applications/{application_id}                       citizen
POST   /applications/{application_id}                       citizen
GET    /applications/{application_id}/delete                citizen
POST   /applications/{application_id}/delete                citizen
POST   /applications/{application_id}/rating                citizen
GET    /applications/{application_id}/papers/{type_code}    citizen
POST   /applications/{application_id}/papers/{type_code}    citizen
GET    /account                                             citizen
GET    /account/authenticator                               citizen
POST   /account/authenticator                               citizen
POST   /account/authenticator/confirm                       citizen
GET    /account/authenticator/remove                        citizen
POST   /account/authenticator/remove                        citizen
GET    /account/delete                                      citizen
POST   /account/delete                                      citizen
POST   /account/eid                                         citizen
POST   /account/code                                        citizen

GET    /officer                                             anonymous
GET    /officer/sign-in                                     anonymous
POST   /officer/sign-in                                     anonymous
GET    /officer/sign-in/code                                anonymous
POST   /officer/sign-in/code                                anonymous
POST   /officer/sign-out                                    anonymous
GET    /officer/scan                                        officer
POST   /officer/scan                                        officer
POST   /officer/scan/photo                                  officer
GET    /officer/scan/{presence_id}                          officer
POST   /officer/scan/{presence_id}/proofing                 officer
GET    /officer/recoveries/new                              officer
POST   /officer/recoveries                                  officer
GET    /officer/recoveries/started                          officer
GET    /officer/dossiers                                    officer applications:process
GET    /officer/dossiers/{application_id}                   officer applications:process
GET    /officer/dossiers/{application_id}/confirm           officer applications:process
POST   /officer/dossiers/{application_id}/move              officer applications:process
GET    /officer/dossiers/{application_id}/papers/{document_id} officer applications:process
GET    /officer/dossiers/{application_id}/papers/{document_id}/files/{file_id} officer applications:process
GET    /officer/dossiers/{application_id}/result            officer applications:process documents:issue
POST   /officer/dossiers/{application_id}/result            officer applications:process documents:issue
GET    /officer/dossiers/{application_id}/result/issued     officer applications:process documents:issue
GET    /officer/requests                                    officer consent:request
GET    /officer/requests/new                                officer consent:request
POST   /officer/requests/new                                officer consent:request
GET    /officer/requests/{request_id}                       officer consent:request
GET    /officer/requests/{request_id}/state                 officer consent:request
GET    /officer/requests/{request_id}/papers/{document_id}/files/{file_id} officer consent:read
POST   /officer/requests/{request_id}/dossier               officer consent:read
GET    /officer/stats                                       officer stats:read|admin
GET    /officer/stats/csv                                   officer stats:read|admin
"""


@dataclass(frozen=True)
class Rule:
    """Who may call one route and which scopes an officer or agency caller must hold."""

    callers: frozenset[Caller]
    scopes: frozenset[str] = frozenset()

    @property
    def public(self) -> bool:
        return "anonymous" in self.callers

    def allows_scopes(self, held: frozenset[str]) -> bool:
        """Every listed scope held (`a|b`: either one)."""
        return all(any(choice in held for choice in word.split("|")) for word in self.scopes)


class PolicyError(RuntimeError):
    """The table and the app's routes disagree: the app must not start."""


def _parse(table: str) -> dict[tuple[str, str], Rule]:
    rules: dict[tuple[str, str], Rule] = {}
    prefix = ""
    for line in table.strip().splitlines():
        if not line.strip():
            continue
        if line.startswith("["):  # a section: `[/api/v1]` prefixes the paths below it
            prefix = line.strip("[]").rstrip("/")
            continue
        method, path, *words = line.split()
        path = prefix + path if path != "/" or not prefix else prefix
        callers = frozenset(w for w in words if w in CALLERS)
        scopes = frozenset(w for w in words if w not in CALLERS)
        if unknown := {choice for word in scopes for choice in word.split("|")} - KNOWN_SCOPES:
            raise PolicyError(f"{method} {path}: unknown scope {sorted(unknown)}")
        if not callers or ("anonymous" in callers and (len(callers) > 1 or scopes)):
            raise PolicyError(f"{method} {path}: anonymous routes name no other caller and no scope")
        if (method, path) in rules:
            raise PolicyError(f"{method} {path}: listed twice")
        rules[(method, path)] = Rule(callers, scopes)
    return rules


class Policy:
    """The table, looked up by method and Litestar's path template (`/documents/{document_id}`)."""

    def __init__(self, rules: dict[tuple[str, str], Rule]) -> None:
        self._rules = rules

    def rule(self, method: str, path_template: str) -> Rule | None:
        # HEAD is GET without the body; OPTIONS only describes the route (Litestar answers it, never a handler).
        if method == "OPTIONS":
            return Rule(frozenset({"anonymous"}))
        return self._rules.get(("GET" if method == "HEAD" else method, path_template))

    def items(self) -> Iterator[tuple[tuple[str, str], Rule]]:
        yield from self._rules.items()

    def check_covers(self, routes: Iterable[tuple[str, str]]) -> None:
        """Every (method, path template) the app serves has an entry, and every entry serves a route."""
        served = {(m, p) for m, p in routes if m not in ("HEAD", "OPTIONS")}
        if missing := served - self._rules.keys():
            raise PolicyError("routes without a policy entry: " + ", ".join(f"{m} {p}" for m, p in sorted(missing)))
        if stale := self._rules.keys() - served:
            raise PolicyError("policy entries without a route: " + ", ".join(f"{m} {p}" for m, p in sorted(stale)))

    def with_rules(self, extra: dict[tuple[str, str], Rule]) -> Policy:
        return Policy({**self._rules, **extra})


POLICY = Policy(_parse(_TABLE))
