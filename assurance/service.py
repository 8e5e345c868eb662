"""Identity levels: what `GET /me` shows of them, counter proofing, and raising an account to level 2 (whatever
the route), which releases the papers held for it."""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session

from assurance import notices
from assurance.deps import AssuranceDeps
from assurance.errors import CitizenUnavailable, PresenceNotFound
from assurance.models import Proofing
from assurance.repository import AssuranceRepository, ProofingRow
from assurance.schemas import ProofingDone
from audit.service import Actor, AuditService
from identity.errors import Forbidden
from identity.holder import HolderProfile, HolderService
from identity.models import Agency, Citizen, Officer
from identity.notices import Notice
from identity.repository import IdentityRepository
from identity.schemas import CitizenProfile, ProofingAgency, ProofingBy, ProofingPublic
from identity.service import AuthService
from identity.sessions import Principal
from notify.service import Notifier
from wallet.holding import HeldPapers

LEVEL_TWO = 2
PROOFING_ACTION = "identity_proofing"
RECOVERY_ACTION = "identity_recovery"


@dataclass(frozen=True)
class Proofer:
    """Who proofs: an officer of an agency at a counter, or a national e-ID provider."""

    method: str  # counter | eid
    officer: Officer | None = None
    agency: Agency | None = None
    eid_issuer: str | None = None
    eid_name: str | None = None

    @property
    def actor(self) -> Actor:
        if self.agency is not None:
            person = self.officer.full_name if self.officer is not None else None
            return Actor("officer", self.agency.code, self.agency.name, person)
        return Actor("system", "eid", self.eid_name or "VNeID")

    @property
    def how(self) -> str:
        if self.officer is not None and self.agency is not None:
            return notices.counter(self.officer.full_name, self.agency.name)
        return notices.eid(self.eid_name or "VNeID")


class AssuranceService:
    """Flushes, never commits."""

    def __init__(self, session: Session, deps: AssuranceDeps, notifier: Notifier) -> None:
        self._session = session
        self._deps = deps
        self._repo = AssuranceRepository(session)
        self._ids = IdentityRepository(session)
        self._notifier = notifier

    # -- reading -------------------------------------------------------------------------------------------
    def profile(self, citizen_id: str) -> CitizenProfile:
        """`GET /me` of a citizen: the profile with its level, latest proofing and held papers (one read)."""
        row = self._repo.profile_row(citizen_id)
        auth = AuthService(self._session, self._deps.identity, self._notifier)
        profile = auth.profile_of(row, totp_enabled=row.totp_enabled if row is not None else None)
        level = row.assurance if row is not None else 1
        return profile.model_copy(
            update={
                "assurance": LEVEL_TWO if level >= LEVEL_TWO else 1,
                "proofing": self._public(row.proofing) if row is not None and row.proofing is not None else None,
                "held_papers": row.held_papers if row is not None else 0,
            }
        )

    def latest(self, citizen_id: str) -> ProofingPublic | None:
        proofing = self._repo.latest_proofing(citizen_id)
        return self._public(proofing) if proofing is not None else None

    def _public(self, proofing: ProofingRow) -> ProofingPublic:
        method = "counter" if proofing.method == "counter" else "eid"
        if proofing.officer_id is None:
            by = ProofingBy(name=self._deps.eid_name)
        else:
            agency = None
            if proofing.agency_code is not None and proofing.agency_name is not None:
                agency = ProofingAgency(code=proofing.agency_code, name=proofing.agency_name)
            by = ProofingBy(name=proofing.officer_name or "", agency=agency)
        return ProofingPublic(method=method, at=proofing.at, by=by)

    # -- counter proofing -----------------------------------------------------------------------------------
    def proof_at_counter(self, principal: Principal, presence_id: str) -> ProofingDone:
        """The officer who scanned the citizen's QR confirms the physical card matches the person."""
        proofer = self.counter_proofer(principal)
        presence = AuditService(self._session, self._deps.identity.clock).presence(presence_id)
        if presence is None or proofer.officer is None or presence.officer_id != proofer.officer.id:
            raise PresenceNotFound()
        citizen = self._ids.citizen(presence.citizen_id)
        if citizen is None or citizen.status != "active":
            raise CitizenUnavailable()
        if citizen.assurance >= LEVEL_TWO:
            latest = self.latest(citizen.id)
            if latest is not None:
                return ProofingDone(proofing=latest, released_papers=0)  # already proofed: nothing recorded twice
        proofing, released = self.raise_to_level_two(citizen, proofer, kind="proofing")
        officer, agency = proofer.officer, proofer.agency
        done = ProofingRow(
            proofing.method,
            proofing.at,
            proofing.officer_id,
            officer.full_name,
            agency.code if agency is not None else None,
            agency.name if agency is not None else None,
        )
        return ProofingDone(proofing=self._public(done), released_papers=released)

    def counter_proofer(self, principal: Principal) -> Proofer:
        principal.require("officer")
        officer = self._ids.officer(principal.subject_id)
        agency = self._ids.agency(officer.agency_code) if officer is not None else None
        if officer is None or officer.status != "active" or agency is None or agency.status != "active":
            raise Forbidden()
        return Proofer("counter", officer=officer, agency=agency)

    # -- level 2, whatever the route --------------------------------------------------------------------------
    def raise_to_level_two(
        self, citizen: Citizen, proofer: Proofer, *, kind: str, closed_impostor: bool = False, notify: bool = True
    ) -> tuple[Proofing, int]:
        """Record the proofing, release the held papers, log it in the citizen's access log (naming the officer)
        and tell the citizen. Returns the proofing and how many papers were released."""
        now = self._deps.identity.clock.now()
        citizen.assurance = LEVEL_TWO
        self._ids.add(citizen)
        proofing = Proofing(
            citizen_id=citizen.id,
            method=proofer.method,
            kind=kind,
            at=now,
            officer_id=proofer.officer.id if proofer.officer else None,
            agency_code=proofer.agency.code if proofer.agency else None,
            eid_issuer=proofer.eid_issuer,
            closed_impostor=closed_impostor,
        )
        self._repo.add(proofing)
        released = len(HeldPapers(self._session, self._deps.wallet).release(citizen.id))
        action = RECOVERY_ACTION if kind == "recovery" else PROOFING_ACTION
        purpose = f"{'Khôi phục tài khoản' if kind == 'recovery' else 'Xác thực danh tính mức 2'} {proofer.how}"
        if closed_impostor:
            purpose += "; tài khoản do người khác đăng ký bằng số định danh này đã bị đóng"
        AuditService(self._session, self._deps.identity.clock).record(
            citizen.id, proofer.actor, action, purpose=purpose
        )
        if notify:
            self.tell(citizen, notices.level_two(now, proofer.how, released))
        return proofing, released

    def tell_paper_held(self, citizen_id: str) -> None:
        """An issuer's paper waits for this level-1 citizen: say how to receive it, never what it is."""
        citizen = self._ids.citizen(citizen_id)
        if citizen is not None:
            self.tell(citizen, notices.paper_held())

    def tell(self, citizen: Citizen, notice: Notice, *, profile: HolderProfile | None = None) -> None:
        profile = profile or HolderService(self._session, self._deps.identity).profile(citizen)
        self._notifier.notify_all(
            recipient_id=citizen.id,
            phone=profile.phone,
            email=profile.email,
            subject=notice.subject,
            body=notice.body,
        )
