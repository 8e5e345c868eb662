"""The OpenID Provider harness, exercised the way the e-ID login's relying party will use it (Authlib + joserfc)."""

from __future__ import annotations

import base64
import json
import secrets
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from authlib.integrations.httpx_client import OAuth2Client
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from tests.oidc_provider import ALTERED_ID, DEFAULT_REDIRECT_URI, OidcProvider, TamperMode, encode_account

pytestmark = pytest.mark.oidc

CITIZEN = {
    "personal_id": "048095123456",
    "identity_level": "2",
    "name": "Nguyễn Văn An",
    "birthdate": "1995-03-02",
    "phone_number": "+84905123456",
}
SCOPE = "openid profile phone vneid"


class RelyingParty:
    """What the service's e-ID login does, reduced to the protocol: Authlib for OAuth, joserfc for the ID token."""

    def __init__(self, op: OidcProvider, *, pkce: bool = True, auth_method: str = "client_secret_basic") -> None:
        self.op = op
        self.metadata: dict[str, Any] = httpx.get(op.discovery_url, trust_env=False).json()
        self.client = OAuth2Client(
            op.client_id,
            op.client_secret,
            scope=SCOPE,
            redirect_uri=DEFAULT_REDIRECT_URI,
            code_challenge_method="S256" if pkce else None,
            token_endpoint_auth_method=auth_method,
            trust_env=False,
        )
        self.verifier = secrets.token_urlsafe(48) if pkce else None
        self.nonce = secrets.token_urlsafe(16)

    def authorize_url(self) -> str:
        url, _state = self.client.create_authorization_url(
            self.metadata["authorization_endpoint"], code_verifier=self.verifier, nonce=self.nonce
        )
        return str(url)

    def exchange(self, callback_url: str) -> str:
        token = self.client.fetch_token(
            self.metadata["token_endpoint"], authorization_response=callback_url, code_verifier=self.verifier
        )
        return str(token["id_token"])

    def jwks(self) -> dict[str, Any]:
        return dict(httpx.get(self.metadata["jwks_uri"], trust_env=False).json())

    def verify(self, id_token: str) -> dict[str, Any]:
        keys = KeySet.import_key_set(self.jwks())  # type: ignore[arg-type]
        token = jwt.decode(id_token, keys, algorithms=["RS256", "ES256"])
        jwt.JWTClaimsRegistry(
            iss={"essential": True, "value": self.op.issuer},
            aud={"essential": True, "value": self.op.client_id},
            nonce={"essential": True, "value": self.nonce},
        ).validate(token.claims)
        return token.claims


@pytest.fixture
def make_party(oidc_provider: OidcProvider) -> Iterator[Callable[..., RelyingParty]]:
    parties: list[RelyingParty] = []

    def make(**options: Any) -> RelyingParty:
        parties.append(RelyingParty(oidc_provider, **options))
        return parties[-1]

    yield make
    for party in parties:
        party.client.close()


@pytest.fixture
def relying_party(make_party: Callable[..., RelyingParty]) -> RelyingParty:
    return make_party()


def query_of(url: str) -> dict[str, str]:
    return {name: values[0] for name, values in parse_qs(urlsplit(url).query).items()}


def segment(token: str, index: int) -> dict[str, Any]:
    part = token.split(".")[index]
    return dict(json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))))


class TestDiscovery:
    def test_the_issuer_is_the_proxy(self, oidc_provider: OidcProvider, relying_party: RelyingParty) -> None:
        metadata = relying_party.metadata
        assert metadata["issuer"] == oidc_provider.issuer
        for endpoint in ("authorization_endpoint", "token_endpoint", "jwks_uri", "userinfo_endpoint"):
            assert metadata[endpoint].startswith(oidc_provider.issuer + "/")
        assert metadata["code_challenge_methods_supported"] == ["S256"]
        assert {"personal_id", "identity_level", "phone_number"} <= set(metadata["claims_supported"])
        assert {"openid", "profile", "phone", "vneid"} <= set(metadata["scopes_supported"])


