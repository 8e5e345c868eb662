"""Papers at the counter (API.md "Once-only e-forms"): an officer files a dossier for the citizen at the counter from
the papers the citizen consented to share (`assurance.counter_desk.CounterDesk`, the service the staff pages use)."""

from __future__ import annotations

from typing import Any

from litestar import Controller, post
from litestar.status_codes import HTTP_201_CREATED
from pydantic import BaseModel, ConfigDict, Field

from api.auth import BEARER
from api.unit import UnitOfWork
from assurance.counter_desk import CounterDesk
from forms.schemas import ApplicationSummary
from identity.sessions import Principal


class CounterDossierCreate(BaseModel):
    """The consent of a counter request (`POST /consent-requests` with `presence_id`), one of the agency's
    procedures, and the values the officer entered (by field name; the consented papers fill the rest)."""

    model_config = ConfigDict(extra="forbid")

    consent_id: str = Field(min_length=1, max_length=64)
    procedure_code: str = Field(min_length=1, max_length=64)
    fields: dict[str, Any] = Field(default_factory=dict, description="values the papers do not hold")


class CounterDossiersController(Controller):
    path = "/agency/counter-dossiers"
    security = BEARER
    tags = ("forms-agency",)

    @post("", status_code=HTTP_201_CREATED)
    async def file(self, principal: Principal, unit: UnitOfWork, data: CounterDossierCreate) -> ApplicationSummary:
        """File and submit the citizen's dossier at the counter, prefilled from the consented papers, which are
        attached; submitted like the citizen's own (due date, notice), its history naming the officer. Reading the
        papers is in the citizen's access log. 422 `application_incomplete` names what is still missing."""

        def run() -> ApplicationSummary:
            container = unit.container
            desk = CounterDesk(unit.session, container.forms, container.consent, unit.notifier, principal)
            filed = desk.file(desk.sheet(data.consent_id, data.procedure_code), data.fields)
            return ApplicationSummary.model_validate(filed.model_dump())

        return await unit.run(run)
