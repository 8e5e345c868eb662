"""Rendering a staff page: the layout's context (the officer and their agency for the header, the section)."""

from __future__ import annotations

from typing import Any

from litestar.response import Template

from api.unit import UnitOfWork
from identity.accounts import AccountService
from identity.sessions import Principal
from web.pages import page


def staff_page(
    unit: UnitOfWork, officer: Principal, template: str, *, section: str, status: int = 200, **context: Any
) -> Template:
    """A page of a signed-in officer: the header names them and their agency (who is acting is never in doubt)."""
    profile = AccountService(unit.session, unit.container.identity).officer_profile(officer.subject_id)
    return page(template, status=status, staff=profile, section=section, **context)
