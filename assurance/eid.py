"""The relying party of the national e-ID provider (VNeID-style OpenID Connect): authorization code flow with
PKCE (S256), `state` and `nonce`, through Authlib; discovery, the JWKS and the ID token's checks (signature,
`iss`, `aud`, `exp`, `iat`, `nonce`, `at_hash`) are Authlib's and joserfc's, never ours. What is ours: the
mix-up defence (the discovered issuer must be the configured one), the algorithms we accept, and reading the
claims a provider is configured to send (personal ID number, level, name, birth date, phone)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import requests
from authlib.integrations.base_client import BaseApp, OAuth2Mixin, OAuthError, OpenIDMixin
from authlib.integrations.requests_client import OAuth2Session
from joserfc.errors import JoseError

from assurance.errors import EidFailed, EidUnavailable
from identity.validation import normalize_phone

# Asymmetric signatures only: no "none", no HMAC with the client secret (a provider listing them is ignored).
SAFE_ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA")
_ID_NUMBER_LENGTH = 12


@dataclass(frozen=True)
class EidConfig:
    issuer: str
    client_id: str
    client_secret: str = field(repr=False)
    redirect_uri: str
    scopes: str = "openid profile phone vneid"
    id_claim: str = "personal_id"
    level_claim: str = "identity_level"
    level_two_values: frozenset[str] = frozenset({"2"})
    name_claim: str = "name"
    birthdate_claim: str = "birthdate"
    phone_claim: str = "phone_number"
    display_name: str = "VNeID"
    timeout_seconds: float = 10.0


@dataclass(frozen=True)
class AuthorizationStart:
    url: str
    state: str
    nonce: str = field(repr=False)
    code_verifier: str = field(repr=False)


@dataclass(frozen=True)
class EidIdentity:
    """What a verified ID token says about the person."""

    issuer: str
    subject: str
    national_id: str
    level: str
    full_name: str | None
    date_of_birth: date | None
    phone: str | None  # E.164, when the provider sent a Vietnamese mobile number

    def is_level_two(self, config: EidConfig) -> bool:
        return self.level in config.level_two_values


class _App(OAuth2Mixin, OpenIDMixin, BaseApp):  # type: ignore[misc]
    """Authlib's framework-neutral OpenID client (the shape of its Flask and Django integrations, on requests)."""

    client_cls = OAuth2Session


class EidClient:
    """One per process; discovery and the provider's keys are cached (keys re-fetched on an unknown `kid`)."""

    def __init__(self, config: EidConfig) -> None:
        self.config = config
        self._app = _App(
            framework=None,
            name="eid",
            client_id=config.client_id,
            client_secret=config.client_secret,
            server_metadata_url=f"{config.issuer.rstrip('/')}/.well-known/openid-configuration",
            client_kwargs={
                "scope": config.scopes,
                "code_challenge_method": "S256",
                "token_endpoint_auth_method": "client_secret_basic",
                "default_timeout": config.timeout_seconds,
            },
        )

    def start(self) -> AuthorizationStart:
        """The provider's authorization URL with fresh `state`, `nonce` and PKCE verifier."""
        self._metadata()
        state, nonce = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        try:
            started = self._app.create_authorization_url(self.config.redirect_uri, state=state, nonce=nonce)
        except (requests.RequestException, OAuthError) as exc:
            raise EidUnavailable() from exc
        return AuthorizationStart(started["url"], started["state"], started["nonce"], started["code_verifier"])

    def identity(self, code: str, *, code_verifier: str, nonce: str) -> EidIdentity:
        """Exchange the code (with the PKCE verifier) and verify the ID token; EidFailed on anything wrong."""
        self._metadata()
        try:
            token = self._app.fetch_access_token(self.config.redirect_uri, code=code, code_verifier=code_verifier)
        except requests.RequestException as exc:
            raise EidUnavailable() from exc
        except (OAuthError, ValueError) as exc:
            raise EidFailed("Nhà cung cấp từ chối mã xác thực") from exc
        if "id_token" not in token:
            raise EidFailed("Nhà cung cấp không trả về ID token")
        try:
            claims = self._app.parse_id_token(token, nonce=nonce)
        except requests.RequestException as exc:
            raise EidUnavailable() from exc
        except (JoseError, OAuthError, ValueError, KeyError, TypeError) as exc:
            raise EidFailed("ID token không hợp lệ") from exc
        return self._identity(dict(claims))

    def _metadata(self) -> dict[str, Any]:
        try:
            metadata: dict[str, Any] = self._app.load_server_metadata()
        except (requests.RequestException, ValueError) as exc:
            raise EidUnavailable() from exc
        # A provider answering with another issuer's metadata is a mix-up attack, never a configuration to follow.
        if metadata.get("issuer") != self.config.issuer:
            raise EidFailed("Nhà cung cấp định danh không khớp cấu hình")
        offered = metadata.get("id_token_signing_alg_values_supported") or ["RS256"]
        metadata["id_token_signing_alg_values_supported"] = [a for a in offered if a in SAFE_ALGORITHMS]
        return metadata

    def _identity(self, claims: dict[str, Any]) -> EidIdentity:
        config = self.config
        national_id = str(claims.get(config.id_claim) or "")
        if len(national_id) != _ID_NUMBER_LENGTH or not national_id.isdigit():
            raise EidFailed("ID token không mang số định danh cá nhân hợp lệ")
        raw_phone = claims.get(config.phone_claim)
        return EidIdentity(
            issuer=str(claims["iss"]),
            subject=str(claims["sub"]),
            national_id=national_id,
            level=str(claims.get(config.level_claim, "")),
            full_name=str(claims[config.name_claim]) if claims.get(config.name_claim) else None,
            date_of_birth=_date(claims.get(config.birthdate_claim)),
            phone=normalize_phone(str(raw_phone)) if raw_phone else None,
        )


def _date(value: Any) -> date | None:
    try:
        return date.fromisoformat(str(value)) if value else None
    except ValueError:
        return None
