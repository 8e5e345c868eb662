"""The state machines and their record. A request goes `pending` → `approved` | `denied` | `expired`; a consent
`active` → `revoked` | `expired`. Each move, creation included, appends a `consent_event` (at, actor, from, to).

Expiry needs no timer: whoever next touches a request or consent past its time settles it, and the event carries
the moment it expired (the injected clock decides), not the moment it was noticed."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from consent.models import Consent, ConsentEvent, ConsentRequest
from consent.repository import ConsentRepository

ActorKind = Literal["agency", "officer", "citizen", "system"]

_REQUEST_MOVES: dict[str | None, frozenset[str]] = {
    None: frozenset({"pending"}),
    "pending": frozenset({"approved", "denied", "expired"}),
}
_CONSENT_MOVES: dict[str | None, frozenset[str]] = {
    None: frozenset({"active"}),
    "active": frozenset({"revoked", "expired"}),
}


@dataclass(frozen=True)
class EventActor:
    kind: ActorKind
    id: str


SYSTEM = EventActor("system", "congdanso")


class IllegalTransition(RuntimeError):
    """A move the state machine does not allow: a bug in the caller, never the client's doing."""


def move_request(
    repo: ConsentRepository, request: ConsentRequest, to: str, *, actor: EventActor, at: datetime, new: bool = False
) -> None:
    _move(repo, "request", request, to, actor=actor, at=at, moves=_REQUEST_MOVES, new=new)


def move_consent(
    repo: ConsentRepository, consent: Consent, to: str, *, actor: EventActor, at: datetime, new: bool = False
) -> None:
    _move(repo, "consent", consent, to, actor=actor, at=at, moves=_CONSENT_MOVES, new=new)


def _move(
    repo: ConsentRepository,
    subject_type: str,
    row: ConsentRequest | Consent,
    to: str,
    *,
    actor: EventActor,
    at: datetime,
    moves: dict[str | None, frozenset[str]],
    new: bool,
) -> None:
    before = None if new else row.status
    if to not in moves.get(before, frozenset()):
        raise IllegalTransition(f"{subject_type} {row.id}: {before} → {to}")
    row.status = to
    event = ConsentEvent(
        subject_type=subject_type,
        subject_id=row.id,
        at=at,
        actor_type=actor.kind,
        actor_id=actor.id,
        from_status=before,
        to_status=to,
    )
    repo.add(row, event)


def settle_request(repo: ConsentRepository, request: ConsentRequest, now: datetime) -> None:
    """Mark a pending request expired once its 7 days are over."""
    if request.status == "pending" and now >= request.expires_at:
        move_request(repo, request, "expired", actor=SYSTEM, at=request.expires_at)


def settle_consent(repo: ConsentRepository, consent: Consent, now: datetime) -> None:
    """Mark an active consent expired from its `valid_until` on."""
    if consent.status == "active" and now >= consent.valid_until:
        move_consent(repo, consent, "expired", actor=SYSTEM, at=consent.valid_until)
