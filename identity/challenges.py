"""One-time-code challenges: an SMS code sent under its phone's budget, or a pointer to the authenticator app; and
the decoy a registration that cannot go ahead answers with, indistinguishable from a real one."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from crypto.otp import new_sms_code
from identity.errors import InvalidCredentials
from identity.models import OtpChallenge
from identity.notices import OTP_SMS
from identity.repository import IdentityRepository
from identity.schemas import ChallengeResponse
from identity.toolkit import IdentityToolkit
from notify.service import Notifier
from storage.types import new_id

SubjectType = Literal["citizen", "officer", "recovery"]  # "recovery": a phone proving itself for a recovery


@dataclass(frozen=True)
class Subject:
    """Someone who can hold a second factor, and where to reach them."""

    type: SubjectType
    id: str
    phone: str | None
    email: str | None = None


class Challenges:
    def __init__(self, repo: IdentityRepository, toolkit: IdentityToolkit, notifier: Notifier) -> None:
        self._repo = repo
        self._kit = toolkit
        self._notifier = notifier

    def issue(self, subject: Subject, purpose: str, *, counted: bool = False) -> ChallengeResponse:
        """A challenge for `purpose` (register, login, step_up): by the authenticator when one is confirmed (never for
        a registration), else a code by SMS, spending the login budget of the phone unless the caller `counted` it."""
        totp = self._repo.totp(subject.type, subject.id)
        use_totp = purpose != "register" and totp is not None and totp.secret_sealed is not None
        challenge = self._new(subject.type, subject.id, purpose, "totp" if use_totp else "sms")
        if not use_totp:
            challenge.code_hash = self._send_sms_code(subject, challenge.id, counted=counted)
        self._repo.add(challenge)
        return self._answer(challenge)

    def decoy_registration(self) -> ChallengeResponse:
        """A register challenge of a subject that has no account, whose code nobody was sent: it answers wrong codes
        exactly as a real one does (`otp_invalid`, then `otp_attempts_exceeded`) and can never sign anyone in."""
        challenge = self._new("citizen", new_id(), "register", "sms")
        challenge.code_hash = self._kit.codes.hash(challenge.id, new_sms_code())
        self._repo.add(challenge)
        return self._answer(challenge)

    def _new(self, subject_type: str, subject_id: str, purpose: str, channel: str) -> OtpChallenge:
        now = self._kit.clock.now()
        return OtpChallenge(
            subject_type=subject_type,
            subject_id=subject_id,
            purpose=purpose,
            channel=channel,
            created_at=now,
            expires_at=now + self._kit.config.otp_ttl,
        )

    @staticmethod
    def _answer(challenge: OtpChallenge) -> ChallengeResponse:
        channel: Literal["sms", "totp"] = "totp" if challenge.channel == "totp" else "sms"
        return ChallengeResponse(challenge_id=challenge.id, channel=channel, expires_at=challenge.expires_at)

    def _send_sms_code(self, subject: Subject, challenge_id: str, *, counted: bool) -> str:
        if subject.phone is None:
            raise InvalidCredentials()
        if not counted:
            self._kit.spend(f"otp-send:{self._kit.phone_index(subject.phone)}", self._kit.config.otp_sends_per_phone)
        code = new_sms_code()
        self._notifier.send(channel="sms", to=subject.phone, body=OTP_SMS.format(code=code), recipient_id=subject.id)
        return self._kit.codes.hash(challenge_id, code)
