"""Agencies (OAuth clients) and one-stop officers: created by the operator's CLI, used by the API."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import unicodedata
from collections.abc import Iterable

from sqlmodel import Session

from identity.errors import (
    AgencyExists,
    InvalidClient,
    InvalidScope,
    OfficerExists,
    RateLimited,
    UnknownAgency,
    UnsupportedGrantType,
    ValidationFailed,
)
from identity.models import Agency, Officer
from identity.repository import IdentityRepository
from identity.schemas import AgencyCredentials, AgencyToken, OfficerProfile
from identity.scopes import KNOWN_SCOPES
from identity.sessions import ACCESS_TYP, scope_version
from identity.text import text_problems
from identity.toolkit import IdentityToolkit
from identity.validation import is_valid_pin, normalize_phone


def _secret_hash(secret: str) -> str:
    # Client secrets are 256 random bits, so a fast hash is enough to make a leaked table useless.
    return hashlib.sha256(secret.encode()).hexdigest()


class AccountService:
    """Creates agencies and officers; issues agency access tokens (OAuth client credentials)."""

    def __init__(self, session: Session, toolkit: IdentityToolkit) -> None:
        self._repo = IdentityRepository(session)
        self._kit = toolkit

    def create_agency(self, code: str, name: str, scopes: Iterable[str]) -> AgencyCredentials:
        scope_set = set(scopes)
        if unknown := scope_set - KNOWN_SCOPES:
            raise ValidationFailed({"scopes": [f"unknown scope {s}" for s in sorted(unknown)]})
        if not code or not name:
            raise ValidationFailed({"code": ["code and name are required"]})
        if self._repo.agency(code) is not None:
            raise AgencyExists()
        client_id, secret = f"agency-{secrets.token_hex(8)}", secrets.token_urlsafe(32)
        agency = Agency(
            code=code,
            name=name,
            client_id=client_id,
            secret_hash=_secret_hash(secret),
            scopes=" ".join(sorted(scope_set)),
            created_at=self._kit.clock.now(),
        )
        self._repo.add(agency)
        return AgencyCredentials(client_id=client_id, client_secret=secret)

    def create_officer(self, *, phone: str, name: str, agency_code: str, pin: str) -> OfficerProfile:
        normalized = normalize_phone(phone)
        errors = {}
        if normalized is None:
            errors["phone"] = ["not a Vietnamese mobile number"]
        if not is_valid_pin(pin):
            errors["pin"] = ["must be exactly 6 digits"]
        name = unicodedata.normalize("NFC", name.strip())
        if problems := (text_problems(name, kind="name") if name else ["is required"]):
            errors["full_name"] = problems  # officers' names are shown to citizens, as citizens' to officers
        if errors or normalized is None:
            raise ValidationFailed(errors)
        agency = self._repo.agency(agency_code)
        if agency is None:
            raise UnknownAgency()
        if self._repo.officer_by_phone(normalized) is not None:
            raise OfficerExists()
        officer = Officer(
            phone=normalized,
            full_name=name,
            agency_code=agency.code,
            pin_hash=self._kit.pins.hash(pin),
            created_at=self._kit.clock.now(),
        )
        self._repo.add(officer)
        return self.officer_profile(officer.id)

    def officer_profile(self, officer_id: str) -> OfficerProfile:
        officer = self._repo.officer(officer_id)
        agency = self._repo.agency(officer.agency_code) if officer else None
        if officer is None or agency is None:
            raise UnknownAgency()
        return OfficerProfile(
            id=officer.id,
            full_name=officer.full_name,
            phone=officer.phone,
            agency={"code": agency.code, "name": agency.name},
        )

    def agency_token(self, *, grant_type: str, client_id: str, client_secret: str, scope: str | None) -> AgencyToken:
        if grant_type != "client_credentials":
            raise UnsupportedGrantType()
        limit = self._kit.config.token_per_client
        verdict = self._kit.throttle.hit(
            f"oauth:{client_id}", limit=limit.count, window=limit.window, now=self._kit.clock.now()
        )
        if not verdict.allowed:
            raise RateLimited(verdict.retry_after)
        agency = self._repo.agency_by_client_id(client_id)
        expected = agency.secret_hash if agency else _secret_hash(secrets.token_urlsafe(32))
        if not hmac.compare_digest(expected, _secret_hash(client_secret)) or agency is None:
            raise InvalidClient()
        if agency.status != "active":
            raise InvalidClient()
        granted = set(agency.scopes.split())
        requested = set(scope.split()) if scope else granted
        if not requested <= granted:
            raise InvalidScope()
        ttl = self._kit.config.agency_token_ttl
        token = self._kit.tokens.issue(
            typ=ACCESS_TYP,
            audience=self._kit.config.audience,
            subject=agency.code,
            ttl=ttl,
            claims={
                "role": "agency",
                "scope": " ".join(sorted(requested)),
                "client_id": client_id,
                "sv": scope_version(agency),
            },
        )
        return AgencyToken(
            access_token=token.token, expires_in=int(ttl.total_seconds()), scope=" ".join(sorted(requested))
        )

    def agency_scopes(self, code: str) -> list[str]:
        agency = self._repo.agency(code)
        if agency is None:
            raise UnknownAgency()
        return sorted(agency.scopes.split())

    def change_scopes(self, code: str, *, add: Iterable[str] = (), remove: Iterable[str] = ()) -> list[str]:
        """Grant and withdraw scopes; a withdrawal also ends every access token issued before it."""
        added, removed = set(add), set(remove)
        if unknown := (added | removed) - KNOWN_SCOPES:
            raise ValidationFailed({"scopes": [f"unknown scope {s}" for s in sorted(unknown)]})
        agency = self._repo.agency(code)
        if agency is None:
            raise UnknownAgency()
        held = set(agency.scopes.split())
        if removed & held:
            agency.scopes_revoked_at = self._kit.clock.now()
        agency.scopes = " ".join(sorted((held | added) - removed))
        self._repo.add(agency)
        return sorted(agency.scopes.split())

    def agency_name(self, code: str) -> str:
        agency = self._repo.agency(code)
        if agency is None:
            raise UnknownAgency()
        return agency.name
