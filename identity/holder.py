"""Who holds an account: the sealed profile, the phone and PIN, and every way in (sessions, authenticator,
open codes). Changed when an account is opened at level 2, recovered, or taken back from someone who
registered an ID number that was not theirs."""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlmodel import Session

from crypto.envelope import CitizenKey
from identity.models import Citizen
from identity.profile import profile_context
from identity.repository import IdentityRepository
from identity.toolkit import IdentityToolkit
from identity.validation import Sex, cccd_sex


@dataclass(frozen=True)
class HolderProfile:
    """The personal data sealed in `Citizen.profile_sealed`."""

    national_id: str
    full_name: str
    date_of_birth: date
    phone: str | None
    sex: Sex | None = None
    email: str | None = None

    def as_json(self) -> bytes:
        data: dict[str, Any] = {
            "national_id": self.national_id,
            "full_name": self.full_name,
            "date_of_birth": self.date_of_birth.isoformat(),
            "sex": self.sex or cccd_sex(self.national_id),
            "phone": self.phone,
            "email": self.email,
        }
        return json.dumps(data, ensure_ascii=False).encode()

    @classmethod
    def from_json(cls, raw: bytes) -> HolderProfile:
        data = json.loads(raw)
        sex: Sex = "nu" if data.get("sex") == "nu" else "nam"
        return cls(
            national_id=str(data["national_id"]),
            full_name=str(data["full_name"]),
            date_of_birth=date.fromisoformat(str(data["date_of_birth"])),
            phone=data.get("phone"),
            sex=sex,
            email=data.get("email"),
        )


class HolderService:
    """Flushes, never commits."""

    def __init__(self, session: Session, toolkit: IdentityToolkit) -> None:
        self._repo = IdentityRepository(session)
        self._kit = toolkit

    def profile(self, citizen: Citizen, key: CitizenKey | None = None) -> HolderProfile:
        key = key or self._kit.citizen_keys.open_fresh(citizen.id)
        return HolderProfile.from_json(key.open(citizen.profile_sealed, context=profile_context(citizen.id)))

    def open_account(
        self, profile: HolderProfile, *, pin_hash: str, assurance: int, pending: bool = False
    ) -> tuple[Citizen, CitizenKey]:
        """A new account with its own key: pending until a registration's code comes back, or active at once
        (opened at a counter or by national e-ID). `pin_hash` is empty for an account without a PIN."""
        now = self._kit.clock.now()
        citizen = Citizen(
            national_id_index=self._kit.national_id_index(profile.national_id),
            phone_index=self._phone_index(profile.phone),
            qr_id=secrets.token_urlsafe(16),
            profile_sealed=b"",
            pin_hash=pin_hash,
            status="pending" if pending else "active",
            created_at=now,
            activated_at=None if pending else now,
            assurance=assurance,
        )
        key = self._kit.citizen_keys.create(citizen.id)
        citizen.profile_sealed = key.seal(profile.as_json(), context=profile_context(citizen.id))
        self._repo.add(citizen)
        return citizen, key

    def pin_hash(self, pin: str | None) -> str:
        return self._kit.pins.hash(pin) if pin else ""

    def replace(self, citizen: Citizen, key: CitizenKey, profile: HolderProfile, *, pin: str | None) -> None:
        """A new holder's data, sealed under `key` (the citizen's current key, or the one replacing it)."""
        citizen.profile_sealed = key.seal(profile.as_json(), context=profile_context(citizen.id))
        citizen.phone_index = self._phone_index(profile.phone)
        if pin is not None:
            citizen.pin_hash = self._kit.pins.hash(pin)
        if citizen.status == "pending":
            citizen.status, citizen.activated_at = "active", self._kit.clock.now()
        self._repo.add(citizen)

    def revoke_access(self, citizen_id: str, *, reason: str) -> None:
        """End every session (and so every refresh family), forget the authenticator and every open code."""
        self._repo.forget_subject("citizen", citizen_id, at=self._kit.clock.now(), reason=reason)

    def _phone_index(self, phone: str | None) -> str:
        # An account opened by e-ID without a phone claim has no phone: an index nobody's phone can match.
        return self._kit.phone_index(phone) if phone else f"none:{secrets.token_hex(16)}"
