"""What a page says about a field the domain refused, in the page's language. The domain's messages are English
developer text; people read these instead."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import date

from pydantic import ValidationError

from web.i18n import gettext as _


def N_(message: str) -> str:  # noqa: N802 - the conventional gettext marker
    """Marks a string for extraction; it is translated where it is shown."""
    return message


# The domain's own words (identity.validation, identity.registration) → what a citizen reads.
_KNOWN: dict[str, str] = {
    "must be exactly 12 digits": N_("Enter the 12 digits of your ID card number"),
    "the century digit does not match the date of birth": N_("The ID card number does not match your date of birth"),
    "the birth-year digits do not match the date of birth": N_("The ID card number does not match your date of birth"),
    "the century/sex digit must be 0 to 5": N_("This is not a valid ID card number"),
    "not a Vietnamese mobile number (0xxxxxxxxx or +84xxxxxxxxx)": N_(
        "Enter a Vietnamese mobile number, like 0905123456"
    ),
    "must be exactly 6 digits": N_("Enter 6 digits"),
    "cannot be in the future": N_("The date cannot be in the future"),
}
_PATTERNS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"^unknown province code"), "This is not a valid ID card number")
]
_GENERIC: dict[str, str] = {
    "national_id": N_("Enter the 12 digits of your ID card number"),
    "full_name": N_("Enter your full name"),
    "date_of_birth": N_("Enter a real date, for example 02/03/1995"),
    "phone": N_("Enter a Vietnamese mobile number, like 0905123456"),
    "pin": N_("Enter 6 digits"),
    "email": N_("Enter an email address like an@example.vn"),
    "code": N_("Enter the 6-digit code"),
}


def say(problem: str, field: str) -> str:
    if problem in _KNOWN:
        return _(_KNOWN[problem])
    for pattern, text in _PATTERNS:
        if pattern.search(problem):
            return _(text)
    return _(_GENERIC.get(field, N_("Check this answer")))


def field_errors(errors: Mapping[str, Iterable[str]], *, order: Iterable[str] = ()) -> dict[str, str]:
    """One message per field (its first problem), in the form's order."""
    said = {field: say(next(iter(problems), ""), field) for field, problems in errors.items()}
    ordered = {name: said[name] for name in order if name in said}
    return ordered | {name: text for name, text in said.items() if name not in ordered}


def pydantic_errors(exc: ValidationError) -> dict[str, str]:
    found: dict[str, str] = {}
    for error in exc.errors():
        field = str(error["loc"][0]) if error["loc"] else "form"
        found.setdefault(field, _(_GENERIC.get(field, N_("Check this answer"))))
    return found


def parse_date(text: str) -> date | None:
    """`dd/mm/yyyy` as people type it, or `yyyy-mm-dd` from a date input; None if not a real date."""
    text = text.strip()
    match = re.fullmatch(r"(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})", text)
    try:
        if match:
            day, month, year = (int(part) for part in match.groups())
            return date(year, month, day)
        return date.fromisoformat(text)
    except ValueError:
        return None
