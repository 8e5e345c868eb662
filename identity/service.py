"""Registration and two-factor login (PIN + OTP by SMS or TOTP) for citizens and officers."""

from __future__ import annotations

from datetime import date

from sqlmodel import Session, select

from crypto.keys import KeyProvider
from identity.authenticator import Authenticators
from identity.challenges import Challenges, Subject, SubjectType
from identity.errors import InvalidCredentials, OtpInvalid, RateLimited, ValidationFailed
from identity.models import Citizen, Officer, TotpCredential
from identity.profile import CitizenRecord, Profile, open_profile, profile_context
from identity.registration import Registration
from identity.repository import IdentityRepository
from identity.schemas import (
    ChallengeResponse,
    CitizenProfile,
    LoginRequest,
    RegisterRequest,
    TokenPair,
    TotpEnrollResponse,
)
from identity.second_factor import SecondFactor, totp_context
from identity.sessions import Principal, SessionService
from identity.toolkit import IdentityToolkit
from identity.validation import normalize_phone
from notify.service import Notifier

__all__ = ["AuthService", "Subject", "profile_context", "rewrap_totp_secrets", "totp_kids_in_use"]


class AuthService:
    """Every step of getting in: register, PIN check, OTP challenge and its verification, TOTP."""

    def __init__(self, session: Session, toolkit: IdentityToolkit, notifier: Notifier) -> None:
        self._repo = IdentityRepository(session)
        self._kit = toolkit
        self._notifier = notifier
        self._sessions = SessionService(session, toolkit)
        self._factor = SecondFactor(self._repo, toolkit)
        self._challenges = Challenges(self._repo, toolkit, notifier)
        self._authenticators = Authenticators(self._repo, toolkit, notifier, self._factor)

    def register(self, data: RegisterRequest, *, client_ip: str) -> ChallengeResponse:
        """202 alike whether or not the ID has an account (see `identity.registration`)."""
        registration = Registration(self._repo, self._kit, self._notifier, self._profile_of)
        return registration.register(data, client_ip=client_ip)

    # -- login --------------------------------------------------------------------------------
    def login(self, data: LoginRequest, *, client_ip: str) -> ChallengeResponse:
        self._kit.spend(f"ip-login:{client_ip}", self._kit.config.login_per_ip)
        lookup, account = self._account_for_login(data)
        now = self._kit.clock.now()
        verdict = self._kit.throttle.blocked(lookup, now=now)
        if not verdict.allowed:
            raise RateLimited(verdict.retry_after)
        # Unknown accounts are checked against a dummy hash: same answer, same cost as a wrong PIN. Nothing of the
        # account (its sealed profile, its key) is read before the PIN matched, so neither costs a known ID more.
        if not self._kit.pins.verify(account.pin_hash if account else None, data.pin) or account is None:
            self._kit.throttle.record_failure(lookup, now=now)
            raise InvalidCredentials()
        self._kit.throttle.reset(lookup)
        return self._challenges.issue(self._subject_of(account), "login")

    def _account_for_login(self, data: LoginRequest) -> tuple[str, Citizen | Officer | None]:
        """The PIN throttle's key and the active account named by the national ID (citizens) or phone (officers)."""
        if data.national_id is not None and data.phone is None:
            index = self._kit.national_id_index(data.national_id)
            citizen = self._repo.citizen_by_national_id(index)
            return f"pin:c:{index}", citizen if citizen is not None and citizen.status == "active" else None
        if data.phone is not None and data.national_id is None:
            phone = normalize_phone(data.phone) or data.phone
            officer = self._repo.officer_by_phone(phone)
            return f"pin:o:{self._kit.phone_index(phone)}", officer if officer and officer.status == "active" else None
        raise ValidationFailed({"national_id": ["give either national_id (citizens) or phone (officers)"]})

    def _subject_of(self, account: Citizen | Officer) -> Subject:
        if isinstance(account, Officer):
            return Subject("officer", account.id, account.phone)
        profile = self._profile_of(account)
        return Subject("citizen", account.id, profile.get("phone"), profile.get("email"))

    def verify_otp(self, challenge_id: str, code: str) -> TokenPair:
        """Check a code against its challenge; single use, expiring, dead after too many misses, and refused while
        the account waits out its second-factor delay."""
        challenge = self._repo.challenge(challenge_id)
        if challenge is None or challenge.consumed_at is not None or challenge.purpose == "step_up":
            raise OtpInvalid()
        self._factor.check_challenge(challenge, code)
        if challenge.subject_type == "citizen":
            return self._citizen_logged_in(challenge.subject_id)
        officer = self._repo.officer(challenge.subject_id)
        if officer is None or officer.status != "active":
            raise OtpInvalid()
        return self._sessions.start("officer", officer.id, agency=officer.agency_code)

    def _citizen_logged_in(self, citizen_id: str) -> TokenPair:
        citizen = self._repo.citizen(citizen_id)
        if citizen is None or citizen.status == "erased":
            raise OtpInvalid()
        if citizen.status == "pending":
            citizen.status, citizen.activated_at = "active", self._kit.clock.now()
            self._repo.add(citizen)
        return self._sessions.start("citizen", citizen.id)

    # -- step-up: a fresh second factor for sensitive actions ---------------------------------
    def start_step_up(self, principal: Principal) -> ChallengeResponse:
        """Send a fresh SMS code (or point to the authenticator app) for a sensitive action."""
        return self._challenges.issue(self._person(principal), "step_up")

    def prove_fresh_factor(self, principal: Principal, code: str, challenge_id: str | None = None) -> None:
        """Check a code from the authenticator app when one is in force, else from a step-up (or unused login) SMS;
        raises OtpInvalid & co., and RateLimited while the account waits out its second-factor delay."""
        self._factor.prove_fresh(_user_subject(principal), principal.subject_id, code, challenge_id)

    def erase_citizen(self, citizen_id: str) -> None:
        """Forget the account: sealed profile, lookups, PIN, authenticator and sessions. The caller
        destroys the citizen's key after committing, which makes any copy of the profile unreadable."""
        citizen = self._repo.citizen(citizen_id)
        if citizen is None:
            return
        citizen.status = "erased"
        citizen.national_id_index = f"erased:{citizen.id}"
        citizen.phone_index = f"erased:{citizen.id}"
        citizen.profile_sealed, citizen.pin_hash = b"", ""
        self._repo.add(citizen)
        self._repo.forget_subject("citizen", citizen_id, at=self._kit.clock.now())

    # -- the authenticator app ----------------------------------------------------------------
    def totp_enroll(
        self, principal: Principal, code: str | None = None, challenge_id: str | None = None
    ) -> TotpEnrollResponse:
        """A new authenticator, behind a fresh factor of the method in force (FreshFactorRequired without one)."""
        return self._authenticators.enroll(self._person(principal), code, challenge_id)

    def totp_confirm(self, principal: Principal, code: str) -> None:
        self._authenticators.confirm(self._person(principal), code)

    def totp_remove(self, principal: Principal, code: str | None, challenge_id: str | None = None) -> None:
        """Back to SMS codes, behind a fresh factor of the authenticator in force."""
        self._authenticators.remove(self._person(principal), code, challenge_id)

    def totp_enabled(self, subject_type: str, subject_id: str) -> bool:
        return self._factor.totp_enabled(subject_type, subject_id)

    def _person(self, principal: Principal) -> Subject:
        """The signed-in citizen or officer, with where to reach them."""
        if _user_subject(principal) == "citizen":
            citizen = self._repo.citizen(principal.subject_id)
            if citizen is None:
                return Subject("citizen", principal.subject_id, None)
            return self._subject_of(citizen)
        officer = self._repo.officer(principal.subject_id)
        return Subject("officer", principal.subject_id, officer.phone if officer else None)

    # -- profile ------------------------------------------------------------------------------
    def _profile_of(self, citizen: Citizen) -> Profile:
        return open_profile(self._kit.citizen_keys, citizen)

    def citizen_profile(self, citizen_id: str) -> CitizenProfile:
        return self.profile_of(self._repo.citizen(citizen_id))

    def profile_of(self, citizen: CitizenRecord | None, *, totp_enabled: bool | None = None) -> CitizenProfile:
        """`citizen_profile` of a row already read (and whether an authenticator is on, when read with it)."""
        if citizen is None or citizen.status != "active":
            raise InvalidCredentials()
        data = open_profile(self._kit.citizen_keys, citizen)
        return CitizenProfile(
            id=citizen.id,
            national_id=str(data["national_id"]),
            full_name=str(data["full_name"]),
            date_of_birth=date.fromisoformat(str(data["date_of_birth"])),
            sex="nu" if data["sex"] == "nu" else "nam",
            phone=data.get("phone"),
            email=data.get("email"),
            totp_enabled=self.totp_enabled("citizen", citizen.id) if totp_enabled is None else totp_enabled,
            created_at=citizen.created_at,
        )


def _user_subject(principal: Principal) -> SubjectType:
    if principal.role == "citizen":
        return "citizen"
    principal.require("officer")
    return "officer"


def rewrap_totp_secrets(session: Session, keys: KeyProvider) -> int:
    """Key rotation: re-wrap every stored authenticator secret under the current master key."""
    count = 0
    for credential in session.exec(select(TotpCredential)).all():
        context = totp_context(credential.subject_id)
        if credential.secret_sealed is not None:
            credential.secret_sealed = keys.rewrap(credential.secret_sealed, context=context)
        if credential.pending_secret_sealed is not None:
            credential.pending_secret_sealed = keys.rewrap(credential.pending_secret_sealed, context=context)
        session.add(credential)
        count += 1
    session.flush()
    return count


def totp_kids_in_use(session: Session, keys: KeyProvider) -> set[str]:
    kids = set()
    for credential in session.exec(select(TotpCredential)).all():
        for sealed in (credential.secret_sealed, credential.pending_secret_sealed):
            if sealed is not None:
                kids.add(keys.kid_of(sealed))
    return kids
