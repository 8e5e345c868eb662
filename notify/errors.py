"""Errors of the notification domain; each has a stable `code` and no HTTP in it."""

from __future__ import annotations

from typing import ClassVar


class NotifyError(Exception):
    """Base of every notification error."""

    code: ClassVar[str] = "notify_error"
    title: ClassVar[str] = "Lỗi thông báo"  # user-facing titles in Vietnamese


class NoticeNotFound(NotifyError):
    """No such in-app notice for this recipient (another recipient's notice looks the same)."""

    code = "notice_not_found"
    title = "Không tìm thấy thông báo"


class InvalidCursor(NotifyError):
    """A pagination cursor that this service did not issue."""

    code = "invalid_cursor"
    title = "Con trỏ phân trang không hợp lệ"
