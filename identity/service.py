"""Registration and two-factor login (PIN + OTP by SMS or TOTP) for citizens and officers."""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from datetime import date
from typing import Literal

from sqlmodel import Session, select

from crypto.aead import Context
from crypto.keys import KeyProvider
from crypto.otp import new_sms_code, new_totp_secret, totp_enrollment, totp_match_step
from identity.errors import (
    AlreadyRegistered,
    InvalidCredentials,
    OtpAttemptsExceeded,
    OtpExpired,
    OtpInvalid,
    RateLimited,
    TotpNotEnrolled,
    ValidationFailed,
)
from identity.models import Citizen, OtpChallenge, TotpCredential
from identity.repository import IdentityRepository
from identity.schemas import (
    ChallengeResponse,
    CitizenProfile,
    LoginRequest,
    RegisterRequest,
    TokenPair,
    TotpEnrollResponse,
)
from identity.sessions import Principal, SessionService
from identity.toolkit import IdentityToolkit, Limit
from identity.validation import cccd_problems, cccd_sex, is_valid_pin, normalize_phone
from notify.service import Notifier

SubjectType = Literal["citizen", "officer"]
OTP_SMS_TEMPLATE = "Công Dân Số: mã xác thực của bạn là {code}, hiệu lực 5 phút. Không chia sẻ mã này với bất kỳ ai."


@dataclass(frozen=True)
class Subject:
    type: SubjectType
    id: str
    phone: str | None


def profile_context(citizen_id: str) -> Context:
    return Context(purpose="profile", citizen=citizen_id)


