"""The citizen an officer has just scanned at the counter, shown again for the next steps (the result page, the
proofing checklist): only through that officer's own live presence record, never by any other id, so a page cannot
reach a citizen its officer has not scanned in the last 30 minutes. The scan itself is the access the citizen's log
records (`identity.qr.QrService.verify`); showing its result again within the presence is the same access."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlmodel import Session

from assurance.deps import AssuranceDeps
from assurance.errors import CitizenUnavailable, PresenceNotFound
from assurance.service import LEVEL_TWO, AssuranceService
from audit.service import AuditService
from identity.holder import HolderService
from identity.repository import IdentityRepository
from identity.schemas import ProofingPublic
from identity.sessions import Principal
from identity.validation import mask_national_id
from notify.service import Notifier


@dataclass(frozen=True)
class ScannedCitizen:
    presence_id: str
    full_name: str
    date_of_birth: date
    national_id_masked: str
    assurance: int  # 1 or 2
    proofing: ProofingPublic | None
    until: datetime  # when the presence ends (the follow-up actions need it)


class CounterScan:
    """Reads only; flushes nothing."""

    def __init__(self, session: Session, deps: AssuranceDeps, notifier: Notifier) -> None:
        self._session = session
        self._deps = deps
        self._assurance = AssuranceService(session, deps, notifier)

    def scanned(self, principal: Principal, presence_id: str) -> ScannedCitizen:
        """The citizen of `presence_id` if `principal` is the active officer who scanned them and it has not expired
        (`PresenceNotFound` otherwise, as `POST /identity/proofings` answers)."""
        proofer = self._assurance.counter_proofer(principal)
        presence = AuditService(self._session, self._deps.identity.clock).presence(presence_id)
        if presence is None or proofer.officer is None or presence.officer_id != proofer.officer.id:
            raise PresenceNotFound()
        citizen = IdentityRepository(self._session).citizen(presence.citizen_id)
        if citizen is None or citizen.status != "active":
            raise CitizenUnavailable()
        profile = HolderService(self._session, self._deps.identity).profile(citizen)
        return ScannedCitizen(
            presence_id=presence.id,
            full_name=profile.full_name,
            date_of_birth=profile.date_of_birth,
            national_id_masked=mask_national_id(profile.national_id),
            assurance=LEVEL_TWO if citizen.assurance >= LEVEL_TWO else 1,
            proofing=self._assurance.latest(citizen.id),
            until=presence.expires_at,
        )
