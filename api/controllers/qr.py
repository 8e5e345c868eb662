"""QR identity, officer verification and the citizen's access log (API.md: "QR identity and verification")."""

from __future__ import annotations

from datetime import datetime

from litestar import Controller, get, post
from litestar.di import Provide
from litestar.exceptions import ValidationException
from litestar.params import Parameter
from litestar.status_codes import HTTP_200_OK

from api.auth import BEARER
from api.pagination import CURSOR, LIMIT, page_cursor
from api.unit import OWN_WRITES, UnitOfWork
from audit.schemas import AccessLogPage
from audit.service import AuditService
from identity.qr import QrService
from identity.schemas import QrCode, QrInvalid, QrVerification, QrVerifyRequest
from identity.sessions import Principal

_SINCE = Parameter(default=None, description="only the entries at or after this time (RFC 3339, with its offset)")
_UNTIL = Parameter(default=None, description="only the entries before this time (RFC 3339, with its offset)")


def provide_audit_service(unit: UnitOfWork) -> AuditService:
    return AuditService(unit.session, unit.container.clock)


def qr_service_of(unit: UnitOfWork) -> QrService:
    """Made in the handler, not as a dependency: resolved beside `principal`, a dependency cost a task group."""
    return QrService(
        unit.session, unit.container.identity, provide_audit_service(unit), recorder=unit.container.scan_recorder()
    )


class QrController(Controller):
    """The citizen's rotating QR identity and its verification by one-stop officers."""

    path = "/"
    security = BEARER
    tags = ("qr",)
    dependencies = {  # noqa: RUF012 - Litestar reads it as a class attribute
        "audit_service": Provide(provide_audit_service, sync_to_thread=False),
    }

    @get("/me/qr")
    async def my_qr(self, principal: Principal, unit: UnitOfWork) -> QrCode:
        """A fresh QR token (valid 5 minutes) and its SVG."""
        # Within 30 s of signing, this process answers the same token and drawing again (`identity.qr_cache`).
        qr_service = qr_service_of(unit)
        return await unit.read(lambda: qr_service.issue_or_reuse(principal.subject_id, unit.container.qr_cache))

    # Its unit only reads: the scan's two rows go in a short transaction of their own, batched with other counters'
    # scans (`Container.record_scan`), so scans never queue on a write lock for their reads; it waits for its batch
    # on the event loop, without a worker thread of its own.
    @post("/verify/qr", status_code=HTTP_200_OK, opt=OWN_WRITES)
    async def verify(self, principal: Principal, unit: UnitOfWork, data: QrVerifyRequest) -> QrVerification:
        """Officers only. Always 200: `valid: true` with the minimal citizen data and a `presence_id`,
        or `valid: false` with a `reason`."""
        qr_service = qr_service_of(unit)
        checked = await unit.read(lambda: qr_service.check(data.token, principal))
        if isinstance(checked, QrInvalid):
            return checked
        return checked.answer(await unit.container.record_scan(checked.write))

    @get("/me/access-log", sync_to_thread=True)
    def access_log(
        self,
        principal: Principal,
        audit_service: AuditService,
        *,
        limit: int | None = LIMIT,
        cursor: str | None = CURSOR,
        agency: str | None = Parameter(
            default=None, min_length=1, max_length=64, description="only the entries of this actor (`actor.code`)"
        ),
        since: datetime | None = _SINCE,
        until: datetime | None = _UNTIL,
    ) -> AccessLogPage:
        """Who accessed the citizen's data, newest first; paginated like every list (`items`, `next_cursor`).
        The optional filters narrow it; give the same ones again with `cursor` for the next page."""
        if naive := _naive_bounds(since=since, until=until):
            extra = [{"key": name, "message": "needs its UTC offset (RFC 3339)"} for name in naive]
            raise ValidationException(detail="a time without its UTC offset", extra=extra)
        items, next_cursor = audit_service.access_log(
            principal.subject_id, limit=limit, cursor=page_cursor(cursor), agency=agency, since=since, until=until
        )
        return AccessLogPage(items=items, next_cursor=next_cursor)


def _naive_bounds(**bounds: datetime | None) -> list[str]:
    """The names of the bounds given without a time zone (which day they mean would depend on the server's)."""
    return [name for name, at in bounds.items() if at is not None and at.tzinfo is None]
