"""Long-lived collaborators of the identity services, built once at start and shared by requests."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

from crypto.citizen_keys import CitizenKeys
from crypto.clock import Clock
from crypto.derive import BlindIndex
from crypto.keyring import Keyring
from crypto.keys import KeyProvider
from crypto.otp import CodeHasher
from crypto.passwords import PinHasher
from crypto.tokens import TokenSigner
from storage.throttle import Throttle


@dataclass(frozen=True)
class Limit:
    count: int
    window: timedelta


@dataclass(frozen=True)
class IdentityConfig:
    """Security parameters; the defaults are the policy (OWASP ASVS L2 session and OTP limits)."""

    issuer: str = "congdanso"
    audience: str = "congdanso-api"
    otp_ttl: timedelta = timedelta(minutes=5)
    otp_max_attempts: int = 5
    access_ttl: timedelta = timedelta(minutes=15)
    agency_token_ttl: timedelta = timedelta(minutes=15)
    idle_timeout: timedelta = timedelta(minutes=30)
    session_lifetime: timedelta = timedelta(hours=12)
    fresh_login: timedelta = timedelta(minutes=5)
    otp_sends_per_phone: Limit = Limit(5, timedelta(minutes=15))
    register_per_ip: Limit = Limit(20, timedelta(minutes=1))
    login_per_ip: Limit = Limit(30, timedelta(minutes=1))
    token_per_client: Limit = Limit(120, timedelta(minutes=1))


@dataclass(frozen=True)
class IdentityToolkit:
    config: IdentityConfig
    clock: Clock
    keys: KeyProvider
    keyring: Callable[[], Keyring]
    tokens: TokenSigner
    pins: PinHasher
    throttle: Throttle
    citizen_keys: CitizenKeys
    national_id_index: BlindIndex = field(init=False)
    phone_index: BlindIndex = field(init=False)
    codes: CodeHasher = field(init=False)

    def __post_init__(self) -> None:
        root = self.keyring().index_key
        object.__setattr__(self, "national_id_index", BlindIndex(root, "national_id"))
        object.__setattr__(self, "phone_index", BlindIndex(root, "phone"))
        object.__setattr__(self, "codes", CodeHasher(root))
