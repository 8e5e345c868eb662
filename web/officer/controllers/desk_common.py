"""What the desk's pages share: running the agency's desk in the page's unit (a read by the agency writes the
citizen's access log, so even a GET page's unit writes, as the API's `_logged_read` does), and the dossier's
labels."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from litestar.exceptions import NotFoundException

from api.unit import UnitOfWork
from forms.agency import AgencyDesk
from forms.errors import ApplicationNotFound
from identity.sessions import Principal
from wallet.catalog import document_type
from wallet.errors import UnknownDocumentType
from web.i18n import pick

T = TypeVar("T")
SECTION = "/officer/dossiers"


async def at_desk(unit: UnitOfWork, officer: Principal, work: Callable[[AgencyDesk], T]) -> T:
    """`work` with the officer's desk; a dossier not the agency's is the 404 page."""

    def run() -> T:
        return work(AgencyDesk(unit.session, unit.container.forms, unit.notifier, officer))

    try:
        return await unit.attempt(run)
    except ApplicationNotFound as exc:
        raise NotFoundException() from exc


def paper_label(code: str) -> str:
    try:
        paper = document_type(code)
    except UnknownDocumentType:
        return code
    return pick(paper.name_vi, paper.name_en)
