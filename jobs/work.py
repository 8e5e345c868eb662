"""The units of periodic work, each a thin call of a domain service, each safe to run twice or on two workers at once:
the dispatcher claims outbox rows with a lease, the janitor removes only what is still unreferenced, the chain and
the checkpoint lock the log's head. The in-process loops (`WALLET_BACKGROUND=inline`) and the jobs call the same."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import anyio.to_thread
import structlog
from sqlalchemy import Engine

from audit.appends import chain_committed
from audit.checkpoints import CheckpointService
from crypto.clock import Clock
from crypto.keyring import Keyring
from notify.dispatcher import OutboxDispatcher
from storage.db import transaction
from wallet.janitor import GcReport, Janitor
from wallet.service import WalletDeps

log = structlog.get_logger("jobs.work")
OUTBOX_PASSES = 10  # a job sends at most this many dispatcher passes; the next tick takes the rest


@dataclass(frozen=True)
class WorkDeps:
    """What the work needs, built once per process by the composition root (`api.container`)."""

    engine: Engine
    dispatcher: OutboxDispatcher
    wallet: WalletDeps
    clock: Clock
    keyring: Callable[[], Keyring]


async def dispatch_outbox(deps: WorkDeps, *, limit: int = 100) -> int:
    """Send the due outbox messages (at most `OUTBOX_PASSES` full passes); returns how many were sent."""
    sent = 0
    for _ in range(OUTBOX_PASSES):
        batch = await deps.dispatcher.dispatch(limit=limit)
        sent += batch
        if batch < limit:
            break
    return sent


async def collect_garbage(deps: WorkDeps) -> GcReport:
    report = await Janitor(deps.wallet).collect()
    log.info("janitor", **vars(report))
    return report


async def chain_audit_log(deps: WorkDeps) -> None:
    """Chain the access-log entries committed since the last pass (PostgreSQL appends leave them unchained)."""
    await anyio.to_thread.run_sync(chain_committed, deps.engine)


async def sign_checkpoint(deps: WorkDeps) -> bool:
    """Sign a checkpoint of the log's head unless nothing was appended since the last one; True if one was made."""

    def make() -> bool:
        with transaction(deps.engine) as session:
            made = CheckpointService(session, deps.clock, deps.keyring).make()
        if made is not None and made.created:
            log.info("audit_checkpoint", seq=made.checkpoint.seq, kid=made.checkpoint.kid)
            return True
        return False

    return await anyio.to_thread.run_sync(make)
