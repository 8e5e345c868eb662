"""OAuth 2.0 client credentials for agencies (RFC 6749 §4.4)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from litestar import Controller, post
from litestar.enums import RequestEncodingType
from litestar.params import Body
from litestar.status_codes import HTTP_200_OK

from identity.accounts import AccountService
from identity.schemas import AgencyToken


@dataclass
class TokenForm:
    grant_type: str
    client_id: str
    client_secret: str
    scope: str | None = None


class OAuthController(Controller):
    path = "/oauth"
    tags = ("agencies",)

    @post("/token", status_code=HTTP_200_OK, sync_to_thread=True, security=[])
    def token(
        self,
        data: Annotated[TokenForm, Body(media_type=RequestEncodingType.URL_ENCODED)],
        account_service: AccountService,
    ) -> AgencyToken:
        return account_service.agency_token(
            grant_type=data.grant_type, client_id=data.client_id, client_secret=data.client_secret, scope=data.scope
        )
