"""The caller's own profile."""

from __future__ import annotations

from litestar import Controller, get

from identity.accounts import AccountService
from identity.schemas import CitizenProfile, OfficerProfile
from identity.service import AuthService
from identity.sessions import Principal


class MeController(Controller):
    path = "/me"
    tags = ["me"]

    @get("", sync_to_thread=True)
    def me(
        self, user: Principal, auth_service: AuthService, account_service: AccountService
    ) -> CitizenProfile | OfficerProfile:
        if user.role == "officer":
            return account_service.officer_profile(user.subject_id)
        return auth_service.citizen_profile(user.subject_id)
