"""Closing an impostor's account: a level-1 account whose holder turns out not to be the ID's holder.

The account row, its id and the papers held for it stay (they belong to the ID's holder, who gets them); what
the level-1 holder stored or was shown goes: their papers (crypto-shredded by replacing the citizen key), their
consents and dossiers, their notices, sessions, authenticator and codes, and their profile. Replacing the key
spans the key store and the database, so it runs in three steps (`CitizenKeys.begin_replacement`): the caller
opens the replacement, applies `close_impostor` in one transaction, then finishes (or abandons) it."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from sqlmodel import Session

from assurance.deps import AssuranceDeps
from consent.service import ConsentService
from crypto.envelope import CitizenKey
from forms.service import ApplicationService
from identity.holder import HolderProfile, HolderService
from identity.models import Citizen
from notify.service import Notifier
from wallet.holding import ClosedPapers, HeldPapers


@dataclass(frozen=True)
class Closed:
    previous: HolderProfile  # the impostor's profile, to tell them
    papers: ClosedPapers


def close_impostor(
    session: Session,
    deps: AssuranceDeps,
    notifier: Notifier,
    citizen: Citizen,
    *,
    new_key: CitizenKey,
    holder: HolderProfile,
    pin: str | None,
) -> Closed:
    """Hand the account to `holder`, sealed under `new_key`; flushes, never commits."""
    old_key = deps.identity.citizen_keys.open_fresh(citizen.id)
    holders = HolderService(session, deps.identity)
    previous = holders.profile(citizen, old_key)
    papers = HeldPapers(session, deps.wallet).close_impostor_papers(citizen.id, old_key, new_key)
    ConsentService(session, deps.consent).withdraw_all(citizen.id)
    ApplicationService(session, deps.forms, notifier).erase_all(citizen.id)
    notifier.forget_in_app(citizen.id)
    holders.revoke_access(citizen.id, reason="closed")
    citizen.qr_id = secrets.token_urlsafe(16)  # a QR the impostor printed or saved names nobody any more
    holders.replace(citizen, new_key, holder, pin=pin)
    return Closed(previous, papers)


@contextmanager
def replacing_key(deps: AssuranceDeps, citizen_id: str | None) -> Iterator[CitizenKey | None]:
    """The citizen's replacement key for the body's transaction (None when `citizen_id` is None); made current
    when the body ends normally, dropped when it raises. The janitor settles a crash in between."""
    if citizen_id is None:
        yield None
        return
    keys = deps.identity.citizen_keys
    key = keys.begin_replacement(citizen_id)
    try:
        yield key
    except BaseException:
        keys.abandon_replacement(citizen_id)
        raise
    keys.finish_replacement(citizen_id)
