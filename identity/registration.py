"""Registration (API.md: `POST /auth/register`): it never says whether an ID has an account, and never replaces a
registration under way.

A registration that cannot go ahead — the ID has an account, or a pending registration whose code can still be
answered — runs the same steps as one that does: the same budgets spent, the PIN hashed with Argon2id, one
challenge stored (a decoy nobody was sent a code for), one SMS delivered before the answer (to the typed phone:
"this ID cannot be registered with this phone now" instead of a code), the same answer. Anything else it sends (the
owner's warning, emails) waits for the periodic dispatcher, because inline deliveries are part of the answer's time.

What cannot be hidden: the holder of the typed phone learns, from the SMS they get instead of a code, that this ID
cannot be registered now (taken, or being registered). Only someone with that phone learns it, once per SMS of the
registration budget, and the text does not say which of the two it is.
"""

from __future__ import annotations

from collections.abc import Callable

from identity.challenges import Challenges, Subject
from identity.errors import ValidationFailed
from identity.holder import HolderProfile, HolderService
from identity.models import Citizen
from identity.notices import Notice, cannot_register, registration_attempted
from identity.profile import Profile
from identity.repository import IdentityRepository
from identity.schemas import ChallengeResponse, RegisterRequest
from identity.toolkit import IdentityToolkit
from identity.validation import cccd_problems, is_valid_pin, normalize_phone
from notify.service import Channel, Notifier


class Registration:
    def __init__(
        self,
        repo: IdentityRepository,
        toolkit: IdentityToolkit,
        notifier: Notifier,
        profile_of: Callable[[Citizen], Profile],
    ) -> None:
        self._repo = repo
        self._kit = toolkit
        self._notifier = notifier
        self._profile_of = profile_of
        self._challenges = Challenges(repo, toolkit, notifier)

    def register(self, data: RegisterRequest, *, client_ip: str) -> ChallengeResponse:
        config = self._kit.config
        self._kit.spend(f"ip-register:{client_ip}", config.register_per_ip)
        phone = self._validate(data)
        # Spent before anything is created (a refusal leaves no key behind) and on every path alike.
        self._kit.spend(f"otp-send-register-ip:{client_ip}", config.register_sms_per_ip)
        self._kit.spend(f"otp-send-register:{self._kit.phone_index(phone)}", config.register_sms_per_phone)
        pin_hash = self._kit.pins.hash(data.pin)
        index = self._kit.national_id_index(data.national_id)
        existing = self._repo.citizen_by_national_id(index)
        if existing is not None and (existing.status != "pending" or self._under_way(existing)):
            return self._refuse_quietly(data, phone, existing)
        if existing is not None:  # an abandoned registration: its code expired or died
            self._repo.delete_pending_citizen(existing)
            self._kit.citizen_keys.destroy(existing.id)
        citizen = self._new_citizen(data, phone, pin_hash)
        return self._challenges.issue(Subject("citizen", citizen.id, phone), "register", counted=True)

    def _validate(self, data: RegisterRequest) -> str:
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

    def _under_way(self, pending: Citizen) -> bool:
        now, attempts = self._kit.clock.now(), self._kit.config.otp_max_attempts
        return self._repo.has_live_registration(pending.id, now=now, max_attempts=attempts)

    def _new_citizen(self, data: RegisterRequest, phone: str, pin_hash: str) -> Citizen:
        profile = HolderProfile(
            data.national_id, data.full_name, data.date_of_birth, phone, sex=data.sex, email=data.email
        )
        holders = HolderService(self._repo.session, self._kit)
        citizen, _ = holders.open_account(profile, pin_hash=pin_hash, assurance=1, pending=True)
        return citizen

    def _refuse_quietly(self, data: RegisterRequest, phone: str, existing: Citizen) -> ChallengeResponse:
        """The answer of a new registration, with a decoy challenge; nothing created, nothing replaced."""
        answer = self._challenges.decoy_registration()
        owner_told_here = existing.status != "pending" and self._warn_owner(existing, typed_phone=phone)
        if not owner_told_here:
            now, minutes = self._kit.clock.now(), int(self._kit.config.otp_ttl.total_seconds() // 60)
            body = cannot_register(now, national_id=data.national_id, retry_minutes=minutes)
            self._notifier.send(channel="sms", to=phone, body=body)
        return answer

    def _warn_owner(self, owner: Citizen, *, typed_phone: str) -> bool:
        """Tell the owner someone tried to register their ID (at most 3 times in 24 hours, then silently nothing).
        True when the typed phone is the owner's and was told, so it needs no other SMS."""
        profile = self._profile_of(owner)
        limit, now = self._kit.config.register_warnings_per_owner, self._kit.clock.now()
        key = f"register-warning:{owner.id}"
        if not self._kit.throttle.allow(key, limit=limit.count, period=limit.window, now=now).allowed:
            return False
        notice, phone, email = registration_attempted(now), profile.get("phone"), profile.get("email")
        later = []
        if email:
            later.append(self._send(owner, "email", email, notice))
        if phone:
            sms = self._send(owner, "sms", phone, notice)
            if phone != typed_phone:
                later.append(sms)
        # Only the typed phone's SMS goes out before the answer, as on every other path.
        for message_id in later:
            self._notifier.queued_ids.remove(message_id)
        return phone == typed_phone

    def _send(self, owner: Citizen, channel: Channel, to: str, notice: Notice) -> str:
        subject, body = notice.subject, notice.body
        return self._notifier.send(channel=channel, to=to, subject=subject, body=body, recipient_id=owner.id)
