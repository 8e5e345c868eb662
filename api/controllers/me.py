"""The caller's own profile."""

from __future__ import annotations

from typing import Any

import anyio
from litestar import Controller, Request, delete, get
from litestar.datastructures import State
from litestar.status_codes import HTTP_204_NO_CONTENT

from api.auth import BEARER
from api.deps import container_of
from api.unit import UnitOfWork
from assurance.service import AssuranceService
from identity.accounts import AccountService
from identity.schemas import CitizenProfile, FreshFactor, OfficerProfile
from identity.sessions import Principal


class MeController(Controller):
    """The caller's account."""

    path = "/me"
    security = BEARER
    tags = ("me",)

    @get("")
    async def me(self, principal: Principal, unit: UnitOfWork) -> CitizenProfile | OfficerProfile:
        """A citizen's profile with their identity level (`assurance`), latest `proofing` and `held_papers`."""

        def read() -> CitizenProfile | OfficerProfile:
            if principal.role == "officer":
                return AccountService(unit.session, unit.container.identity).officer_profile(principal.subject_id)
            return AssuranceService(unit.session, unit.container.assurance, unit.notifier).profile(principal.subject_id)

        return await unit.read(read)

    @delete("", status_code=HTTP_204_NO_CONTENT)
    async def erase(self, request: Request[Any, Any, State], principal: Principal, data: FreshFactor) -> None:
        """Erase the account: every paper becomes unrecoverable (the citizen's key is destroyed)."""
        container = container_of(request.app.state)
        blob_keys = await anyio.to_thread.run_sync(lambda: container.erase_citizen(principal, data))
        await container.delete_blobs(blob_keys)
