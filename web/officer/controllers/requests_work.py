"""The domain work behind the counter's data requests (`web.officer.controllers.requests`): the services the API
calls, built for the signed-in officer, and what one request's page needs read in one go. No words here: the pages'
words live in `requests.py` and the templates (catalog `officer_requests.po`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

import anyio
from litestar.exceptions import NotFoundException, PermissionDeniedException

from api.unit import UnitOfWork
from assurance.counter_desk import CounterDesk, CounterSheet
from consent.agency_requests import AgencyRequest, AgencyRequests
from consent.errors import ConsentExpired, ConsentNotFound, ConsentRequestNotFound, ConsentRevoked
from consent.errors import NotPermitted as ConsentNotPermitted
from forms.catalog import Procedure
from forms.errors import ApplicationNotFound, ProcedureNotFound
from forms.errors import NotPermitted as FormsNotPermitted
from identity.sessions import Principal
from wallet.errors import DocumentNotFound, FileNotFound

T = TypeVar("T")


def desk(unit: UnitOfWork, officer: Principal) -> CounterDesk:
    container = unit.container
    return CounterDesk(unit.session, container.forms, container.consent, unit.notifier, officer)


def requests_of(unit: UnitOfWork, officer: Principal) -> AgencyRequests:
    return AgencyRequests(unit.session, unit.container.consent, officer)


@dataclass(frozen=True)
class Board:
    """One request as its page shows it: the request, its procedure (None if it names none of the agency's), and
    once approved the shared papers with the dossier filing would submit, or why they cannot be read any more."""

    request: AgencyRequest
    procedure: Procedure | None
    sheet: CounterSheet | None = None
    unreadable: str | None = None  # "revoked" | "expired": the citizen withdrew the consent, or it ran out


def board(unit: UnitOfWork, officer: Principal, request_id: str, *, papers: bool) -> Board:
    """The request; with `papers`, an approved request's papers are read (each read is in the citizen's log)."""
    request = requests_of(unit, officer).get(request_id)
    counter = desk(unit, officer)
    procedure = counter.procedure_of_purpose(request.purpose)
    if not papers or request.status != "approved" or request.consent_id is None or procedure is None:
        return Board(request, procedure)
    try:
        return Board(request, procedure, counter.sheet(request.consent_id, procedure.code))
    except ConsentRevoked:
        return Board(request, procedure, unreadable="revoked")
    except ConsentExpired:
        return Board(request, procedure, unreadable="expired")


async def in_thread(work: Callable[[], T]) -> T:
    """Domain work off the event loop; another agency's (or an unknown) request is a 404 page, an agency without
    the consent scopes a 403 page."""
    try:
        return await anyio.to_thread.run_sync(work)
    except (
        ConsentRequestNotFound,
        ConsentNotFound,
        ProcedureNotFound,
        ApplicationNotFound,
        DocumentNotFound,
        FileNotFound,
    ) as exc:
        raise NotFoundException() from exc
    except (ConsentNotPermitted, FormsNotPermitted) as exc:
        raise PermissionDeniedException() from exc
