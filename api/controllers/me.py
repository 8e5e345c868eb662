"""The caller's own profile."""

from __future__ import annotations

from litestar import Controller, get

from api.auth import requires
from identity.accounts import AccountService
from identity.schemas import CitizenProfile, OfficerProfile
from identity.service import AuthService
from identity.sessions import Principal


class MeController(Controller):
    path = "/me"
    tags = ("me",)

    @get("", sync_to_thread=True, guards=[requires("citizen", "officer")])
    def me(
        self, principal: Principal, auth_service: AuthService, account_service: AccountService
    ) -> CitizenProfile | OfficerProfile:
        if principal.role == "officer":
            return account_service.officer_profile(principal.subject_id)
        return auth_service.citizen_profile(principal.subject_id)
