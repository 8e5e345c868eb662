"""Notifications (UI.md: "Notifications"): the citizen's in-app notices newest first, the unread ones marked in words,
each marked read on request, or all at once; a page at a time. The same `notify.service.Notifier` calls as
`GET /api/v1/me/notifications` and its read routes; the layout's navigation counts the unread ones."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import anyio
from litestar import Controller, Request, Response, get, post
from litestar.datastructures import State
from litestar.exceptions import NotFoundException, ValidationException
from litestar.response import Template

from api.unit import UnitOfWork
from identity.sessions import Principal
from notify.errors import InvalidCursor, NoticeNotFound
from notify.schemas import InAppNoticeView
from web.i18n import gettext as _
from web.messages import N_
from web.pages import citizen_page, form_value, see_other

PAGE_SIZE = 20
HOME = "/notifications"
DONE: dict[str, str] = {"all": N_("Every notice is marked as read.")}


def back_to(cursor: str) -> str:
    """The page the citizen was on (a cursor of ours, never an address from the form)."""
    return f"{HOME}?{urlencode({'cursor': cursor})}" if cursor else HOME


class NotificationPages(Controller):
    path = HOME

    @get("")
    async def notices(self, citizen: Principal, unit: UnitOfWork, cursor: str = "", done: str = "") -> Template:
        notifier = unit.notifier

        def read() -> tuple[list[InAppNoticeView], str | None]:
            return notifier.list_in_app(citizen.subject_id, limit=PAGE_SIZE, cursor=cursor[:200] or None)

        try:
            items, next_cursor = await anyio.to_thread.run_sync(read)
        except InvalidCursor as exc:  # only an address edited by hand carries a cursor we did not make
            raise ValidationException() from exc
        return citizen_page(
            unit,
            citizen,
            "notices/index.html",
            section=HOME,
            notices=items,
            cursor=cursor[:200],
            next_page=back_to(next_cursor) if next_cursor else None,
            first_page=HOME if cursor else None,
            flash=_(DONE[done]) if done in DONE else None,
        )

    @post("/read-all")
    async def read_all(self, citizen: Principal, unit: UnitOfWork) -> Response[Any]:
        await anyio.to_thread.run_sync(unit.notifier.mark_all_read, citizen.subject_id)
        return see_other(f"{HOME}?done=all")

    @post("/{notice_id:str}/read")
    async def read(
        self, request: Request[Any, Any, State], citizen: Principal, unit: UnitOfWork, notice_id: str
    ) -> Response[Any]:
        form = await request.form()
        try:
            await anyio.to_thread.run_sync(unit.notifier.mark_read, citizen.subject_id, notice_id)
        except NoticeNotFound as exc:
            raise NotFoundException() from exc
        return see_other(back_to(form_value(form, "cursor")[:200]) + f"#notice-{notice_id}")


ROUTES = [NotificationPages]