class TestLogin:
    def test_a_full_login_yields_a_verified_id_token_with_every_claim(
        self, oidc_provider: OidcProvider, relying_party: RelyingParty
    ) -> None:
        url = relying_party.authorize_url()
        callback = oidc_provider.login(url, CITIZEN)

        assert callback.startswith(DEFAULT_REDIRECT_URI + "?")
        answer = query_of(callback)
        assert answer["code"]
        assert answer["state"] == query_of(url)["state"]
        claims = relying_party.verify(relying_party.exchange(callback))
        assert {name: claims[name] for name in CITIZEN} == CITIZEN
        assert claims["nonce"] == relying_party.nonce
        assert claims["aud"] == oidc_provider.client_id
        assert claims["sub"]

    def test_the_subject_is_stable_per_personal_id_and_overridable(
        self, oidc_provider: OidcProvider, make_party: Callable[..., RelyingParty]
    ) -> None:
        subjects = []
        for claims in (CITIZEN, {**CITIZEN, "name": "Other"}, {**CITIZEN, "sub": "chosen-sub"}):
            party = make_party()
            subjects.append(party.verify(party.exchange(oidc_provider.login(party.authorize_url(), claims)))["sub"])
        assert subjects[0] == subjects[1] != subjects[2] == "chosen-sub"

    def test_client_secret_post_is_accepted_too(
        self, oidc_provider: OidcProvider, make_party: Callable[..., RelyingParty]
    ) -> None:
        party = make_party(auth_method="client_secret_post")
        id_token = party.exchange(oidc_provider.login(party.authorize_url(), CITIZEN))
        assert party.verify(id_token)["personal_id"] == CITIZEN["personal_id"]

    def test_without_pkce_the_authorization_is_refused(
        self, oidc_provider: OidcProvider, make_party: Callable[..., RelyingParty]
    ) -> None:
        party = make_party(pkce=False)
        answer = query_of(oidc_provider.login(party.authorize_url(), CITIZEN))
        assert answer["error"] == "invalid_request"
        assert "PKCE" in answer["error_description"]
        assert "code" not in answer

    @pytest.mark.parametrize("login_name", ["not base64 json!", encode_account({})[:-1] + "@", "WzEsMl0"])
    def test_an_undecodable_login_name_ends_in_an_error(
        self, oidc_provider: OidcProvider, relying_party: RelyingParty, login_name: str
    ) -> None:
        callback = oidc_provider.login(relying_party.authorize_url(), {}, login_name=login_name)
        answer = query_of(callback)
        assert answer["error"] == "access_denied"
        assert "code" not in answer

    def test_an_unregistered_redirect_uri_fails_the_driver(
        self, oidc_provider: OidcProvider, relying_party: RelyingParty
    ) -> None:
        url, _ = relying_party.client.create_authorization_url(
            relying_party.metadata["authorization_endpoint"],
            code_verifier=relying_party.verifier,
            redirect_uri="http://127.0.0.1:9/elsewhere",
        )
        with pytest.raises(AssertionError, match="redirect_uri"):
            oidc_provider.login(str(url), CITIZEN)


class TestTampering:
    @pytest.mark.parametrize("mode", ["alter_payload", "foreign_key"])
    def test_a_forged_id_token_fails_verification(
        self, oidc_provider: OidcProvider, relying_party: RelyingParty, mode: TamperMode
    ) -> None:
        callback = oidc_provider.login(relying_party.authorize_url(), CITIZEN)
        with oidc_provider.tampering(mode):
            id_token = relying_party.exchange(callback)
        assert oidc_provider.tamper is None
        with pytest.raises(JoseError):
            relying_party.verify(id_token)
        header = segment(id_token, 0)
        assert header["alg"] == "RS256"
        assert header["kid"] in {key["kid"] for key in relying_party.jwks()["keys"]}
        expected_id = ALTERED_ID if mode == "alter_payload" else CITIZEN["personal_id"]
        assert segment(id_token, 1)["personal_id"] == expected_id

    def test_alg_none_yields_an_unsigned_token(self, oidc_provider: OidcProvider, relying_party: RelyingParty) -> None:
        callback = oidc_provider.login(relying_party.authorize_url(), CITIZEN)
        with oidc_provider.tampering("alg_none"):
            id_token = relying_party.exchange(callback)
        assert segment(id_token, 0)["alg"] == "none"
        assert id_token.endswith(".")
        assert segment(id_token, 1)["personal_id"] == CITIZEN["personal_id"]
        with pytest.raises(JoseError):
            relying_party.verify(id_token)
