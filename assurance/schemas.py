"""Request and response shapes of identity assurance (API.md: "Identity assurance")."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from forms.schemas import StatsReport
from identity.schemas import ProofingAgency, ProofingPublic

_STRICT = ConfigDict(extra="forbid", str_strip_whitespace=True)


class ProofingCreate(BaseModel):
    model_config = _STRICT

    presence_id: str = Field(min_length=1, max_length=64, description="from this officer's `POST /verify/qr`")


class ProofingDone(BaseModel):
    citizen_assurance: Literal[2] = 2
    proofing: ProofingPublic
    released_papers: int = Field(description="held issuer papers that joined the wallet with this proofing")


class RecoveryCreate(BaseModel):
    model_config = _STRICT

    national_id: str = Field(min_length=1, max_length=20, description="read from the card the officer checked")
    new_phone: str = Field(min_length=1, max_length=20, description="the phone the holder has with them")
    full_name: str | None = Field(
        default=None, min_length=1, max_length=200, description="from the card; replaces the profile's"
    )
    date_of_birth: date | None = Field(default=None, description="from the card; replaces the profile's")


class RecoveryStarted(BaseModel):
    challenge_id: str
    expires_at: datetime
    account: Literal["existing", "new"] = Field(description="`new`: no account holds the ID; one opens at level 2")


class RecoveryComplete(BaseModel):
    model_config = _STRICT

    challenge_id: str = Field(min_length=1, max_length=64)
    code: str = Field(min_length=1, max_length=12)
    pin: str = Field(min_length=1, max_length=20, description="the new 6-digit PIN")


class EidExchange(BaseModel):
    model_config = _STRICT

    ticket: str = Field(min_length=1, max_length=200)


class OfficerProofingStats(BaseModel):
    officer_id: str
    name: str
    agency: ProofingAgency
    proofings: int = Field(description="level-2 proofings confirmed at the counter")
    recoveries_started: int
    recoveries_completed: int
    unusual: bool = Field(description="far more proofings than this agency's other officers (over 3× their median)")


class StatsWithOfficers(StatsReport):
    officers: list[OfficerProofingStats] = Field(
        default_factory=list, description="counter proofings and recoveries per officer (officer accountability)"
    )
