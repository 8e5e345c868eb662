"""The agency's dossiers and the e-form statistics (API.md: "Once-only e-forms")."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any, TypeVar

import anyio
from litestar import Controller, Request, Response, get, post
from litestar.datastructures import State
from litestar.exceptions import ValidationException
from litestar.openapi.spec import OpenAPIMediaType, OpenAPIType, Operation, RequestBody, Schema
from litestar.params import Parameter
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED

from api.auth import BEARER
from api.controllers.issuer import ISSUED_FILE_SCHEMA, read_limited_body
from api.deps import container_of
from api.downloads import stream_file
from api.pagination import CURSOR, LIMIT, page_cursor
from api.unit import WRITES, UnitOfWork
from assurance.schemas import StatsWithOfficers
from assurance.stats import officer_stats
from forms.agency import AgencyDesk
from forms.results import ResultOrder, issue_result
from forms.schemas import (
    ApplicationPage,
    ApplicationStatus,
    ResultCreate,
    ResultIssued,
    StatusChange,
    SubmittedDossier,
)
from forms.stats import Period, StatsService
from identity.sessions import Principal
from wallet.schemas import VersionPublic

T = TypeVar("T")


@dataclass
class ResultOperation(Operation):
    """A dossier's result: the body of `POST /issuer/documents`, the applicant and codes taken from the dossier."""

    def __post_init__(self) -> None:
        schema = Schema(
            type=OpenAPIType.OBJECT,
            required=["fields"],
            properties={
                "type": Schema(type=OpenAPIType.STRING, default="tthc_result", description="document type code"),
                "fields": Schema(type=OpenAPIType.OBJECT, description="the paper's fields"),
                "file": ISSUED_FILE_SCHEMA,
                "national_id": Schema(type=OpenAPIType.STRING, pattern="^[0-9]{12}$", description="the applicant's"),
            },
        )
        self.request_body = RequestBody(required=True, content={"application/json": OpenAPIMediaType(schema=schema)})


async def _logged_read(unit: UnitOfWork, principal: Principal, work: Callable[[AgencyDesk], T]) -> T:
    """A read by the agency writes the citizen's access log: its route's unit writes (`WRITES`)."""
    return await unit.run(lambda: work(AgencyDesk(unit.session, unit.container.forms, unit.notifier, principal)))


class AgencyApplicationsController(Controller):
    """Dossiers of the procedures the calling agency (or its officer) is responsible for."""

    path = "/agency/applications"
    security = BEARER
    tags = ("forms-agency",)

    @get("", sync_to_thread=True)
    def inbox(
        self,
        principal: Principal,
        unit: UnitOfWork,
        *,
        status: ApplicationStatus | None = None,
        limit: int | None = LIMIT,
        cursor: str | None = CURSOR,
        procedure: str | None = Parameter(
            default=None, max_length=64, description="only the dossiers of this procedure (its code)"
        ),
        overdue: bool = Parameter(
            default=False, description="only the dossiers past their `due_at` and still submitted or processing"
        ),
    ) -> ApplicationPage:
        """The agency's dossiers, newest first, narrowed by status, procedure and overdue (the filters combine)."""
        desk = AgencyDesk(unit.session, unit.container.forms, unit.notifier, principal)
        items, next_cursor = desk.inbox(
            status=status, limit=limit, cursor=page_cursor(cursor), procedure=procedure, overdue=overdue
        )
        return ApplicationPage(items=items, next_cursor=next_cursor)

    @get("/{application_id:str}", opt=WRITES)
    async def read(self, unit: UnitOfWork, principal: Principal, application_id: str) -> SubmittedDossier:
        """The dossier as submitted; the read appears in the citizen's access log."""
        return await _logged_read(unit, principal, lambda desk: desk.read(application_id))

    @get("/{application_id:str}/documents/{document_id:str}", opt=WRITES)
    async def document(
        self, unit: UnitOfWork, principal: Principal, application_id: str, document_id: str
    ) -> VersionPublic:
        """An attached paper at the version frozen by the submission."""
        return await _logged_read(unit, principal, lambda desk: desk.document(application_id, document_id))

    @get("/{application_id:str}/documents/{document_id:str}/files/{file_id:str}", opt=WRITES)
    async def file(
        self,
        unit: UnitOfWork,
        principal: Principal,
        application_id: str,
        document_id: str,
        file_id: str,
    ) -> Response[Any]:
        plan = await _logged_read(unit, principal, lambda desk: desk.download(application_id, document_id, file_id))
        return await stream_file(plan)

    @post("/{application_id:str}/status", status_code=HTTP_200_OK, sync_to_thread=True)
    def move(self, principal: Principal, unit: UnitOfWork, application_id: str, data: StatusChange) -> SubmittedDossier:
        """processing, needs_info (with what to add; the citizen amends and resubmits), completed, or rejected (with
        its reason)."""
        desk = AgencyDesk(unit.session, unit.container.forms, unit.notifier, principal)
        return desk.move(application_id, data)

    @post(
        "/{application_id:str}/result",
        status_code=HTTP_201_CREATED,
        request_max_body_size=None,
        operation_class=ResultOperation,
    )
    async def result(
        self, request: Request[Any, Any, State], principal: Principal, application_id: str
    ) -> ResultIssued:
        """Issue the result into the citizen's wallet (as `POST /issuer/documents`, bound to the dossier: the
        applicant and the codes come from it; `type` defaults to `tthc_result`) and complete the dossier."""
        container = container_of(request.app.state)
        body = await read_limited_body(request)
        parsed = await anyio.to_thread.run_sync(ResultCreate.parse, body)
        order = ResultOrder(principal, application_id, parsed)
        answer, queued = await issue_result(container.forms, container.notifier, order)
        await container.dispatcher.dispatch(queued)
        return answer


_FIRST_DAY = Parameter(
    query="from", default=None, description="first day (YYYY-MM-DD, Vietnam time) of the dossiers counted"
)
_LAST_DAY = Parameter(query="to", default=None, description="last day counted, included (YYYY-MM-DD)")


class StatsController(Controller):
    path = "/stats"
    security = BEARER
    tags = ("forms-agency",)

    @get("", sync_to_thread=True)
    def stats(
        self,
        principal: Principal,
        unit: UnitOfWork,
        *,
        first: date | None = _FIRST_DAY,
        last: date | None = _LAST_DAY,
    ) -> StatsWithOfficers:
        """Per procedure of the caller's agency (every procedure for a client holding the `admin` scope) and for all
        of them together (`total`), and per officer the proofings and recoveries made at the counter. With `from`
        and/or `to`, only the dossiers submitted in that period (or started in it, if never submitted)."""
        if first and last and last < first:
            raise ValidationException(detail="`to` is before `from`", extra=[{"key": "to", "message": "before from"}])
        service = StatsService(unit.session, unit.container.catalog, unit.container.clock)
        report = service.report(principal, Period(first, last))
        return StatsWithOfficers(**dict(report), officers=officer_stats(unit.session, principal))
