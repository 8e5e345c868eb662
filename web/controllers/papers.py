"""The citizen's papers (UI.md: "Papers"): the list with each paper's type, status and expiry."""

from __future__ import annotations

from typing import Any

import anyio
from litestar import Controller, get
from litestar.response import Template

from api.deps import UnitOfWork
from identity.sessions import Principal
from wallet.catalog import document_type
from wallet.schemas import DocumentPublic
from wallet.service import WalletService
from web.i18n import pick
from web.pages import citizen_page

PAGE_SIZE = 100


def type_label(code: str) -> str:
    paper = document_type(code)
    return pick(paper.name_vi, paper.name_en)


class PapersPages(Controller):
    path = "/papers"

    @get("", sync_to_thread=False)
    async def papers(self, citizen: Principal, unit: UnitOfWork) -> Template:
        wallet = WalletService(unit.session, unit.container.wallet)

        def read() -> list[DocumentPublic]:
            items, _next = wallet.page(citizen.subject_id, type_code=None, limit=PAGE_SIZE, cursor=None)
            return items

        papers = await anyio.to_thread.run_sync(read)
        rows: list[dict[str, Any]] = [{"paper": p, "label": type_label(p.type)} for p in papers]
        return citizen_page(unit, citizen, "papers/list.html", section="/papers", rows=rows)


ROUTES = [PapersPages]
