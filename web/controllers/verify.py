"""The public check of a printed paper (UI.md "Public": `/verify`): anyone holding a result an agency issued and
signed (a bank clerk, another agency) checks it by its QR code, without signing in. The code is typed or pasted (the
bare token, or the verification address a phone's camera reads off the QR), or sent as a photo read on the server.

The verdict is `DocumentVerifier`'s, the call behind `GET /api/v1/verify/documents`, and the page shows no more than
that answer holds. The token goes into the address on purpose (a GET form): it is printed on the paper, so the check
may be bookmarked and works without JavaScript."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import anyio
from litestar import Controller, MediaType, Request, Response, get, post
from litestar.datastructures import State
from litestar.response import Template

from api.unit import UnitOfWork
from wallet.catalog import CATALOG
from wallet.issuer_schemas import AttestedDocument, DocumentVerification, VerificationReason
from wallet.verification import MAX_TOKEN_CHARS, DocumentVerifier
from web.i18n import gettext as _
from web.i18n import pick
from web.messages import N_
from web.pages import page, see_other
from web.qr_photos import PHOTO_FIELD, PHOTO_MB, PhotoRefused, qr_text_of_photo
from web.templating import local_date
from web.uploads import UPLOAD_OPT

PATH = "/verify"
TOKEN_FIELD = "token"  # noqa: S105 - the form field's name, not a secret
# Every reason `DocumentVerification` may give, in words for whoever holds the paper.
REASONS: dict[VerificationReason, str] = {
    "bad_signature": N_(
        "The signature does not match: this code was altered or was not issued through Citizen Wallet (forged)."
    ),
    "malformed": N_("This is not a Citizen Wallet verification code, or only part of it. Scan or paste it again."),
    "unknown": N_("No paper was ever issued under this code: it is not on record."),
    "revoked": N_("The issuing agency has revoked this paper: it no longer counts."),
    "expired": N_("This paper is no longer in force: its validity has ended."),
    "superseded": N_("The agency has issued a newer version of this paper: this one no longer counts."),
}


def token_of(text: str) -> str:
    """The token in what was typed or pasted: the bare token, or the `token` of the verification address the printed
    QR opens (a token never holds `?`, so only an address does)."""
    text = text.strip()
    if "?" in text:
        found = parse_qs(urlsplit(text).query).get(TOKEN_FIELD)
        if found:
            return found[0].strip()
    return text


def reason_of(result: DocumentVerification) -> str:
    document = result.document
    if result.reason == "expired" and document is not None and document.valid_until is not None:
        return _("This paper is no longer in force: its validity ended on {date}.").format(
            date=local_date(document.valid_until)
        )
    return _(REASONS[result.reason or "malformed"])


def kind_of(document: AttestedDocument) -> str:
    """The paper's type by its catalog label in the page's language (its code only if the catalog lost it)."""
    kind = CATALOG.get(document.type)
    return pick(kind.name_vi, kind.name_en) if kind else document.type


class VerifyPages(Controller):
    path = PATH

    @get("", media_type=MediaType.HTML)
    async def check(self, unit: UnitOfWork, token: str | None = None) -> Response[Any] | Template:
        if token is None:
            return _form()
        found = token_of(token)
        if not found:
            return _form(token, {TOKEN_FIELD: _("Enter the QR code, or the address it opens")})
        if len(found) > MAX_TOKEN_CHARS:
            return _form(token, {TOKEN_FIELD: _("This is far longer than a verification code. Paste only the code.")})
        if found != token:
            return _checking(found)  # an address pasted: the short address of the token alone, to keep or share
        verifier = DocumentVerifier(unit.session, unit.container.wallet, unit.container.identity.tokens)
        result = await anyio.to_thread.run_sync(verifier.verify, found)
        return _result(result)

    @post("/photo", opt=UPLOAD_OPT, request_max_body_size=None, media_type=MediaType.HTML)
    async def check_photo(self, request: Request[Any, Any, State]) -> Response[Any] | Template:
        try:
            text = await qr_text_of_photo(request)
        except PhotoRefused as refused:
            return _form(errors={PHOTO_FIELD: refused.message})
        return _checking(text)  # the check itself is the GET page (POST/redirect/GET)


def _checking(token: str) -> Response[Any]:
    return see_other(f"{PATH}?{urlencode({TOKEN_FIELD: token_of(token)})}")


def _form(value: str = "", errors: dict[str, str] | None = None) -> Template:
    status = 422 if errors else 200
    return page("verify/form.html", status=status, errors=errors or {}, value=value, max_photo_mb=PHOTO_MB)


def _result(result: DocumentVerification) -> Template:
    document = result.document
    # UI.md's names; "Valid" alone is another page's word in the merged catalogs ("Còn hiệu lực" of a paper).
    verdict = pick("Hợp lệ", "Valid") if result.valid else _("Not valid")
    return page(
        "verify/result.html",
        valid=result.valid,
        verdict=verdict,
        reason=None if result.valid else reason_of(result),
        document=document,
        kind=kind_of(document) if document else None,
    )


ROUTES = [VerifyPages]
