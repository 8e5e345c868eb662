"""Translations chosen per request: English source strings in the code and templates, Vietnamese in gettext
catalogs (`web/locales/vi/LC_MESSAGES/<area>.po`, one per area of the app, merged at start).

The locale lives in a ContextVar set for each request, and the Jinja environment's gettext callables read it, so
concurrent requests in different languages never mix (a global `install_gettext_translations` on the shared
environment would). Catalogs are compiled by the build (`python -m web.i18n compile`, run by `make deps`); a
missing or stale `.mo` is compiled in memory at start, so an edited catalog never serves stale text."""

from __future__ import annotations

import io
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from functools import cache
from gettext import NullTranslations
from pathlib import Path
from typing import Literal

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations

Locale = Literal["vi", "en"]
LOCALES: tuple[Locale, ...] = ("vi", "en")
DEFAULT: Locale = "vi"
LOCALES_DIR = Path(__file__).parent / "locales"
_current: ContextVar[Locale] = ContextVar("web_locale", default=DEFAULT)


def current() -> Locale:
    return _current.get()


@contextmanager
def using(locale: Locale) -> Iterator[None]:
    token = _current.set(locale)
    try:
        yield
    finally:
        _current.reset(token)


def activate(locale: Locale) -> None:
    """Set the locale for the rest of this request's context (each ASGI request runs in its own context)."""
    _current.set(locale)


def gettext(message: str) -> str:
    return _catalog(current()).gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    return _catalog(current()).ngettext(singular, plural, n)


def pick(vi: str, en: str | None) -> str:
    """A label the domain catalogs give in both languages (`label` / `label_en`)."""
    return en if current() == "en" and en else vi


def negotiate(query: str | None, cookie: str | None) -> Locale:
    for candidate in (query, cookie):
        if candidate in LOCALES:
            return candidate
    return DEFAULT


@cache
def _catalog(locale: Locale) -> NullTranslations:
    if locale == "en":
        return NullTranslations()  # English is the source language
    merged = Translations()
    for po in sorted((LOCALES_DIR / locale / "LC_MESSAGES").glob("*.po")):
        merged.merge(_compiled(po))
    return merged


def _compiled(po: Path) -> Translations:
    mo = po.with_suffix(".mo")
    if mo.exists() and mo.stat().st_mtime >= po.stat().st_mtime:
        with mo.open("rb") as handle:
            return Translations(handle)
    return Translations(io.BytesIO(_mo_bytes(po)))


def _mo_bytes(po: Path) -> bytes:
    with po.open("rb") as handle:
        catalog = read_po(handle)
    out = io.BytesIO()
    write_mo(out, catalog, use_fuzzy=False)
    return out.getvalue()


def compile_all() -> list[Path]:
    """Write every catalog's `.mo` beside its `.po` (the build step)."""
    written = []
    for po in sorted(LOCALES_DIR.glob("*/LC_MESSAGES/*.po")):
        po.with_suffix(".mo").write_bytes(_mo_bytes(po))
        written.append(po.with_suffix(".mo"))
    return written


if __name__ == "__main__":
    if sys.argv[1:] == ["compile"]:
        for path in compile_all():
            print(path)
    elif sys.argv[1:2] == ["extract"]:
        from web.i18n_extract import extract_all

        for path, missing in extract_all(sys.argv[2] if len(sys.argv) > 2 else None):
            print(f"{path}: {missing} untranslated")
    else:
        raise SystemExit("usage: python -m web.i18n compile | extract [area]")