class AuthService:
    """Every step of getting in: register, PIN check, OTP challenge and its verification, TOTP."""

    def __init__(self, session: Session, toolkit: IdentityToolkit, notifier: Notifier) -> None:
        self._repo = IdentityRepository(session)
        self._kit = toolkit
        self._notifier = notifier
        self._sessions = SessionService(session, toolkit)

    # -- registration -------------------------------------------------------------------------
    def register(self, data: RegisterRequest, *, client_ip: str) -> ChallengeResponse:
        self._throttle(f"ip-register:{client_ip}", self._kit.config.register_per_ip)
        phone = self._validate_registration(data)
        index = self._kit.national_id_index(data.national_id)
        existing = self._repo.citizen_by_national_id(index)
        if existing is not None and existing.status != "pending":
            raise AlreadyRegistered()
        # Refuse over-limit SMS before anything is created, so a refusal leaves no key behind.
        self._throttle(f"otp-send:{self._kit.phone_index(phone)}", self._kit.config.otp_sends_per_phone)
        if existing is not None:
            self._repo.delete_pending_citizen(existing)
            self._kit.citizen_keys.destroy(existing.id)
        citizen = self._new_citizen(data, phone, index)
        return self._challenge(Subject("citizen", citizen.id, phone), "register", counted=True)

    def _validate_registration(self, data: RegisterRequest) -> str:
        errors: dict[str, list[str]] = {}
        problems = cccd_problems(data.national_id, date_of_birth=data.date_of_birth, sex=data.sex)
        if problems:
            errors["national_id"] = problems
        phone = normalize_phone(data.phone)
        if phone is None:
            errors["phone"] = ["not a Vietnamese mobile number (0xxxxxxxxx or +84xxxxxxxxx)"]
        if not is_valid_pin(data.pin):
            errors["pin"] = ["must be exactly 6 digits"]
        if data.date_of_birth > self._kit.clock.now().date():
            errors["date_of_birth"] = ["cannot be in the future"]
        if errors or phone is None:
            raise ValidationFailed(errors)
        return phone

    def _new_citizen(self, data: RegisterRequest, phone: str, index: str) -> Citizen:
        now = self._kit.clock.now()
        citizen = Citizen(
            national_id_index=index,
            phone_index=self._kit.phone_index(phone),
            qr_id=secrets.token_urlsafe(16),
            profile_sealed=b"",
            pin_hash=self._kit.pins.hash(data.pin),
            status="pending",
            created_at=now,
        )
        key = self._kit.citizen_keys.create(citizen.id)
        profile = {
            "national_id": data.national_id,
            "full_name": data.full_name,
            "date_of_birth": data.date_of_birth.isoformat(),
            "sex": data.sex or cccd_sex(data.national_id),
            "phone": phone,
            "email": data.email,
        }
        citizen.profile_sealed = key.seal(json.dumps(profile).encode(), context=profile_context(citizen.id))
        self._repo.add(citizen)
        return citizen

    # -- login --------------------------------------------------------------------------------
    def login(self, data: LoginRequest, *, client_ip: str) -> ChallengeResponse:
        self._throttle(f"ip-login:{client_ip}", self._kit.config.login_per_ip)
        if data.national_id is not None and data.phone is None:
            lookup = f"pin:c:{self._kit.national_id_index(data.national_id)}"
            subject, pin_hash = self._citizen_for_login(data.national_id)
        elif data.phone is not None and data.national_id is None:
            phone = normalize_phone(data.phone) or data.phone
            lookup = f"pin:o:{self._kit.phone_index(phone)}"
            subject, pin_hash = self._officer_for_login(phone)
        else:
            raise ValidationFailed({"national_id": ["give either national_id (citizens) or phone (officers)"]})
        now = self._kit.clock.now()
        verdict = self._kit.throttle.blocked(lookup, now=now)
        if not verdict.allowed:
            raise RateLimited(verdict.retry_after)
        # Unknown accounts are checked against a dummy hash: same answer, same cost as a wrong PIN.
        if not self._kit.pins.verify(pin_hash, data.pin) or subject is None:
            self._kit.throttle.record_failure(lookup, now=now)
            raise InvalidCredentials()
        self._kit.throttle.reset(lookup)
        return self._challenge(subject, "login")

    def _citizen_for_login(self, national_id: str) -> tuple[Subject | None, str | None]:
        citizen = self._repo.citizen_by_national_id(self._kit.national_id_index(national_id))
        if citizen is None or citizen.status != "active":
            return None, None
        return Subject("citizen", citizen.id, self._profile_of(citizen)["phone"]), citizen.pin_hash

    def _officer_for_login(self, phone: str) -> tuple[Subject | None, str | None]:
        officer = self._repo.officer_by_phone(phone)
        if officer is None or officer.status != "active":
            return None, None
        return Subject("officer", officer.id, officer.phone), officer.pin_hash

    # -- OTP ----------------------------------------------------------------------------------
    def _challenge(self, subject: Subject, purpose: str, *, counted: bool = False) -> ChallengeResponse:
        now = self._kit.clock.now()
        totp = self._repo.totp(subject.type, subject.id)
        use_totp = purpose != "register" and totp is not None and totp.secret_sealed is not None
        challenge = OtpChallenge(
            subject_type=subject.type,
            subject_id=subject.id,
            purpose=purpose,
            channel="totp" if use_totp else "sms",
            created_at=now,
            expires_at=now + self._kit.config.otp_ttl,
        )
        if not use_totp:
            challenge.code_hash = self._send_sms_code(subject, challenge.id, counted=counted)
        self._repo.add(challenge)
        return ChallengeResponse(
            challenge_id=challenge.id,
            channel="totp" if use_totp else "sms",
            expires_at=challenge.expires_at,
        )

    def _send_sms_code(self, subject: Subject, challenge_id: str, *, counted: bool) -> str:
        if subject.phone is None:
            raise InvalidCredentials()
        if not counted:
            self._throttle(f"otp-send:{self._kit.phone_index(subject.phone)}", self._kit.config.otp_sends_per_phone)
        code = new_sms_code()
        body = OTP_SMS_TEMPLATE.format(code=code)
        self._notifier.send(channel="sms", to=subject.phone, body=body, recipient_id=subject.id)
        return self._kit.codes.hash(challenge_id, code)

    def verify_otp(self, challenge_id: str, code: str) -> TokenPair:
        """Check a code against its challenge; single use, expiring, dead after too many misses."""
        challenge = self._repo.challenge(challenge_id)
        if challenge is None or challenge.consumed_at is not None or challenge.purpose == "step_up":
            raise OtpInvalid()
        self._check_code(challenge, code)
        if challenge.subject_type == "citizen":
            return self._citizen_logged_in(challenge.subject_id)
        officer = self._repo.officer(challenge.subject_id)
        if officer is None or officer.status != "active":
            raise OtpInvalid()
        return self._sessions.start("officer", officer.id, agency=officer.agency_code)

    def _check_code(self, challenge: OtpChallenge, code: str) -> None:
        now = self._kit.clock.now()
        if challenge.attempts >= self._kit.config.otp_max_attempts:
            raise OtpAttemptsExceeded()
        if now >= challenge.expires_at:
            raise OtpExpired()
        if not self._code_matches(challenge, code):
            challenge.attempts += 1
            self._repo.add(challenge)
            if challenge.attempts >= self._kit.config.otp_max_attempts:
                raise OtpAttemptsExceeded()
            raise OtpInvalid()
        challenge.consumed_at = now
        self._repo.add(challenge)

    def _code_matches(self, challenge: OtpChallenge, code: str) -> bool:
        if challenge.channel == "sms":
            return challenge.code_hash is not None and self._kit.codes.matches(challenge.id, code, challenge.code_hash)
        return self._totp_step_ok(challenge.subject_type, challenge.subject_id, code)

    def _totp_step_ok(self, subject_type: str, subject_id: str, code: str) -> bool:
        credential = self._repo.totp(subject_type, subject_id)
        if credential is None or credential.secret_sealed is None:
            return False
        secret = self._unseal_totp(subject_id, credential.secret_sealed)
        step = totp_match_step(secret, code, at=self._kit.clock.now(), last_used_step=credential.last_used_step)
        if step is None:
            return False
        credential.last_used_step = step
        self._repo.add(credential)
        return True

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
        subject_type = _user_subject(principal)
        phone = None
        if subject_type == "citizen":
            citizen = self._repo.citizen(principal.subject_id)
            phone = self._profile_of(citizen)["phone"] if citizen else None
        else:
            officer = self._repo.officer(principal.subject_id)
            phone = officer.phone if officer else None
        return self._challenge(Subject(subject_type, principal.subject_id, phone), "step_up")

    def prove_fresh_factor(self, principal: Principal, code: str, challenge_id: str | None = None) -> None:
        """Check a code from the authenticator app, or from the step-up SMS; raises OtpInvalid & co."""
        subject_type = _user_subject(principal)
        if self.totp_enabled(subject_type, principal.subject_id):
            if not self._totp_step_ok(subject_type, principal.subject_id, code):
                raise OtpInvalid()
            return
        challenge = self._repo.open_step_up(subject_type, principal.subject_id, challenge_id)
        if challenge is None:
            raise OtpInvalid()
        self._check_code(challenge, code)

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

    # -- TOTP enrolment -----------------------------------------------------------------------
    def totp_enroll(self, principal: Principal) -> TotpEnrollResponse:
        subject_type = _user_subject(principal)
        enrollment = totp_enrollment(new_totp_secret(), account=self._account_label(principal))
        sealed = self._kit.keys.wrap(enrollment.secret.encode(), context=_totp_context(principal.subject_id))
        credential = self._repo.totp(subject_type, principal.subject_id) or TotpCredential(
            subject_type=subject_type, subject_id=principal.subject_id, created_at=self._kit.clock.now()
        )
        credential.pending_secret_sealed = sealed
        self._repo.add(credential)
        return TotpEnrollResponse(
            secret=enrollment.secret, otpauth_uri=enrollment.otpauth_uri, qr_svg=enrollment.qr_svg
        )

    def totp_confirm(self, principal: Principal, code: str) -> None:
        credential = self._repo.totp(_user_subject(principal), principal.subject_id)
        if credential is None or credential.pending_secret_sealed is None:
            raise TotpNotEnrolled()
        secret = self._unseal_totp(credential.subject_id, credential.pending_secret_sealed)
        step = totp_match_step(secret, code, at=self._kit.clock.now(), last_used_step=None)
        if step is None:
            raise OtpInvalid()
        credential.secret_sealed, credential.pending_secret_sealed = credential.pending_secret_sealed, None
        credential.confirmed_at, credential.last_used_step = self._kit.clock.now(), step
        self._repo.add(credential)

    def totp_enabled(self, subject_type: str, subject_id: str) -> bool:
        credential = self._repo.totp(subject_type, subject_id)
        return credential is not None and credential.secret_sealed is not None

    def _unseal_totp(self, subject_id: str, sealed: bytes) -> str:
        return self._kit.keys.unwrap(sealed, context=_totp_context(subject_id)).decode()

    def _account_label(self, principal: Principal) -> str:
        if principal.role == "citizen":
            citizen = self._repo.citizen(principal.subject_id)
            if citizen is not None:
                return str(self._profile_of(citizen)["national_id"])
        return principal.subject_id

    # -- profile ------------------------------------------------------------------------------
    def _profile_of(self, citizen: Citizen) -> dict[str, str | None]:
        key = self._kit.citizen_keys.open(citizen.id)
        data: dict[str, str | None] = json.loads(key.open(citizen.profile_sealed, context=profile_context(citizen.id)))
        return data

    def citizen_profile(self, citizen_id: str) -> CitizenProfile:
        citizen = self._repo.citizen(citizen_id)
        if citizen is None or citizen.status != "active":
            raise InvalidCredentials()
        data = self._profile_of(citizen)
        return CitizenProfile(
            id=citizen.id,
            national_id=str(data["national_id"]),
            full_name=str(data["full_name"]),
            date_of_birth=date.fromisoformat(str(data["date_of_birth"])),
            sex="nu" if data["sex"] == "nu" else "nam",
            phone=str(data["phone"]),
            email=data.get("email"),
            totp_enabled=self.totp_enabled("citizen", citizen.id),
            created_at=citizen.created_at,
        )

    def _throttle(self, key: str, limit: Limit) -> None:
        verdict = self._kit.throttle.hit(key, limit=limit.count, window=limit.window, now=self._kit.clock.now())
        if not verdict.allowed:
            raise RateLimited(verdict.retry_after)


def _user_subject(principal: Principal) -> SubjectType:
    if principal.role == "citizen":
        return "citizen"
    principal.require("officer")
    return "officer"


def _totp_context(subject_id: str) -> Context:
    return Context(purpose="totp", citizen=subject_id)


def rewrap_totp_secrets(session: Session, keys: KeyProvider) -> int:
    """Key rotation: re-wrap every stored authenticator secret under the current master key."""
    count = 0
    for credential in session.exec(select(TotpCredential)).all():
        context = _totp_context(credential.subject_id)
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
