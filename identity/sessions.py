"""Sessions and tokens: short EdDSA access tokens, rotating opaque refresh tokens in families."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from sqlmodel import Session

from crypto.tokens import TokenError
from identity.errors import Forbidden, InvalidToken, RefreshTokenReused, SessionExpired
from identity.models import Agency, AuthSession, RefreshToken
from identity.repository import AgencyState, IdentityRepository, OfficerState, SessionState
from identity.schemas import TokenPair
from identity.toolkit import IdentityToolkit

Role = Literal["citizen", "officer", "agency"]
ACCESS_TYP = "access"
# Idle time is tracked per request; writing it at most once a minute keeps reads cheap.
_SEEN_GRANULARITY_SECONDS = 60


@dataclass(frozen=True)
class Principal:
    """Who is calling, as proven by a verified access token."""

    role: Role
    subject_id: str
    session_id: str | None = None
    agency_code: str | None = None
    scopes: frozenset[str] = frozenset()
    auth_time: datetime | None = None  # the second factor's last proof (a step-up renews it)
    login_at: datetime | None = None  # the login that began the session
    # An officer and their agency as this request's login check read them (in a read request, in the same
    # transaction): a counter scan answers from it instead of reading the row again (`identity.qr.QrService.check`).
    officer: OfficerState | None = field(default=None, compare=False, repr=False)

    def require(self, *roles: Role) -> None:
        if self.role not in roles:
            raise Forbidden()


def scope_version(agency: Agency | AgencyState) -> int:
    """Which withdrawal of scopes an agency's token was issued after (0: none yet): tokens carry it as `sv`, and one
    issued before the latest withdrawal no longer matches."""
    revoked = agency.scopes_revoked_at
    return int(revoked.timestamp() * 1000) if revoked is not None else 0


def hash_refresh_token(token: str) -> str:
    # 256 random bits need no slow hash: SHA-256 suffices to keep the table useless if leaked.
    return hashlib.sha256(token.encode()).hexdigest()


class SessionService:
    """Creates, rotates, checks and ends login sessions."""

    def __init__(self, session: Session, toolkit: IdentityToolkit) -> None:
        self._repo = IdentityRepository(session)
        self._kit = toolkit

    def start(self, subject_type: Literal["citizen", "officer"], subject_id: str, **claims: str) -> TokenPair:
        now = self._kit.clock.now()
        auth = AuthSession(
            subject_type=subject_type,
            subject_id=subject_id,
            auth_time=now,
            started_at=now,
            last_seen_at=now,
            expires_at=now + self._kit.config.session_lifetime,
        )
        self._repo.add(auth)
        return self._pair(auth, claims)

    def _pair(self, auth: AuthSession, claims: dict[str, str]) -> TokenPair:
        now = self._kit.clock.now()
        refresh = secrets.token_urlsafe(32)
        self._repo.add(RefreshToken(session_id=auth.id, token_hash=hash_refresh_token(refresh), created_at=now))
        access = self._kit.tokens.issue(
            typ=ACCESS_TYP,
            audience=self._kit.config.audience,
            subject=auth.subject_id,
            ttl=self._kit.config.access_ttl,
            claims={"role": auth.subject_type, "sid": auth.id, **claims},
        )
        ids = {"citizen_id" if auth.subject_type == "citizen" else "officer_id": auth.subject_id}
        return TokenPair(
            access_token=access.token,
            refresh_token=refresh,
            expires_in=int(self._kit.config.access_ttl.total_seconds()),
            **ids,
        )

    def refresh(self, refresh_token: str) -> TokenPair:
        """Rotate: the presented token dies; a token already spent revokes its whole family."""
        now = self._kit.clock.now()
        stored = self._repo.refresh_token(hash_refresh_token(refresh_token))
        if stored is None:
            raise InvalidToken()
        auth = self._repo.auth_session(stored.session_id)
        if auth is None:
            raise InvalidToken()
        if stored.spent_at is not None:
            if auth.revoked_at is None:
                auth.revoked_at, auth.revoked_reason = now, "refresh_reuse"
                self._repo.add(auth)
            raise RefreshTokenReused()
        self._check_alive(auth, now)
        stored.spent_at = now
        auth.last_seen_at = now
        self._repo.add(stored, auth)
        claims = self._claims_of(auth)
        return self._pair(auth, claims)

    def _claims_of(self, auth: AuthSession) -> dict[str, str]:
        if auth.subject_type == "officer":
            officer = self._repo.officer(auth.subject_id)
            if officer is None or officer.status != "active":
                raise SessionExpired()
            return {"agency": officer.agency_code}
        return {}

    def _check_alive(self, auth: AuthSession | SessionState, now: datetime) -> None:
        config = self._kit.config
        idle = config.staff_idle_timeout if auth.subject_type == "officer" else config.idle_timeout
        idle_limit = auth.last_seen_at + idle
        if auth.revoked_at is not None or now >= auth.expires_at or now >= idle_limit:
            raise SessionExpired()

    def end(self, session_id: str) -> None:
        auth = self._repo.auth_session(session_id)
        if auth is not None and auth.revoked_at is None:
            auth.revoked_at, auth.revoked_reason = self._kit.clock.now(), "logout"
            self._repo.add(auth)
            if auth.subject_type == "citizen":
                self._kit.citizen_keys.forget(auth.subject_id)  # signed out: their key leaves this process's cache

    def authenticate(self, token: str) -> Principal:
        """Verify an access token and, for user sessions, that the session is still alive."""
        principal, seen_due = self.authenticate_readonly(token)
        if seen_due and principal.session_id:
            self.touch(principal.session_id)
        return principal

    def authenticate_readonly(self, token: str) -> tuple[Principal, bool]:
        """As `authenticate`, writing nothing; also says whether the session's idle clock is due a touch."""
        try:
            claims = self._kit.tokens.verify(token, typ=ACCESS_TYP, audience=self._kit.config.audience)
        except TokenError as exc:
            raise InvalidToken(exc.reason) from exc
        role = claims.get("role")
        if role == "agency":
            return self._agency_principal(claims), False
        if role not in ("citizen", "officer"):
            raise InvalidToken()
        auth = self._repo.session_state(str(claims.get("sid")))
        if auth is None or auth.subject_id != claims["sub"]:
            raise InvalidToken()
        now = self._kit.clock.now()
        self._check_alive(auth, now)
        seen_due = (now - auth.last_seen_at).total_seconds() >= _SEEN_GRANULARITY_SECONDS
        officer = self._active_officer(auth.subject_id) if role == "officer" else None
        principal = Principal(
            role,
            auth.subject_id,
            auth.id,
            claims.get("agency"),
            scopes=_officer_scopes(officer) if officer is not None else frozenset(),
            auth_time=auth.auth_time,
            login_at=auth.started_at or auth.auth_time,
            officer=officer,
        )
        return principal, seen_due

    def touch(self, session_id: str) -> None:
        """Record activity for the idle timeout."""
        auth = self._repo.auth_session(session_id)
        if auth is not None:
            auth.last_seen_at = self._kit.clock.now()
            self._repo.add(auth)

    def _agency_principal(self, claims: dict[str, object]) -> Principal:
        agency = self._repo.agency_state(str(claims["sub"]))
        if agency is None or agency.status != "active":
            raise InvalidToken()
        if claims.get("sv", 0) != scope_version(agency):
            raise InvalidToken()  # issued before a scope was taken away
        # Defence in depth: a token never uses a scope the agency no longer holds.
        scopes = frozenset(str(claims.get("scope", "")).split()) & frozenset(agency.scopes.split())
        return Principal("agency", agency.code, agency_code=agency.code, scopes=scopes)

    def _active_officer(self, officer_id: str) -> OfficerState:
        """A suspended (or removed) officer's session is over."""
        officer = self._repo.officer_state(officer_id)
        if officer is None or officer.status != "active":
            raise SessionExpired()
        return officer

    def mark_fresh(self, session_id: str) -> None:
        """Record a newly proven second factor (step-up)."""
        auth = self._repo.auth_session(session_id)
        if auth is not None:
            auth.auth_time = self._kit.clock.now()
            self._repo.add(auth)


def _officer_scopes(officer: OfficerState) -> frozenset[str]:
    """An officer acts with their agency's scopes as they are now."""
    if officer.agency_status != "active" or officer.agency_scopes is None:
        return frozenset()
    return frozenset(officer.agency_scopes.split())
