"""Public verification of issuer-signed papers, and the QR a citizen prints on them."""

from __future__ import annotations

from typing import Any

from litestar import Controller, MediaType, Request, Response, get
from litestar.datastructures import State
from litestar.openapi import ResponseSpec

from api.auth import BEARER
from api.unit import UnitOfWork
from api.verify_page import PAGE_CSP, render_verification_page
from identity.sessions import Principal
from wallet.attestations import document_qr_svg
from wallet.issuer_schemas import DocumentVerification
from wallet.service import WalletService
from wallet.verification import DocumentVerifier

SVG = "image/svg+xml"
_HTML_RESPONSE = ResponseSpec(
    data_container=DocumentVerification,
    description="JSON; a Vietnamese HTML page when the client prefers text/html (a phone camera opening the QR)",
)


class VerifyController(Controller):
    path = "/verify/documents"
    tags = ("verification",)

    @get("", security=[], responses={200: _HTML_RESPONSE})
    async def verify_document(
        self, request: Request[Any, Any, State], unit: UnitOfWork, token: str | None = None
    ) -> Response[Any]:
        container = unit.container
        result = await unit.read(
            lambda: DocumentVerifier(unit.session, container.wallet, container.identity.tokens).verify(token)
        )
        if request.accept.best_match([MediaType.JSON, MediaType.HTML], default=MediaType.JSON) == MediaType.HTML:
            return Response(
                render_verification_page(result),
                media_type="text/html; charset=utf-8",
                headers={"content-security-policy": PAGE_CSP},
            )
        return Response(result, media_type=MediaType.JSON)


class DocumentQrController(Controller):
    path = "/documents"
    security = BEARER
    tags = ("wallet",)

    @get("/{document_id:str}/qr", media_type=SVG)
    async def document_qr(self, principal: Principal, unit: UnitOfWork, document_id: str) -> str:
        wallet = WalletService(unit.session, unit.container.wallet)
        return await unit.read(lambda: document_qr_svg(wallet.get(principal.subject_id, document_id)))
