"""The audit trail: records who accessed a citizen's data, lists it for the citizen, and keeps the
presence records of officers' QR scans."""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import Session

from audit.appends import chains_inline, link_inline
from audit.errors import InvalidCursor, InvalidPeriod
from audit.models import AccessLogEntry, Presence, recorded_entry, recorded_presence
from audit.repository import AuditRepository
from audit.schemas import AccessLogEntryPublic, ActorPublic, ActorType
from crypto.clock import Clock
from storage.types import new_id

PAGE_DEFAULT = 50
PAGE_MAX = 100
PRESENCE_TTL = timedelta(minutes=30)
_ACTOR_TYPES: dict[str, ActorType] = {"officer": "officer", "agency": "agency", "system": "system"}


@dataclass(frozen=True)
class Actor:
    """Who accessed the data, as the citizen sees it (an officer acts in the name of their agency)."""

    type: ActorType
    code: str
    name: str
    person: str | None = None  # who acted for the agency (an officer's name)


@dataclass(frozen=True)
class LogActor:
    """One who appears in a citizen's log, by the code the log's `agency` filter takes."""

    code: str
    name: str


class AuditService:
    """Writes and reads the access log and presence records; flushes, never commits."""

    def __init__(self, session: Session, clock: Clock) -> None:
        self._session = session
        self._repo = AuditRepository(session)
        self._clock = clock

    def record(
        self,
        citizen_id: str,
        actor: Actor,
        action: str,
        *,
        document_id: str | None = None,
        consent_id: str | None = None,
        purpose: str | None = None,
    ) -> AccessLogEntry:
        """Append one entry to the citizen's access log. Never pass document content here.

        The entry joins the hash chain in this transaction on SQLite, in a batch soon after its commit on PostgreSQL
        (`audit.appends`); either way the citizen sees it once the transaction commits, and never if it rolls back.
        On SQLite the transaction must be a writing one (`BEGIN IMMEDIATE`, not `storage.db.read_only`)."""
        values: dict[str, Any] = {
            "id": new_id(),
            "citizen_id": citizen_id,
            "at": self._clock.now(),
            "actor_type": actor.type,
            "actor_code": actor.code,
            "actor_name": actor.name,
            "actor_person": actor.person,
            "action": action,
            "document_id": document_id,
            "consent_id": consent_id,
            "purpose": purpose,
            "seq": None,
            "prev_hash": None,
            "entry_hash": None,
        }
        if chains_inline(self._session):
            link_inline(self._repo, values)
        self._repo.append(values)
        return recorded_entry(values)

    def access_log(
        self,
        citizen_id: str,
        *,
        limit: int | None = None,
        cursor: str | None = None,
        agency: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> tuple[list[AccessLogEntryPublic], str | None]:
        """The citizen's entries, newest first, and the cursor of the next page (None on the last); only those of
        the agency `agency` (an actor's code, as `actor.code` shows it) and at or after `since` and before `until`
        (aware times; InvalidPeriod for a naive one), when given. Pass the same filters with each page's cursor."""
        for moment in (since, until):
            if moment is not None and moment.tzinfo is None:
                raise InvalidPeriod()
        size = max(1, min(limit or PAGE_DEFAULT, PAGE_MAX))
        after = _decode_cursor(cursor) if cursor else None
        rows = self._repo.page(citizen_id, limit=size + 1, after=after, agency=agency, since=since, until=until)
        page = rows[:size]
        next_cursor = _encode_cursor(page[-1]) if len(rows) > size else None
        return [_public(row) for row in page], next_cursor

    def actors(self, citizen_id: str) -> list[LogActor]:
        """Everyone who appears in the citizen's log, once per code under the name of their latest entry (an
        agency may have been renamed), by name: the choices of the agency filter."""
        latest: dict[str, tuple[datetime, str, str]] = {}
        for code, name, at in self._repo.actors(citizen_id):
            if code not in latest or at > latest[code][0]:
                latest[code] = (at, name, code)
        ordered = sorted(latest.values(), key=lambda item: (item[1].casefold(), item[2]))
        return [LogActor(code=code, name=name) for _at, name, code in ordered]

    def open_presence(
        self, citizen_id: str, *, officer_id: str, agency_code: str, ttl: timedelta = PRESENCE_TTL
    ) -> Presence:
        """Record that the citizen stood before this officer now; valid for `ttl`. Written at once with one INSERT;
        the record returned is not attached to the session (it is never changed after it is written)."""
        now = self._clock.now()
        values = {
            "id": new_id(),
            "citizen_id": citizen_id,
            "officer_id": officer_id,
            "agency_code": agency_code,
            "scanned_at": now,
            "expires_at": now + ttl,
        }
        self._repo.insert_presence(values)
        return recorded_presence(values)

    def presence(self, presence_id: str) -> Presence | None:
        """A presence record still valid now (None if unknown or expired)."""
        presence = self._repo.presence(presence_id)
        if presence is None or self._clock.now() >= presence.expires_at:
            return None
        return presence


def _public(entry: AccessLogEntry) -> AccessLogEntryPublic:
    actor_type = _ACTOR_TYPES.get(entry.actor_type, "system")
    return AccessLogEntryPublic(
        at=entry.at,
        actor=ActorPublic(type=actor_type, code=entry.actor_code, name=entry.actor_name, person=entry.actor_person),
        action=entry.action,
        document_id=entry.document_id,
        consent_id=entry.consent_id,
        purpose=entry.purpose,
    )


def _encode_cursor(entry: AccessLogEntry) -> str:
    raw = f"{entry.at.isoformat()}|{entry.id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_cursor(cursor: str) -> tuple[datetime, str]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        moment, entry_id = raw.split("|", 1)
        at = datetime.fromisoformat(moment)
    except (binascii.Error, UnicodeDecodeError, ValueError) as exc:
        raise InvalidCursor() from exc
    if at.tzinfo is None or not entry_id:
        raise InvalidCursor()
    return at, entry_id
