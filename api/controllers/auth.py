"""Registration, two-factor login, tokens and TOTP (API.md: "Citizens: registration and OTP login")."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, delete, post
from litestar.status_codes import HTTP_200_OK, HTTP_202_ACCEPTED, HTTP_204_NO_CONTENT

from api.auth import BEARER
from api.deps import client_ip
from identity.schemas import (
    ChallengeResponse,
    LoginRequest,
    OtpVerifyRequest,
    RefreshRequest,
    RegisterRequest,
    TokenPair,
    TotpChangeRequest,
    TotpConfirmRequest,
    TotpEnrollResponse,
    TotpStatus,
)
from identity.service import AuthService
from identity.sessions import Principal, SessionService

# Routes for a signed-in citizen or officer.
_SIGNED_IN: dict[str, Any] = {"sync_to_thread": True, "security": BEARER}


class AuthController(Controller):
    path = "/auth"
    tags = ("auth",)

    @post("/register", status_code=HTTP_202_ACCEPTED, sync_to_thread=True, security=[])
    def register(
        self, request: Request[Any, Any, Any], data: RegisterRequest, auth_service: AuthService
    ) -> ChallengeResponse:
        return auth_service.register(data, client_ip=client_ip(request))

    @post("/login", status_code=HTTP_202_ACCEPTED, sync_to_thread=True, security=[])
    def login(
        self, request: Request[Any, Any, Any], data: LoginRequest, auth_service: AuthService
    ) -> ChallengeResponse:
        return auth_service.login(data, client_ip=client_ip(request))

    @post("/otp/verify", status_code=HTTP_200_OK, sync_to_thread=True, security=[])
    def verify_otp(self, data: OtpVerifyRequest, auth_service: AuthService) -> TokenPair:
        return auth_service.verify_otp(data.challenge_id, data.code)

    @post("/refresh", status_code=HTTP_200_OK, sync_to_thread=True, security=[])
    def refresh(self, data: RefreshRequest, session_service: SessionService) -> TokenPair:
        return session_service.refresh(data.refresh_token)

    @post("/logout", status_code=HTTP_204_NO_CONTENT, **_SIGNED_IN)
    def logout(self, principal: Principal, session_service: SessionService) -> None:
        if principal.session_id:
            session_service.end(principal.session_id)

    @post("/otp/send", status_code=HTTP_202_ACCEPTED, **_SIGNED_IN)
    def send_step_up(self, principal: Principal, auth_service: AuthService) -> ChallengeResponse:
        """A fresh one-time code for a sensitive action (erasure, consent approval)."""
        return auth_service.start_step_up(principal)

    @post("/totp/enroll", status_code=HTTP_200_OK, **_SIGNED_IN)
    def totp_enroll(
        self, principal: Principal, auth_service: AuthService, data: TotpChangeRequest | None = None
    ) -> TotpEnrollResponse:
        """A new authenticator, behind a fresh factor of the method in force; 403 `fresh_factor_required` without."""
        factor = data or TotpChangeRequest()
        return auth_service.totp_enroll(principal, factor.code, factor.challenge_id)

    @post("/totp/confirm", status_code=HTTP_200_OK, **_SIGNED_IN)
    def totp_confirm(self, principal: Principal, data: TotpConfirmRequest, auth_service: AuthService) -> TotpStatus:
        auth_service.totp_confirm(principal, data.code)
        return TotpStatus(enabled=True)

    @delete("/totp", status_code=HTTP_204_NO_CONTENT, **_SIGNED_IN)
    def totp_remove(
        self, principal: Principal, auth_service: AuthService, data: TotpChangeRequest | None = None
    ) -> None:
        """Remove the authenticator (login codes go by SMS again), proven by its own current code."""
        factor = data or TotpChangeRequest()
        auth_service.totp_remove(principal, factor.code, factor.challenge_id)
