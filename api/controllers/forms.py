"""Procedures and the citizen's dossiers (API.md: "Once-only e-forms")."""

from __future__ import annotations

from typing import Any

import anyio
from litestar import Controller, Request, delete, get, patch, post
from litestar.datastructures import State
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED, HTTP_204_NO_CONTENT

from api.auth import BEARER
from api.deps import container_of
from api.multipart import read_multipart
from api.openapi import MultipartDocumentOperation
from api.pagination import CURSOR, LIMIT, page_cursor
from api.unit import UnitOfWork
from forms.schemas import (
    ApplicationCreate,
    ApplicationPage,
    ApplicationPublic,
    ApplicationStatus,
    ApplicationUpdate,
    ProcedurePage,
    ProcedurePublic,
    RatingCreate,
    RatingPublic,
    parse_json,
)
from forms.service import ApplicationService
from identity.sessions import Principal
from storage.db import read_only, transaction
from wallet.errors import FieldsInvalid
from wallet.service import Draft, WalletService


class ProceduresController(Controller):
    path = "/procedures"
    tags = ("forms",)

    @get("", security=[])
    async def list_procedures(self, request: Request[Any, Any, State]) -> ProcedurePage:
        """The whole catalog in one page (it is small)."""
        catalog = container_of(request.app.state).catalog
        return ProcedurePage(
            items=[ProcedurePublic.model_validate(p.public()) for p in catalog.all()], next_cursor=None
        )

    @get("/{code:str}", security=[])
    async def procedure(self, request: Request[Any, Any, State], code: str) -> ProcedurePublic:
        return ProcedurePublic.model_validate(container_of(request.app.state).catalog.get(code).public())


def _service(unit: UnitOfWork) -> ApplicationService:
    return ApplicationService(unit.session, unit.container.forms, unit.notifier)


class ApplicationsController(Controller):
    path = "/applications"
    security = BEARER
    tags = ("forms",)

    @post("", status_code=HTTP_201_CREATED, sync_to_thread=True)
    def create(self, principal: Principal, unit: UnitOfWork, data: ApplicationCreate) -> ApplicationPublic:
        """A draft prefilled from the wallet, with the papers it needs attached by reference."""
        return _service(unit).create(principal.subject_id, data)

    @get("", sync_to_thread=True)
    def list_applications(
        self,
        principal: Principal,
        unit: UnitOfWork,
        status: ApplicationStatus | None = None,
        limit: int | None = LIMIT,
        cursor: str | None = CURSOR,
    ) -> ApplicationPage:
        items, next_cursor = _service(unit).page(
            principal.subject_id, status=status, limit=limit, cursor=page_cursor(cursor)
        )
        return ApplicationPage(items=items, next_cursor=next_cursor)

    @get("/{application_id:str}", sync_to_thread=True)
    def get_application(self, principal: Principal, unit: UnitOfWork, application_id: str) -> ApplicationPublic:
        return _service(unit).get(principal.subject_id, application_id)

    @patch("/{application_id:str}", sync_to_thread=True)
    def update(
        self, principal: Principal, unit: UnitOfWork, application_id: str, data: ApplicationUpdate
    ) -> ApplicationPublic:
        return _service(unit).update(principal.subject_id, application_id, data)

    @delete("/{application_id:str}", status_code=HTTP_204_NO_CONTENT, sync_to_thread=True)
    def discard(self, principal: Principal, unit: UnitOfWork, application_id: str) -> None:
        """Only a draft can be discarded."""
        _service(unit).delete_draft(principal.subject_id, application_id)

    @post("/{application_id:str}/refresh", status_code=HTTP_200_OK, sync_to_thread=True)
    def refresh(self, principal: Principal, unit: UnitOfWork, application_id: str) -> ApplicationPublic:
        """Pull again from the wallet: papers added since the draft began fill what they can."""
        return _service(unit).refresh(principal.subject_id, application_id)

    @post("/{application_id:str}/submit", status_code=HTTP_200_OK, sync_to_thread=True)
    def submit(self, principal: Principal, unit: UnitOfWork, application_id: str) -> ApplicationPublic:
        return _service(unit).submit(principal, application_id)

    @post("/{application_id:str}/rating", status_code=HTTP_201_CREATED)
    async def rate(
        self,
        request: Request[Any, Any, State],
        principal: Principal,
        unit: UnitOfWork,
        application_id: str,
        data: RatingCreate,
    ) -> RatingPublic:
        """Once per dossier, after submission: `{"score": 1..5, "comment"?}` (the score a JSON integer)."""
        # The framework's decoding is lax ("5" passes for 5): the body is checked again, strictly.
        data = parse_json(RatingCreate, await request.body())
        return await unit.run(lambda: _service(unit).rate(principal.subject_id, application_id, data))

    @post(
        "/{application_id:str}/documents",
        status_code=HTTP_201_CREATED,
        request_max_body_size=None,
        operation_class=MultipartDocumentOperation,
    )
    async def upload(
        self, request: Request[Any, Any, State], principal: Principal, application_id: str
    ) -> ApplicationPublic:
        """A new paper (multipart, as `POST /documents`): stored in the wallet first, so it is never asked again,
        then attached to the dossier."""
        container = container_of(request.app.state)
        citizen_id = principal.subject_id

        def start() -> Draft:
            with transaction(read_only(container.engine)) as session:
                ApplicationService(session, container.forms, container.notifier(session)).check_upload(
                    citizen_id, application_id
                )
                return WalletService(session, container.wallet).start_new(citizen_id)

        holder = await anyio.to_thread.run_sync(container.holder_of, citizen_id)
        draft = await anyio.to_thread.run_sync(start)
        try:
            form = await read_multipart(request, draft.add_file, max_files=container.wallet.config.max_files)
            type_code = form.fields.get("type", "").strip()
            if not type_code:
                raise FieldsInvalid({"type": ["is required"]})

            def commit() -> ApplicationPublic:
                with transaction(container.engine) as session:
                    service = ApplicationService(session, container.forms, container.notifier(session))
                    service.check_upload(citizen_id, application_id, type_code)
                    paper = WalletService(session, container.wallet).commit_new(
                        draft, type_code=type_code, fields=form.fields.get("fields", "{}"), holder=holder
                    )
                    return service.attach_uploaded(citizen_id, application_id, paper)

            return await anyio.to_thread.run_sync(commit)
        except BaseException:
            await draft.discard()
            raise
