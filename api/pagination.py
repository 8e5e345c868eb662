"""One paging behaviour for every list route: `limit` 1..200 (else 422 naming it) and an opaque `cursor`.

A cursor the service could not have issued (too long, or with characters no cursor of ours carries) answers
400 `invalid_cursor` before any query; the answer never repeats it.
"""

from __future__ import annotations

import re
from typing import Any

from litestar.params import Parameter

from identity.errors import ValidationFailed

MAX_LIMIT = 200
MAX_CURSOR_CHARS = 200
_CURSOR_CHARS = re.compile(r"[A-Za-z0-9_.:=~-]+")

LIMIT: Any = Parameter(
    default=None, ge=1, le=MAX_LIMIT, description=f"items per page, 1 to {MAX_LIMIT} (default: the route's own)"
)
CURSOR: Any = Parameter(default=None, description="`next_cursor` of the previous page, as given")


class InvalidCursor(ValidationFailed):
    """A cursor this service did not issue."""

    code = "invalid_cursor"
    title = "Con trỏ phân trang không hợp lệ"

    def __init__(self) -> None:
        super().__init__({"cursor": ["not a cursor this service issued; start again from the first page"]})


def page_cursor(cursor: str | None) -> str | None:
    """The cursor to hand to the domain, None for the first page; `InvalidCursor` for one we cannot have issued."""
    if not cursor:
        return None
    if len(cursor) > MAX_CURSOR_CHARS or not _CURSOR_CHARS.fullmatch(cursor):
        raise InvalidCursor()
    return cursor
