"""An agency's own consent requests as its staff follow them: the list of those filed at its counter and one request
with its status (a pending one past its 7 days settled as expired on the way). The citizen appears by the masked ID
number only, as the counter's QR scan shows it. Flushes, never commits."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session

from consent.callers import READ_SCOPE, REQUEST_SCOPE, AgencyCaller, agency_caller
from consent.errors import ConsentRequestNotFound
from consent.models import ConsentRequest
from consent.repository import ConsentRepository
from consent.service import ConsentDeps
from consent.state import settle_request
from identity.profile import open_profile
from identity.repository import IdentityRepository
from identity.sessions import Principal
from identity.validation import mask_national_id

PAGE_DEFAULT = 20
PAGE_MAX = 100


@dataclass(frozen=True)
class AgencyRequest:
    id: str
    status: str  # pending | approved | denied | expired
    purpose: str
    document_types: list[str]
    fields: dict[str, list[str]] | None
    created_at: datetime
    expires_at: datetime
    decided_at: datetime | None
    consent_id: str | None
    at_counter: bool
    national_id_masked: str | None  # None when the ID belongs to no account (then it is never approved)
    officer: str | None  # the officer who filed it, by name


class AgencyRequests:
    """The requests of the agency the caller acts for (its client token or one of its officers)."""

    def __init__(self, session: Session, deps: ConsentDeps, principal: Principal) -> None:
        self._repo = ConsentRepository(session)
        self._ids = IdentityRepository(session)
        self._deps = deps
        self.caller: AgencyCaller = agency_caller(self._ids, principal, REQUEST_SCOPE, READ_SCOPE)

    def page(
        self, *, counter_only: bool = True, limit: int | None = None, cursor: str | None = None
    ) -> tuple[list[AgencyRequest], str | None]:
        """Newest first."""
        size = max(1, min(limit or PAGE_DEFAULT, PAGE_MAX))
        rows = list(
            self._repo.requests_of_agency(self.caller.code, counter_only=counter_only, before=cursor, limit=size + 1)
        )
        page = rows[:size]
        now = self._deps.identity.clock.now()
        for request in page:
            settle_request(self._repo, request, now)
        return [self._view(r) for r in page], page[-1].id if len(rows) > size else None

    def get(self, request_id: str) -> AgencyRequest:
        request = self._repo.request(request_id, for_update=True)
        if request is None or request.agency_code != self.caller.code:
            raise ConsentRequestNotFound()
        settle_request(self._repo, request, self._deps.identity.clock.now())
        return self._view(request)

    def _view(self, request: ConsentRequest) -> AgencyRequest:
        officer = self._ids.officer(request.officer_id) if request.officer_id else None
        return AgencyRequest(
            id=request.id,
            status=request.status,
            purpose=request.purpose,
            document_types=list(request.document_types),
            fields=request.fields,
            created_at=request.created_at,
            expires_at=request.expires_at,
            decided_at=request.decided_at,
            consent_id=request.consent_id,
            at_counter=request.collection_method == "counter",
            national_id_masked=self._masked(request.citizen_id),
            officer=officer.full_name if officer is not None else None,
        )

    def _masked(self, citizen_id: str | None) -> str | None:
        citizen = self._ids.citizen(citizen_id) if citizen_id else None
        if citizen is None or citizen.status != "active":
            return None
        return mask_national_id(str(open_profile(self._deps.identity.citizen_keys, citizen)["national_id"]))
