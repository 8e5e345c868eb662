"""Recovery of a lost phone or PIN: an officer checks the card at a counter (or the holder signs in with national
e-ID), a code goes to the phone the holder has now, and the code with a new PIN completes it. Every session,
refresh family and authenticator of the account is revoked, the old phone is told, and the account comes out at
level 2 (a recovery is a proofing). A level-1 account whose phone is not the proofed person's was someone else's:
it is closed (`assurance.closure`) and handed to the ID's holder, who keeps only the papers held for them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import Engine
from sqlmodel import Session

from assurance import notices
from assurance.closure import close_impostor, replacing_key
from assurance.deps import AssuranceDeps
from assurance.errors import AssuranceInvalid
from assurance.models import Recovery
from assurance.repository import AssuranceRepository
from assurance.schemas import RecoveryComplete, RecoveryCreate, RecoveryStarted
from assurance.service import AssuranceService, Proofer
from audit.service import AuditService
from crypto.envelope import CitizenKey
from identity.challenges import Challenges, Subject
from identity.errors import OtpInvalid, ValidationFailed
from identity.holder import HolderProfile, HolderService
from identity.models import Citizen
from identity.repository import IdentityRepository
from identity.schemas import TokenPair
from identity.second_factor import SecondFactor
from identity.sessions import Principal, SessionService
from identity.validation import cccd_problems, is_valid_pin, normalize_phone
from notify.service import Notifier
from storage.db import read_only, transaction
from storage.types import new_id

PURPOSE = "recover"
_SEALED = "recovery"


@dataclass(frozen=True)
class Claimed:
    """Who the recovery is for, as the card (or the e-ID) says, and the phone they have now."""

    national_id: str
    new_phone: str
    full_name: str | None = None
    date_of_birth: date | None = None

    def as_dict(self) -> dict[str, str | None]:
        dob = self.date_of_birth.isoformat() if self.date_of_birth else None
        return {"national_id": self.national_id, "new_phone": self.new_phone, "full_name": self.full_name, "dob": dob}

    @classmethod
    def from_dict(cls, data: dict[str, str | None]) -> Claimed:
        dob = data.get("dob")
        return cls(
            national_id=str(data["national_id"]),
            new_phone=str(data["new_phone"]),
            full_name=data.get("full_name"),
            date_of_birth=date.fromisoformat(dob) if dob else None,
        )


class RecoveryService:
    """Starts recoveries; flushes, never commits."""

    def __init__(self, session: Session, deps: AssuranceDeps, notifier: Notifier) -> None:
        self._session = session
        self._deps = deps
        self._notifier = notifier
        self._ids = IdentityRepository(session)
        self._assurance = AssuranceService(session, deps, notifier)

    def start_at_counter(self, principal: Principal, data: RecoveryCreate) -> RecoveryStarted:
        proofer = self._assurance.counter_proofer(principal)
        phone = normalize_phone(data.new_phone)
        errors: dict[str, list[str]] = {}
        if problems := cccd_problems(data.national_id, date_of_birth=data.date_of_birth):
            errors["national_id"] = problems
        if phone is None:
            errors["new_phone"] = ["not a Vietnamese mobile number (0xxxxxxxxx or +84xxxxxxxxx)"]
        if errors or phone is None:
            raise AssuranceInvalid(errors)
        claimed = Claimed(data.national_id, phone, data.full_name, data.date_of_birth)
        return self.start(claimed, proofer)

    def start(self, claimed: Claimed, proofer: Proofer) -> RecoveryStarted:
        """Send the code to the new phone; nothing changes on the account before it comes back."""
        index = self._deps.identity.national_id_index(claimed.national_id)
        citizen = self._active(index)
        if citizen is None and (claimed.full_name is None or claimed.date_of_birth is None):
            needed = ["no account holds this ID number: give the holder's name and date of birth from the card"]
            raise AssuranceInvalid({"full_name": needed, "date_of_birth": needed})
        recovery_id = new_id()
        challenge = Challenges(self._ids, self._deps.identity, self._notifier).issue(
            Subject("recovery", recovery_id, claimed.new_phone), PURPOSE
        )
        AssuranceRepository(self._session).add(
            Recovery(
                id=recovery_id,
                national_id_index=index,
                method=proofer.method,
                officer_id=proofer.officer.id if proofer.officer else None,
                agency_code=proofer.agency.code if proofer.agency else None,
                eid_issuer=proofer.eid_issuer,
                sealed=self._deps.sealer.seal(claimed.as_dict(), purpose=_SEALED, ref=recovery_id),
                challenge_id=challenge.challenge_id,
                created_at=self._deps.identity.clock.now(),
                expires_at=challenge.expires_at,
            )
        )
        if citizen is not None:  # the holder sees that someone started to recover their account, and who
            purpose = f"Bắt đầu khôi phục tài khoản {proofer.how}"
            AuditService(self._session, self._deps.identity.clock).record(
                citizen.id, proofer.actor, "identity_recovery_started", purpose=purpose
            )
        account = "existing" if citizen is not None else "new"
        return RecoveryStarted(challenge_id=challenge.challenge_id, expires_at=challenge.expires_at, account=account)

    def _active(self, index: str) -> Citizen | None:
        citizen = self._ids.citizen_by_national_id(index)
        return citizen if citizen is not None and citizen.status == "active" else None


@dataclass(frozen=True)
class Plan:
    citizen_id: str | None  # None: no active account holds the ID (one opens)
    closes_impostor: bool


@dataclass(frozen=True)
class Completed:
    tokens: TokenPair
    blob_keys: list[str]  # of an impostor's papers, to delete after the commit
    outbox_ids: list[str]  # notices to deliver after the commit


def complete_recovery(engine: Engine, deps: AssuranceDeps, data: RecoveryComplete) -> Completed:
    """Check the code, apply the recovery, sign the holder in. Runs its own transactions (a key replacement spans
    the key store and the database)."""
    if not is_valid_pin(data.pin):
        raise ValidationFailed({"pin": ["must be exactly 6 digits"]})
    with transaction(read_only(engine)) as session:
        plan = _plan(session, deps, data.challenge_id)
    replaced = plan.citizen_id if plan.closes_impostor else None
    with replacing_key(deps, replaced) as new_key, transaction(engine) as session:
        notifier = deps.notifier_of(session)
        _consume_code(session, deps, data.challenge_id, data.code)
        recovery = _open_recovery(session, deps, data.challenge_id)
        if _plan(session, deps, data.challenge_id) != plan:
            raise OtpInvalid("Tài khoản vừa thay đổi; hãy bắt đầu khôi phục lại")
        citizen, blob_keys = _Apply(session, deps, notifier, recovery).run(plan, data.pin, new_key)
        tokens = SessionService(session, deps.identity).start("citizen", citizen.id)
        outbox = list(notifier.queued_ids)
    return Completed(tokens, blob_keys, outbox)


def _consume_code(session: Session, deps: AssuranceDeps, challenge_id: str, code: str) -> None:
    """The recovery code, checked like every second factor (attempts per challenge and per account)."""
    repo = IdentityRepository(session)
    challenge = repo.challenge(challenge_id)
    if challenge is None or challenge.purpose != PURPOSE or challenge.consumed_at is not None:
        raise OtpInvalid()
    SecondFactor(repo, deps.identity).check_challenge(challenge, code)


def _plan(session: Session, deps: AssuranceDeps, challenge_id: str) -> Plan:
    recovery = AssuranceRepository(session).recovery_by_challenge(challenge_id)
    if recovery is None or recovery.completed_at is not None:
        raise OtpInvalid()
    citizen = IdentityRepository(session).citizen_by_national_id(recovery.national_id_index)
    if citizen is None or citizen.status != "active":
        return Plan(None, closes_impostor=False)
    claimed = _claimed(deps, recovery)
    if citizen.assurance >= 2:
        return Plan(citizen.id, closes_impostor=False)
    current = HolderService(session, deps.identity).profile(citizen)
    return Plan(citizen.id, closes_impostor=current.phone != claimed.new_phone)


def _open_recovery(session: Session, deps: AssuranceDeps, challenge_id: str) -> Recovery:
    recovery = AssuranceRepository(session).recovery_by_challenge(challenge_id)
    if recovery is None or recovery.completed_at is not None or deps.identity.clock.now() >= recovery.expires_at:
        raise OtpInvalid()
    return recovery


def _claimed(deps: AssuranceDeps, recovery: Recovery) -> Claimed:
    return Claimed.from_dict(deps.sealer.open(recovery.sealed, purpose=_SEALED, ref=recovery.id))


def proofer_of(session: Session, deps: AssuranceDeps, recovery: Recovery) -> Proofer:
    ids = IdentityRepository(session)
    officer = ids.officer(recovery.officer_id) if recovery.officer_id else None
    agency = ids.agency(recovery.agency_code) if recovery.agency_code else None
    if officer is not None and agency is not None:
        return Proofer("counter", officer=officer, agency=agency)
    return Proofer("eid", eid_issuer=recovery.eid_issuer, eid_name=deps.eid_name)


class _Apply:
    """One completed recovery, in the caller's transaction."""

    def __init__(self, session: Session, deps: AssuranceDeps, notifier: Notifier, recovery: Recovery) -> None:
        self._session = session
        self._deps = deps
        self._notifier = notifier
        self._recovery = recovery
        self._claimed = _claimed(deps, recovery)
        self._proofer = proofer_of(session, deps, recovery)
        self._ids = IdentityRepository(session)
        self._holders = HolderService(session, deps.identity)
        self._assurance = AssuranceService(session, deps, notifier)

    def run(self, plan: Plan, pin: str, new_key: CitizenKey | None) -> tuple[Citizen, list[str]]:
        self._recovery.completed_at = self._now()
        AssuranceRepository(self._session).add(self._recovery)
        citizen = self._ids.citizen(plan.citizen_id) if plan.citizen_id else None
        if citizen is None:
            return self._open(pin), []
        if plan.closes_impostor and new_key is not None:
            return self._take_back(citizen, pin, new_key)
        return self._recover(citizen, pin), []

    def _holder(self, previous: HolderProfile | None, *, email: str | None) -> HolderProfile:
        claimed = self._claimed
        full_name = claimed.full_name or (previous.full_name if previous else "")
        born = claimed.date_of_birth or (previous.date_of_birth if previous else None)
        if born is None:
            raise AssuranceInvalid({"date_of_birth": ["required"]})
        return HolderProfile(claimed.national_id, full_name, born, claimed.new_phone, email=email)

    def _open(self, pin: str) -> Citizen:
        """No account held the ID: one opens, at level 2, for the person the officer checked."""
        pending = self._ids.citizen_by_national_id(self._recovery.national_id_index)
        if pending is not None:  # an unfinished registration of the same ID number (its key: the janitor's)
            self._ids.delete_pending_citizen(pending)
        holder = self._holder(None, email=None)
        citizen, _key = self._holders.open_account(holder, pin_hash=self._holders.pin_hash(pin), assurance=2)
        self._assurance.raise_to_level_two(citizen, self._proofer, kind="proofing", notify=False)
        self._assurance.tell(citizen, notices.level_two(self._now(), self._proofer.how, 0), profile=holder)
        return citizen

    def _recover(self, citizen: Citizen, pin: str) -> Citizen:
        key = self._deps.identity.citizen_keys.open_fresh(citizen.id)
        previous = self._holders.profile(citizen, key)
        holder = self._holder(previous, email=previous.email)
        self._holders.replace(citizen, key, holder, pin=pin)
        self._holders.revoke_access(citizen.id, reason="recovered")
        _, released = self._assurance.raise_to_level_two(citizen, self._proofer, kind="recovery", notify=False)
        self._assurance.tell(citizen, notices.recovered(self._now(), self._proofer.how, released), profile=holder)
        if previous.phone and previous.phone != holder.phone:
            notice = notices.recovered_old_phone(self._now(), self._proofer.how)
            self._notifier.send(channel="sms", to=previous.phone, body=notice.body, subject=notice.subject)
        return citizen

    def _take_back(self, citizen: Citizen, pin: str, new_key: CitizenKey) -> tuple[Citizen, list[str]]:
        previous = self._holders.profile(citizen)
        holder = self._holder(previous, email=None)
        closed = close_impostor(
            self._session, self._deps, self._notifier, citizen, new_key=new_key, holder=holder, pin=pin
        )
        _, released = self._assurance.raise_to_level_two(
            citizen, self._proofer, kind="recovery", closed_impostor=True, notify=False
        )
        self._assurance.tell(citizen, notices.recovered(self._now(), self._proofer.how, released), profile=holder)
        tell_impostor(self._notifier, closed.previous, self._now(), self._proofer.how)
        return citizen, closed.papers.blob_keys

    def _now(self) -> datetime:
        return self._deps.identity.clock.now()


def tell_impostor(notifier: Notifier, previous: HolderProfile, at: datetime, how: str) -> None:
    """The closed account's holder hears of it by SMS and email only: the in-app notices are the ID holder's now."""
    notice = notices.closed_as_impostor(at, how)
    if previous.phone:
        notifier.send(channel="sms", to=previous.phone, body=notice.body, subject=notice.subject)
    if previous.email:
        notifier.send(channel="email", to=previous.email, body=notice.body, subject=notice.subject)
