"""The citizen's profile, sealed under their own key (it holds the national ID, phone and email)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from crypto.aead import Context
from crypto.citizen_keys import CitizenKeys
from crypto.errors import DecryptionError
from identity.models import Citizen

Profile = dict[str, str | None]


class SealedProfile(Protocol):
    """A citizen's row, or what a single-statement read took of it."""

    @property
    def id(self) -> str: ...

    @property
    def profile_sealed(self) -> bytes: ...


class CitizenRecord(SealedProfile, Protocol):
    """What a profile answer needs of the citizen's row."""

    @property
    def status(self) -> str: ...

    @property
    def created_at(self) -> datetime: ...


def profile_context(citizen_id: str) -> Context:
    return Context(purpose="profile", citizen=citizen_id)


def open_profile(keys: CitizenKeys, citizen: SealedProfile) -> Profile:
    context = profile_context(citizen.id)
    try:
        sealed = keys.open(citizen.id).open(citizen.profile_sealed, context=context)
    except DecryptionError:  # perhaps a key another process replaced since this one cached it
        sealed = keys.open_fresh(citizen.id).open(citizen.profile_sealed, context=context)
    data: Profile = json.loads(sealed)
    return data


def open_profiles(keys: CitizenKeys, citizens: Sequence[Citizen]) -> dict[str, Profile]:
    """`open_profile` for several citizens with one read of the key store; one whose key is gone is left out."""
    opened = keys.open_many([citizen.id for citizen in citizens])
    return {
        citizen.id: json.loads(opened[citizen.id].open(citizen.profile_sealed, context=profile_context(citizen.id)))
        for citizen in citizens
        if citizen.id in opened
    }
