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
from identity.errors import RateLimited
from storage.throttle import Backoff, Throttle


@dataclass(frozen=True)
class Limit:
    count: int
    window: timedelta


# Wrong second-factor codes per account: blocked after the 5th (60 s), doubling with each further one, at most 1 h.
SECOND_FACTOR_BACKOFF = Backoff(free=4, first=timedelta(seconds=60), cap=timedelta(hours=1))


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
    # Officers and agency staff work at shared counters and desks: their sessions end sooner when left alone.
    staff_idle_timeout: timedelta = timedelta(minutes=15)
    session_lifetime: timedelta = timedelta(hours=12)
    fresh_login: timedelta = timedelta(minutes=5)
    # Login and step-up codes; registrations never spend it, so strangers cannot lock an owner out of login.
    otp_sends_per_phone: Limit = Limit(5, timedelta(minutes=15))
    # Registration SMS (codes and "cannot be registered" notices), per typed phone and per client address.
    register_sms_per_phone: Limit = Limit(5, timedelta(minutes=15))
    register_sms_per_ip: Limit = Limit(30, timedelta(hours=1))
    # Warnings to an account's owner that someone tried to register their ID (a sliding window).
    register_warnings_per_owner: Limit = Limit(3, timedelta(hours=24))
    second_factor_backoff: Backoff = SECOND_FACTOR_BACKOFF
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

    def spend(self, key: str, limit: Limit) -> None:
        """Count one event under `key`; RateLimited once `limit` is spent in the current window."""
        verdict = self.throttle.hit(key, limit=limit.count, window=limit.window, now=self.clock.now())
        if not verdict.allowed:
            raise RateLimited(verdict.retry_after)
