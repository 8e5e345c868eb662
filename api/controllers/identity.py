"""Identity assurance at the one-stop counter: proofing after a QR scan, and recovery of a lost phone or PIN
(API.md: "Identity assurance")."""

from __future__ import annotations

from typing import Any

import anyio
from litestar import Controller, Request, post
from litestar.datastructures import State
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED, HTTP_202_ACCEPTED

from api.auth import BEARER
from api.deps import container_of
from api.unit import UnitOfWork
from assurance.recovery import RecoveryService, complete_recovery
from assurance.schemas import ProofingCreate, ProofingDone, RecoveryComplete, RecoveryCreate, RecoveryStarted
from assurance.service import AssuranceService
from identity.schemas import TokenPair
from identity.sessions import Principal


class IdentityController(Controller):
    path = "/identity"
    security = BEARER
    tags = ("identity-assurance",)

    @post("/proofings", status_code=HTTP_201_CREATED, sync_to_thread=True)
    def proof(self, principal: Principal, unit: UnitOfWork, data: ProofingCreate) -> ProofingDone:
        """The officer who scanned the citizen's QR (`presence_id`) confirms they checked the physical card
        against the person: the account reaches level 2 and the papers held for it join the wallet."""
        service = AssuranceService(unit.session, unit.container.assurance, unit.notifier)
        return service.proof_at_counter(principal, data.presence_id)

    @post("/recoveries", status_code=HTTP_202_ACCEPTED, sync_to_thread=True)
    def recover(self, principal: Principal, unit: UnitOfWork, data: RecoveryCreate) -> RecoveryStarted:
        """After checking the card: a code goes to the holder's new phone; `POST /auth/recover/complete` with it
        and a new PIN finishes. Give `full_name` and `date_of_birth` from the card (required when no account
        holds the ID number: one then opens at level 2)."""
        return RecoveryService(unit.session, unit.container.assurance, unit.notifier).start_at_counter(principal, data)


class RecoveryController(Controller):
    path = "/auth/recover"
    tags = ("identity-assurance",)

    @post("/complete", status_code=HTTP_200_OK, security=[])
    async def complete(self, request: Request[Any, Any, State], data: RecoveryComplete) -> TokenPair:
        """The code sent to the new phone and the new PIN: every earlier session and authenticator is revoked."""
        container = container_of(request.app.state)
        done = await anyio.to_thread.run_sync(complete_recovery, container.engine, container.assurance, data)
        await container.dispatcher.dispatch(done.outbox_ids)
        await container.delete_blobs(done.blob_keys)
        return done.tokens
