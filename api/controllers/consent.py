"""Agencies and consent (API.md: "Agencies and consent"): agencies' requests, the citizen's decisions and
consents, and the agency's pulls under a consent. Each request's unit of work writes, reads included (any of them
may settle an expiry, and pulls append to the access log)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal, TypeVar

from litestar import Controller, Response, get, post
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED
from sqlmodel import Session

from api.auth import BEARER
from api.container import Container
from api.downloads import stream_file
from api.pagination import CURSOR, LIMIT, page_cursor
from api.unit import WRITES, UnitOfWork
from consent.pulls import ConsentPulls
from consent.schemas import (
    ConsentApproval,
    ConsentApproved,
    ConsentPage,
    ConsentRequestCreate,
    ConsentRequestCreated,
    ConsentRequestPage,
    ConsentRequestStatus,
    ConsentRequestView,
    ConsentView,
    SharedDocuments,
)
from consent.service import ConsentDeps, ConsentService
from identity.service import AuthService
from identity.sessions import Principal

T = TypeVar("T")
StatusFilter = Literal["pending", "approved", "denied", "expired"]


def _deps(container: Container) -> ConsentDeps:
    return container.consent


async def _run(unit: UnitOfWork, work: Callable[[Session, Container], T]) -> T:
    return await unit.run(lambda: work(unit.session, unit.container))


def _service(session: Session, container: Container) -> ConsentService:
    auth = AuthService(session, container.identity, container.notifier(session))
    return ConsentService(session, _deps(container), check_factor=auth.prove_fresh_factor)


class ConsentRequestsController(Controller):
    """An agency (client token with `consent:request`) or its officer files a request and follows it."""

    path = "/consent-requests"
    security = BEARER
    tags = ("consent",)
    opt = WRITES

    @post("", status_code=HTTP_201_CREATED)
    async def create(self, unit: UnitOfWork, principal: Principal, data: ConsentRequestCreate) -> ConsentRequestCreated:
        """One purpose per request. A national ID of no account answers alike (no enumeration)."""
        return await _run(unit, lambda s, c: _service(s, c).create_request(principal, data))

    @get("/{request_id:str}")
    async def status(self, unit: UnitOfWork, principal: Principal, request_id: str) -> ConsentRequestStatus:
        """The requesting agency only; any other caller gets 404."""
        return await _run(unit, lambda s, c: _service(s, c).request_status(principal, request_id))


class MyConsentsController(Controller):
    """The citizen's requests and consents."""

    path = "/me"
    security = BEARER
    tags = ("consent",)
    opt = WRITES

    @get("/consent-requests")
    async def list_requests(
        self,
        unit: UnitOfWork,
        principal: Principal,
        status: StatusFilter | None = None,
        limit: int | None = LIMIT,
        cursor: str | None = CURSOR,
    ) -> ConsentRequestPage:
        """Newest first: agency, purpose verbatim, exactly which papers and fields, duration, the notice."""
        items, next_cursor = await _run(
            unit,
            lambda s, c: _service(s, c).requests_of(
                principal.subject_id, status=status, limit=limit, cursor=page_cursor(cursor)
            ),
        )
        return ConsentRequestPage(items=items, next_cursor=next_cursor)

    @get("/consent-requests/{request_id:str}")
    async def get_request(self, unit: UnitOfWork, principal: Principal, request_id: str) -> ConsentRequestView:
        return await _run(unit, lambda s, c: _service(s, c).request_of(principal.subject_id, request_id))

    @post("/consent-requests/{request_id:str}/approve", status_code=HTTP_200_OK)
    async def approve(
        self,
        unit: UnitOfWork,
        principal: Principal,
        request_id: str,
        data: ConsentApproval | None = None,
    ) -> ConsentApproved:
        """Needs `code` (a fresh OTP or TOTP) unless the login is under 5 minutes old."""
        approval = data or ConsentApproval()
        return await _run(unit, lambda s, c: _service(s, c).approve(principal, request_id, approval))

    @post("/consent-requests/{request_id:str}/deny", status_code=HTTP_200_OK)
    async def deny(self, unit: UnitOfWork, principal: Principal, request_id: str) -> ConsentRequestView:
        return await _run(unit, lambda s, c: _service(s, c).deny(principal.subject_id, request_id))

    @get("/consents")
    async def list_consents(
        self,
        unit: UnitOfWork,
        principal: Principal,
        limit: int | None = LIMIT,
        cursor: str | None = CURSOR,
    ) -> ConsentPage:
        items, next_cursor = await _run(
            unit,
            lambda s, c: _service(s, c).consents_of(principal.subject_id, limit=limit, cursor=page_cursor(cursor)),
        )
        return ConsentPage(items=items, next_cursor=next_cursor)

    @post("/consents/{consent_id:str}/revoke", status_code=HTTP_200_OK)
    async def revoke(self, unit: UnitOfWork, principal: Principal, consent_id: str) -> ConsentView:
        """Effective at once: the agency's very next pull gets 403 `consent_revoked`."""
        return await _run(unit, lambda s, c: _service(s, c).revoke(principal.subject_id, consent_id))


class ConsentPullsController(Controller):
    """The agency's reads under a consent (client token with `consent:read`, or an officer of that agency)."""

    path = "/consents"
    security = BEARER
    tags = ("consent",)
    opt = WRITES

    @get("/{consent_id:str}/documents")
    async def documents(self, unit: UnitOfWork, principal: Principal, consent_id: str) -> SharedDocuments:
        """The approved papers, current versions, only the consented fields; each pull is in the access log."""
        return await _run(unit, lambda s, c: ConsentPulls(s, _deps(c)).documents(principal, consent_id))

    @get("/{consent_id:str}/documents/{document_id:str}/files/{file_id:str}")
    async def download(
        self, unit: UnitOfWork, principal: Principal, consent_id: str, document_id: str, file_id: str
    ) -> Response[Any]:
        """The decrypted scan; 403 `consent_required` when the consent restricts the paper to some fields."""
        plan = await _run(
            unit, lambda s, c: ConsentPulls(s, _deps(c)).file(principal, consent_id, document_id, file_id)
        )
        return await stream_file(plan)
