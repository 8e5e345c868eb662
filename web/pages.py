"""Rendering a page: the shared layout's context (signed-in citizen, unread notices, errors, flash message), and the
error messages of forms, in the page's language."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from litestar import Request
from litestar.response import Redirect, Template
from litestar.status_codes import HTTP_303_SEE_OTHER

from api.unit import UnitOfWork
from identity.sessions import Principal

FLASH_COOKIE = "cds_flash"


def page(template: str, *, status: int = 200, **context: Any) -> Template:
    """A whole page (htmx boosts swap the body of the same page, so there is one rendering for both)."""
    defaults: dict[str, Any] = {
        "errors": {},
        "citizen": None,
        "staff": None,
        "section": None,
        "unread": 0,
        "flash": None,
    }
    return Template(template_name=template, context=defaults | context, status_code=status)


def citizen_page(
    unit: UnitOfWork, citizen: Principal, template: str, *, section: str, status: int = 200, **context: Any
) -> Template:
    """A page of the signed-in citizen: the navigation shows how many notices are unread."""
    unread = unit.notifier.unread_count(citizen.subject_id)
    return page(template, status=status, citizen=citizen, section=section, unread=unread, **context)


def see_other(location: str) -> Redirect:
    """After a successful POST: the browser (or htmx) loads the next page with GET (POST/redirect/GET)."""
    return Redirect(location, status_code=HTTP_303_SEE_OTHER)


def safe_next(target: str | None, default: str) -> str:
    """A `next` target of this site only (a path), never another origin."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return default


def first_errors(errors: Mapping[str, str]) -> dict[str, str]:
    """Field → message, in the order of the form (dicts keep insertion order)."""
    return dict(errors)


def form_value(form: Mapping[str, Any], name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def is_htmx(request: Request[Any, Any, Any]) -> bool:
    return request.headers.get("hx-request") == "true"
