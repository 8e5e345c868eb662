"""Audit errors: each carries a stable `code` and a Vietnamese `title`; HTTP statuses live only in `api/errors.py`."""

from __future__ import annotations


class AuditError(Exception):
    code = "audit_error"
    title = "Lỗi nhật ký truy cập"  # user-facing titles in Vietnamese
    keeps_changes = False

    def __init__(self, detail: str = "") -> None:
        super().__init__(detail or self.title)
        self.detail = detail or self.title


class InvalidCursor(AuditError):
    """A pagination cursor this service did not issue."""

    code = "invalid_cursor"
    title = "Con trỏ phân trang không hợp lệ"


class InvalidPeriod(AuditError):
    """A period bound without a time zone: which day it falls on would depend on the server's."""

    code = "invalid_period"
    title = "Khoảng thời gian không hợp lệ"
