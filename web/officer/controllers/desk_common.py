"""What the desk's pages share: running the agency's desk in a transaction of its own (a read by the agency writes
the citizen's access log, so even a GET page writes, as the API's `_logged_read` does), and the dossier's labels."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import anyio
from litestar import Request
from litestar.exceptions import NotFoundException

from api.deps import container_of
from forms.agency import AgencyDesk
from forms.errors import ApplicationNotFound
from identity.sessions import Principal
from storage.db import transaction
from wallet.catalog import document_type
from wallet.errors import UnknownDocumentType
from web.i18n import pick

T = TypeVar("T")
SECTION = "/officer/dossiers"


async def at_desk(request: Request[Any, Any, Any], officer: Principal, work: Callable[[AgencyDesk], T]) -> T:
    """`work` with the officer's desk, committed on return; a dossier not the agency's is the 404 page."""
    container = container_of(request.app.state)

    def run() -> T:
        with transaction(container.engine) as session:
            return work(AgencyDesk(session, container.forms, container.notifier(session), officer))

    try:
        return await anyio.to_thread.run_sync(run)
    except ApplicationNotFound as exc:
        raise NotFoundException() from exc


def paper_label(code: str) -> str:
    try:
        paper = document_type(code)
    except UnknownDocumentType:
        return code
    return pick(paper.name_vi, paper.name_en)
