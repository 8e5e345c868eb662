"""The Jinja2 environment of the pages: autoescaped, strict about undefined names, gettext from `web.i18n` (read per
request), and a few helpers every template may use."""

from __future__ import annotations

import hashlib
from datetime import date, datetime
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from litestar.contrib.jinja import JinjaTemplateEngine
from litestar.template.config import TemplateConfig

from identity.notices import VIETNAM
from web import i18n

TEMPLATES = Path(__file__).parent / "templates"
STATIC = Path(__file__).parent / "static"
STATIC_PREFIX = "/static"


@cache
def asset_version(relative: str) -> str:
    """A short content hash of a static file: its URL changes when it does, so it may be cached for a year."""
    return hashlib.sha256((STATIC / relative).read_bytes()).hexdigest()[:10]


def static(relative: str) -> str:
    return f"{STATIC_PREFIX}/{relative}?v={asset_version(relative)}"


def local_time(moment: datetime | None) -> str:
    """`24/11/2026 08:05` in Vietnam's time (the service's users are there)."""
    return moment.astimezone(VIETNAM).strftime("%d/%m/%Y %H:%M") if moment else ""


def local_date(day: date | str | None) -> str:
    if day is None or day == "":
        return ""
    value = date.fromisoformat(day) if isinstance(day, str) else day
    return value.strftime("%d/%m/%Y")


def language_query(request: Any, locale: str) -> str:
    """This page's address in another language: `?lang=` beside the page's own query, so a filtered list or a
    checked paper stays what it was."""
    pairs = [(key, value) for key, value in request.query_params.multi_items() if key != "lang"]
    return "?" + urlencode([*pairs, ("lang", locale)])


def environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=StrictUndefined,
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
    )
    # Per-request callables (a ContextVar), never translations installed on this shared environment.
    env.install_gettext_callables(i18n.gettext, i18n.ngettext, newstyle=True)  # type: ignore[attr-defined]
    env.globals.update(static=static, lang=i18n.current, pick=i18n.pick, language_query=language_query)
    env.filters.update(local_time=local_time, local_date=local_date)
    return env


def template_config() -> TemplateConfig[Any]:
    return TemplateConfig(instance=JinjaTemplateEngine.from_environment(environment()))
