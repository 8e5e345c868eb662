"""Who acts for an agency: the agency itself (an OAuth client token holding the scope) or one of its active
officers (a user token; the scope must then be granted to the officer's agency)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from audit.service import Actor
from consent.errors import NotPermitted
from consent.state import EventActor
from identity.repository import IdentityRepository
from identity.sessions import Principal

REQUEST_SCOPE = "consent:request"
READ_SCOPE = "consent:read"


@dataclass(frozen=True)
class AgencyCaller:
    code: str
    name: str
    kind: Literal["agency", "officer"]
    subject_id: str  # the agency's code or the officer's id
    person: str | None = None  # the officer's name, in the citizen's access log

    @property
    def audit_actor(self) -> Actor:
        return Actor(self.kind, self.code, self.name, self.person)

    @property
    def event_actor(self) -> EventActor:
        return EventActor(self.kind, self.subject_id)


def agency_caller(ids: IdentityRepository, principal: Principal, *scopes: str) -> AgencyCaller:
    """The agency `principal` acts for, if it holds one of `scopes`; NotPermitted otherwise."""
    if principal.role == "agency":
        agency = ids.agency(principal.subject_id)
        if agency is None or agency.status != "active" or not principal.scopes & set(scopes):
            raise NotPermitted()
        return AgencyCaller(agency.code, agency.name, "agency", agency.code)
    if principal.role == "officer":
        officer = ids.officer(principal.subject_id)
        agency = ids.agency(officer.agency_code) if officer is not None else None
        if officer is None or officer.status != "active" or agency is None or agency.status != "active":
            raise NotPermitted()
        if not set(agency.scopes.split()) & set(scopes):
            raise NotPermitted()
        return AgencyCaller(agency.code, agency.name, "officer", officer.id, officer.full_name)
    raise NotPermitted()
