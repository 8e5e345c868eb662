"""One-time codes: SMS codes (random, stored keyed-hashed) and TOTP (RFC 6238) with replay refusal."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass, field
from datetime import datetime

import pyotp
import segno

from crypto.derive import derive_key

SMS_CODE_DIGITS = 6
TOTP_STEP_SECONDS = 30


def new_sms_code() -> str:
    """Six digits from the CSPRNG."""
    return f"{secrets.randbelow(10**SMS_CODE_DIGITS):0{SMS_CODE_DIGITS}d}"


class CodeHasher:
    """Keyed hash binding a code to its challenge: a leaked table neither reveals nor transplants codes."""

    def __init__(self, root: bytes) -> None:
        self._key = derive_key(root, "otp-code")

    def __repr__(self) -> str:
        return "CodeHasher(<hidden>)"

    def hash(self, challenge_id: str, code: str) -> str:
        return hmac.new(self._key, f"{challenge_id}:{code}".encode(), hashlib.sha256).hexdigest()

    def matches(self, challenge_id: str, code: str, stored: str) -> bool:
        return hmac.compare_digest(self.hash(challenge_id, code), stored)


def new_totp_secret() -> str:
    """A 160-bit secret in base32, as RFC 4226 recommends."""
    return pyotp.random_base32(length=32)


@dataclass(frozen=True)
class TotpEnrollment:
    secret: str = field(repr=False)
    otpauth_uri: str = field(repr=False)
    qr_svg: str = field(repr=False)


def totp_enrollment(secret: str, *, account: str, issuer: str = "Công Dân Số") -> TotpEnrollment:
    uri = pyotp.TOTP(secret).provisioning_uri(name=account, issuer_name=issuer)
    svg = segno.make(uri, error="m").svg_inline(scale=4)
    return TotpEnrollment(secret, uri, svg)


def totp_match_step(secret: str, code: str, *, at: datetime, last_used_step: int | None) -> int | None:
    """The time step the code belongs to (now ±1), or None; a step at or before `last_used_step` never
    matches again (RFC 6238 §5.2: a code is accepted once)."""
    if not (len(code) == 6 and code.isdigit()):
        return None
    totp = pyotp.TOTP(secret, interval=TOTP_STEP_SECONDS)
    current = totp.timecode(at)
    for step in (current - 1, current, current + 1):
        if last_used_step is not None and step <= last_used_step:
            continue
        if hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None
