"""CSRF for the pages' file uploads. Litestar's CSRF middleware reads a multipart body whole into memory to find the
token, so upload routes opt out of it (`UPLOAD_OPT`) and stream the body through `api.uploads`; their form carries
`_csrf_token` as its first part, and `csrf_gate` checks it, with the middleware's own check and secret, before any
file part is handed over."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from litestar import Request
from litestar.exceptions import PermissionDeniedException
from litestar.middleware.csrf import CSRFMiddleware
from litestar.utils.scope.state import ScopeState

from api.multipart import StreamedForm
from api.uploads import upload_new
from wallet.catalog import DocumentType
from web.paper_forms import wallet_fields

CSRF_FIELD = "_csrf_token"
UPLOAD_OPT = {"exclude_from_csrf": True}  # the key of `CSRFConfig.exclude_from_csrf_key`


@dataclass
class CsrfGate:
    """Refuses the form (403) unless its token matches the cookie; once passed, the page may render forms again."""

    request: Request[Any, Any, Any]
    passed: bool = False
    # The form as far as it was read (its text fields come before its files): kept to show it again on a refusal.
    form: StreamedForm | None = None

    def __call__(self, form: StreamedForm) -> None:
        config = self.request.app.csrf_config
        if config is None:
            raise PermissionDeniedException("CSRF is not configured")
        token, cookie = form.fields.get(CSRF_FIELD), self.request.cookies.get(config.cookie_name)
        checker = CSRFMiddleware(self.request.app, config)  # its own comparison of two signed tokens, not a copy
        if not token or not cookie or not checker._csrf_tokens_match(token, cookie):
            raise PermissionDeniedException("CSRF token verification failed")
        # What the middleware records for a checked request: a page rendered in answer carries the same token.
        ScopeState.from_scope(self.request.scope).csrf_token = token
        self.passed, self.form = True, form


def csrf_gate(request: Request[Any, Any, Any]) -> CsrfGate:
    """A `Gate` for `api.uploads`; `.passed` tells whether the token was checked."""
    return CsrfGate(request)


async def upload_paper(request: Request[Any, Any, Any], citizen_id: str, paper: DocumentType, gate: CsrfGate) -> Any:
    """A new paper of `paper`'s type from a page's form (its fields by name, its scans in `file`): the API's upload
    pipeline, behind the form's CSRF gate; an empty file input is no file."""
    return await upload_new(
        request,
        citizen_id,
        type_of=lambda _form: paper.code,
        fields_of=lambda form: wallet_fields(paper, form),
        gate=gate,
        skip_empty_files=True,
    )
