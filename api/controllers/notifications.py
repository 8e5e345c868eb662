"""The caller's in-app notices (API.md: `GET /me/notifications`)."""

from __future__ import annotations

from litestar import Controller, get, post
from litestar.params import Parameter
from litestar.status_codes import HTTP_200_OK

from api.auth import BEARER
from api.pagination import CURSOR, LIMIT, page_cursor
from api.unit import UnitOfWork
from identity.sessions import Principal
from notify.schemas import NoticePage, NoticePublic, NoticesMarked


class NotificationsController(Controller):
    """The inbox of a citizen or an officer: newest first, read one, read all."""

    path = "/me/notifications"
    security = BEARER
    tags = ("me",)

    @get("", sync_to_thread=True)
    def list_notices(
        self,
        principal: Principal,
        unit: UnitOfWork,
        limit: int | None = LIMIT,
        cursor: str | None = CURSOR,
        unread: bool = Parameter(default=False, description="only the unread notices"),
    ) -> NoticePage:
        """Newest first; `unread_count` counts every unread notice of the caller, whatever the page."""
        notifier, me = unit.notifier, principal.subject_id
        items, next_cursor = notifier.list_in_app(me, limit=limit or 50, cursor=page_cursor(cursor), unread_only=unread)
        return NoticePage(
            items=[NoticePublic.of(item) for item in items],
            next_cursor=next_cursor,
            unread_count=notifier.unread_count(me),
        )

    @post("/read-all", status_code=HTTP_200_OK, sync_to_thread=True)
    def read_all(self, principal: Principal, unit: UnitOfWork) -> NoticesMarked:
        return NoticesMarked(marked=unit.notifier.mark_all_read(principal.subject_id))

    @post("/{notice_id:str}/read", status_code=HTTP_200_OK, sync_to_thread=True)
    def read(self, principal: Principal, unit: UnitOfWork, notice_id: str) -> NoticePublic:
        """Idempotent: the first reading time stays. Another caller's notice answers 404 `notice_not_found`."""
        return NoticePublic.of(unit.notifier.mark_read(principal.subject_id, notice_id))
