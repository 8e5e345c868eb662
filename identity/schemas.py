"""Request and response shapes of the identity capability (API.md, "Citizens" and "Agencies")."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from identity.text import PersonName

_STRICT = ConfigDict(extra="forbid", str_strip_whitespace=True)


class RegisterRequest(BaseModel):
    model_config = _STRICT

    national_id: str = Field(min_length=1, max_length=20, description="12-digit CCCD number")
    full_name: PersonName = Field(
        min_length=1, max_length=200, description="NFC; one script, no control, zero-width or bidi characters"
    )
    date_of_birth: date
    phone: str = Field(min_length=1, max_length=20, description="0xxxxxxxxx or +84xxxxxxxxx")
    pin: str = Field(min_length=1, max_length=20, description="6 digits")
    email: str | None = Field(default=None, max_length=254, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
    sex: Literal["nam", "nu"] | None = Field(default=None, description="checked against the CCCD's sex digit")


class LoginRequest(BaseModel):
    model_config = _STRICT

    national_id: str | None = Field(default=None, max_length=20)
    phone: str | None = Field(default=None, max_length=20, description="officers log in by phone")
    pin: str = Field(min_length=1, max_length=20)


class ChallengeResponse(BaseModel):
    challenge_id: str
    channel: Literal["sms", "totp"]
    expires_at: datetime


class OtpVerifyRequest(BaseModel):
    model_config = _STRICT

    challenge_id: str = Field(min_length=1, max_length=64)
    code: str = Field(min_length=1, max_length=12)


class TokenPair(BaseModel):
    access_token: str
    refresh_token: str
    token_type: Literal["Bearer"] = "Bearer"  # noqa: S105 - the OAuth token type, not a secret
    expires_in: int
    citizen_id: str | None = None
    officer_id: str | None = None


class RefreshRequest(BaseModel):
    model_config = _STRICT

    refresh_token: str = Field(min_length=1, max_length=200)


class TotpEnrollResponse(BaseModel):
    secret: str
    otpauth_uri: str
    qr_svg: str


class TotpConfirmRequest(BaseModel):
    model_config = _STRICT

    code: str = Field(min_length=1, max_length=12)


class TotpStatus(BaseModel):
    enabled: bool


class ProofingAgency(BaseModel):
    code: str
    name: str


class ProofingBy(BaseModel):
    name: str = Field(description="the officer who checked the card, or the e-ID provider")
    agency: ProofingAgency | None = Field(default=None, description="the officer's agency (counter proofing)")


class ProofingPublic(BaseModel):
    method: Literal["counter", "eid"]
    at: datetime
    by: ProofingBy


class CitizenProfile(BaseModel):
    id: str
    national_id: str
    full_name: str
    date_of_birth: date
    sex: Literal["nam", "nu"]
    phone: str | None = Field(description="null only for an account opened by national e-ID without a phone")
    email: str | None
    totp_enabled: bool
    created_at: datetime
    assurance: Literal[1, 2] = Field(
        default=1, description="1: self-registered; 2: proofed at a one-stop counter or by national e-ID"
    )
    proofing: ProofingPublic | None = Field(default=None, description="the latest proofing, null at level 1")
    held_papers: int = Field(default=0, description="issuer papers waiting for level 2, out of sight until then")


class OfficerProfile(BaseModel):
    id: str
    full_name: str
    phone: str
    agency: dict[str, str]


class AgencyToken(BaseModel):
    access_token: str
    token_type: Literal["Bearer"] = "Bearer"  # noqa: S105 - the OAuth token type, not a secret
    expires_in: int
    scope: str


class AgencyCredentials(BaseModel):
    client_id: str
    client_secret: str


class FreshFactor(BaseModel):
    model_config = _STRICT

    code: str = Field(min_length=1, max_length=12, description="a fresh SMS (POST /auth/otp/send) or TOTP code")
    challenge_id: str | None = Field(default=None, max_length=64)


# -- QR identity (API.md: "QR identity and verification") ---------------------------------------
class QrCode(BaseModel):
    token: str = Field(description="compact JWS (EdDSA): sub = pseudonymous QR id, exp at most 5 minutes ahead")
    expires_at: datetime
    svg: str = Field(description="the token as a QR code (error correction M, version 15 or lower)")


class QrVerifyRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    token: str = Field(description="the scanned QR content; any string is answered (malformed ones as invalid)")


class QrCitizen(BaseModel):
    full_name: str
    date_of_birth: date
    national_id_masked: str = Field(description="only the last 4 digits shown")


class QrValid(BaseModel):
    valid: Literal[True] = True
    citizen: QrCitizen
    expires_at: datetime = Field(description="when the scanned QR token expires")
    presence_id: str = Field(description="binds this scan for a follow-up consent request (30 minutes)")


class QrInvalid(BaseModel):
    valid: Literal[False] = False
    reason: Literal["expired", "bad_signature", "malformed", "revoked"]


QrVerification = QrValid | QrInvalid


# -- the authenticator app (API.md: "Identity assurance") ---------------------------------------
class TotpChangeRequest(BaseModel):
    """The body of `POST /auth/totp/enroll` and `DELETE /auth/totp`: a fresh factor of the method in force. Unlike
    `FreshFactor`, a missing code is not a validation error but 403 `fresh_factor_required`."""

    model_config = _STRICT

    code: str | None = Field(
        default=None,
        max_length=12,
        description="the current authenticator's code when one is in force, else an SMS code from POST /auth/otp/send",
    )
    challenge_id: str | None = Field(default=None, max_length=64, description="the step-up challenge of the SMS code")
