"""The world the fuzzing runs in, built as an operator and its users would, through the CLI and the API: a citizen
registered with the SMS code from the dev outbox, an agency holding every scope but admin, an officer of it."""

from __future__ import annotations

from tests.factories import registration
from tests.fuzz.harness import Callers
from tests.web.server import WebServer
from tests.web.world import new_agency, new_staff, ok

AGENCY_SCOPES = ("documents:issue", "consent:request", "consent:read", "applications:process", "stats:read")


def citizen_session(server: WebServer, data: dict[str, str]) -> str:
    with server.api() as api:
        challenge = ok(api.post("/auth/login", json={"national_id": data["national_id"], "pin": data["pin"]}), 202)
        verify = {"challenge_id": challenge["challenge_id"], "code": server.code_for(data["phone"])}
        return str(ok(api.post("/auth/otp/verify", json=verify))["access_token"])


def build_world(server: WebServer) -> Callers:
    data = registration()
    with server.api() as api:
        challenge = ok(api.post("/auth/register", json=data), 202)
        verify = {"challenge_id": challenge["challenge_id"], "code": server.code_for(data["phone"])}
        citizen = str(ok(api.post("/auth/otp/verify", json=verify))["access_token"])
    agency = new_agency(server, *AGENCY_SCOPES)
    officer = new_staff(server, agency)
    tokens = {"citizen": citizen, "officer": officer.token, "agency": agency.token(server)}
    return Callers(tokens, spare=lambda: citizen_session(server, data))
