"""The citizen's profile, sealed under their own key (it holds the national ID, phone and email)."""

from __future__ import annotations

import json
from collections.abc import Sequence

from crypto.aead import Context
from crypto.citizen_keys import CitizenKeys
from crypto.errors import DecryptionError
from identity.models import Citizen

Profile = dict[str, str | None]


def profile_context(citizen_id: str) -> Context:
    return Context(purpose="profile", citizen=citizen_id)


def open_profile(keys: CitizenKeys, citizen: Citizen) -> Profile:
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
