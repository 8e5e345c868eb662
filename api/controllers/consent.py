"""Agencies and consent (API.md: "Agencies and consent"): agencies' requests, the citizen's decisions and
consents, and the agency's pulls under a consent. Each request runs in one writing transaction in a worker thread
(any of them may settle an expiry, and pulls append to the access log)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from contextlib import nullcontext
from typing import Any, Literal, TypeVar

import anyio
from litestar import Controller, Request, Response, get, post
from litestar.datastructures import State
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED
from sqlmodel import Session

from api.auth import BEARER
from api.container import Container
from api.deps import container_of
from api.downloads import stream_file
from api.pagination import CURSOR, LIMIT, page_cursor
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
from storage.db import is_sqlite, transaction

T = TypeVar("T")
StatusFilter = Literal["pending", "approved", "denied", "expired"]
# SQLite runs one writing transaction at a time (`BEGIN IMMEDIATE`); queueing this process's writers here hands the
# lock on as soon as it is released, instead of after SQLite's busy-handler back-off (sleeps of up to 100 ms a retry),
# which made the tail latency of concurrent pulls (p99 ~1 s at 16 connections, ~0.2 s queued). PostgreSQL needs none.
_SQLITE_WRITERS = threading.Lock()


def _deps(container: Container) -> ConsentDeps:
    return container.consent


async def _run(request: Request[Any, Any, State], work: Callable[[Session, Container], T]) -> T:
    """`work` in a worker thread, in one writing transaction (any step may settle an expiry; pulls append to the
    access log)."""
    container = container_of(request.app.state)
    queue = _SQLITE_WRITERS if is_sqlite(container.engine) else nullcontext()

    def run() -> T:
        with queue, transaction(container.engine) as session:
            return work(session, container)

    return await anyio.to_thread.run_sync(run)


def _service(session: Session, container: Container) -> ConsentService:
    auth = AuthService(session, container.identity, container.notifier(session))
    return ConsentService(session, _deps(container), check_factor=auth.prove_fresh_factor)


class ConsentRequestsController(Controller):
    """An agency (client token with `consent:request`) or its officer files a request and follows it."""

    path = "/consent-requests"
    security = BEARER
    tags = ("consent",)

    @post("", status_code=HTTP_201_CREATED)
    async def create(
        self, request: Request[Any, Any, State], principal: Principal, data: ConsentRequestCreate
    ) -> ConsentRequestCreated:
        """One purpose per request. A national ID of no account answers alike (no enumeration)."""
        return await _run(request, lambda s, c: _service(s, c).create_request(principal, data))

    @get("/{request_id:str}")
    async def status(
        self, request: Request[Any, Any, State], principal: Principal, request_id: str
    ) -> ConsentRequestStatus:
        """The requesting agency only; any other caller gets 404."""
        return await _run(request, lambda s, c: _service(s, c).request_status(principal, request_id))


class MyConsentsController(Controller):
    """The citizen's requests and consents."""

    path = "/me"
    security = BEARER
    tags = ("consent",)

    @get("/consent-requests")
    async def list_requests(
        self,
        request: Request[Any, Any, State],
        principal: Principal,
        status: StatusFilter | None = None,
        limit: int | None = LIMIT,
        cursor: str | None = CURSOR,
    ) -> ConsentRequestPage:
        """Newest first: agency, purpose verbatim, exactly which papers and fields, duration, the notice."""
        items, next_cursor = await _run(
            request,
            lambda s, c: _service(s, c).requests_of(
                principal.subject_id, status=status, limit=limit, cursor=page_cursor(cursor)
            ),
        )
        return ConsentRequestPage(items=items, next_cursor=next_cursor)

    @get("/consent-requests/{request_id:str}")
    async def get_request(
        self, request: Request[Any, Any, State], principal: Principal, request_id: str
    ) -> ConsentRequestView:
        return await _run(request, lambda s, c: _service(s, c).request_of(principal.subject_id, request_id))

    @post("/consent-requests/{request_id:str}/approve", status_code=HTTP_200_OK)
    async def approve(
        self,
        request: Request[Any, Any, State],
        principal: Principal,
        request_id: str,
        data: ConsentApproval | None = None,
    ) -> ConsentApproved:
        """Needs `code` (a fresh OTP or TOTP) unless the login is under 5 minutes old."""
        approval = data or ConsentApproval()
        return await _run(request, lambda s, c: _service(s, c).approve(principal, request_id, approval))

    @post("/consent-requests/{request_id:str}/deny", status_code=HTTP_200_OK)
    async def deny(
        self, request: Request[Any, Any, State], principal: Principal, request_id: str
    ) -> ConsentRequestView:
        return await _run(request, lambda s, c: _service(s, c).deny(principal.subject_id, request_id))

    @get("/consents")
    async def list_consents(
        self,
        request: Request[Any, Any, State],
        principal: Principal,
        limit: int | None = LIMIT,
        cursor: str | None = CURSOR,
    ) -> ConsentPage:
        items, next_cursor = await _run(
            request,
            lambda s, c: _service(s, c).consents_of(principal.subject_id, limit=limit, cursor=page_cursor(cursor)),
        )
        return ConsentPage(items=items, next_cursor=next_cursor)

    @post("/consents/{consent_id:str}/revoke", status_code=HTTP_200_OK)
    async def revoke(self, request: Request[Any, Any, State], principal: Principal, consent_id: str) -> ConsentView:
        """Effective at once: the agency's very next pull gets 403 `consent_revoked`."""
        return await _run(request, lambda s, c: _service(s, c).revoke(principal.subject_id, consent_id))


class ConsentPullsController(Controller):
    """The agency's reads under a consent (client token with `consent:read`, or an officer of that agency)."""

    path = "/consents"
    security = BEARER
    tags = ("consent",)

    @get("/{consent_id:str}/documents")
    async def documents(
        self, request: Request[Any, Any, State], principal: Principal, consent_id: str
    ) -> SharedDocuments:
        """The approved papers, current versions, only the consented fields; each pull is in the access log."""
        return await _run(request, lambda s, c: ConsentPulls(s, _deps(c)).documents(principal, consent_id))

    @get("/{consent_id:str}/documents/{document_id:str}/files/{file_id:str}")
    async def download(
        self, request: Request[Any, Any, State], principal: Principal, consent_id: str, document_id: str, file_id: str
    ) -> Response[Any]:
        """The decrypted scan; 403 `consent_required` when the consent restricts the paper to some fields."""
        plan = await _run(
            request, lambda s, c: ConsentPulls(s, _deps(c)).file(principal, consent_id, document_id, file_id)
        )
        return await stream_file(plan)
