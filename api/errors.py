"""The one table from error to HTTP status, rendered as RFC 9457 problem+json with a stable `code`."""

from __future__ import annotations

from typing import Any

import structlog
from litestar import MediaType, Request, Response
from litestar.exceptions import (
    HTTPException,
    NotAuthorizedException,
    NotFoundException,
    PermissionDeniedException,
    ValidationException,
)
from litestar.status_codes import HTTP_500_INTERNAL_SERVER_ERROR
from sqlalchemy.exc import DataError, InterfaceError, InternalError, OperationalError

from api.json_guard import MalformedJson
from api.middleware import request_id_of
from api.multipart import MalformedMultipart, MultipartTooLarge
from api.pagination import InvalidCursor as PageCursorInvalid
from assurance import errors as assurance_errors
from audit import errors as audit_errors
from consent import errors as consent_errors
from forms import errors as forms_errors
from identity import errors as identity_errors
from notify.errors import InvalidCursor, NotifyError
from wallet import errors as wallet_errors
from web.app import error_page, is_page

log = structlog.get_logger("api.errors")
PROBLEM_JSON = "application/problem+json"

# Domain error class → HTTP status. Subclasses are looked up along their MRO.
STATUS_OF: dict[type[Exception], int] = {
    MalformedMultipart: 400,
    MalformedJson: 400,
    PageCursorInvalid: 400,
    MultipartTooLarge: 413,
    identity_errors.ValidationFailed: 422,
    identity_errors.AlreadyRegistered: 409,
    identity_errors.InvalidCredentials: 401,
    identity_errors.OtpInvalid: 401,
    identity_errors.OtpExpired: 401,
    identity_errors.OtpAttemptsExceeded: 401,
    identity_errors.RateLimited: 429,
    identity_errors.InvalidToken: 401,
    identity_errors.SessionExpired: 401,
    identity_errors.RefreshTokenReused: 401,
    identity_errors.Forbidden: 403,
    identity_errors.InsufficientScope: 403,
    identity_errors.TotpNotEnrolled: 409,
    identity_errors.FreshFactorRequired: 403,
    identity_errors.InvalidClient: 401,
    identity_errors.InvalidScope: 400,
    identity_errors.UnsupportedGrantType: 400,
    identity_errors.AgencyExists: 409,
    identity_errors.UnknownAgency: 404,
    identity_errors.OfficerExists: 409,
    identity_errors.IdentityError: 400,
    InvalidCursor: 400,
    NotifyError: 404,
    wallet_errors.DocumentNotFound: 404,
    wallet_errors.FileNotFound: 404,
    wallet_errors.UnknownDocumentType: 422,
    wallet_errors.FieldsInvalid: 422,
    wallet_errors.FileTooLarge: 413,
    wallet_errors.UnsupportedFileType: 415,
    wallet_errors.QuotaExceeded: 413,
    wallet_errors.TooManyDocuments: 409,
    wallet_errors.StorageUnavailable: 503,
    wallet_errors.DocumentCorrupted: 502,
    wallet_errors.IssuerSignedReadonly: 409,
    wallet_errors.DocumentInUse: 409,
    wallet_errors.FreshFactorRequired: 403,
    wallet_errors.CitizenNotFound: 404,
    wallet_errors.VerificationNotFound: 404,
    wallet_errors.MalformedBody: 400,
    wallet_errors.WalletError: 400,
    audit_errors.InvalidCursor: 400,
    audit_errors.AuditError: 400,
    consent_errors.ConsentInvalid: 422,
    consent_errors.ConsentRequestNotFound: 404,
    consent_errors.ConsentRequestNotPending: 409,
    # 409, not 429: the refusal is the state of the citizen's inbox, which clears only as the citizen answers or
    # the requests expire (days), not after a back-off; 429 would invite clients to retry on a timer. It is keyed
    # by the national ID's index, so a registered and an unregistered ID answer alike (no enumeration).
    consent_errors.TooManyPendingRequests: 409,
    consent_errors.ConsentNotFound: 404,
    consent_errors.ConsentRevoked: 403,
    consent_errors.ConsentExpired: 403,
    consent_errors.ConsentNotActive: 409,
    consent_errors.ConsentRequired: 403,
    consent_errors.AssuranceRequired: 403,
    consent_errors.FreshFactorNeeded: 403,
    consent_errors.NotPermitted: 403,
    consent_errors.ConsentError: 400,
    forms_errors.ProcedureNotFound: 404,
    forms_errors.ApplicationNotFound: 404,
    forms_errors.ApplicationInvalid: 422,
    forms_errors.FieldReadOnly: 409,
    forms_errors.ApplicationIncomplete: 422,
    forms_errors.TooManyDrafts: 409,
    forms_errors.ApplicationNotEditable: 409,
    forms_errors.AlreadySubmitted: 409,
    forms_errors.InvalidTransition: 409,
    forms_errors.NotSubmitted: 409,
    forms_errors.AlreadyRated: 409,
    forms_errors.NotPermitted: 403,
    forms_errors.FormsError: 400,
    assurance_errors.AssuranceInvalid: 422,
    assurance_errors.PresenceNotFound: 404,
    assurance_errors.CitizenUnavailable: 404,
    assurance_errors.EidNotConfigured: 404,
    assurance_errors.EidStateInvalid: 400,
    assurance_errors.EidFailed: 401,
    assurance_errors.EidLevelInsufficient: 403,
    assurance_errors.EidIdentityMismatch: 403,
    assurance_errors.EidTicketInvalid: 400,
    assurance_errors.EidUnavailable: 503,
    assurance_errors.AccountChanged: 409,
    assurance_errors.AssuranceError: 400,
}

# Framework errors get stable codes too, so clients never parse prose.
_HTTP_CODES = {
    400: ("malformed_request", "Yêu cầu không hợp lệ", "Malformed request"),
    401: ("unauthenticated", "Cần đăng nhập", "Authentication required"),
    403: ("forbidden", "Không có quyền truy cập", "Forbidden"),
    404: ("not_found", "Không tìm thấy", "Not found"),
    405: ("method_not_allowed", "Phương thức không được hỗ trợ", "Method not allowed"),
    413: ("payload_too_large", "Dữ liệu gửi lên quá lớn", "Payload too large"),
    415: ("unsupported_media_type", "Kiểu dữ liệu không được hỗ trợ", "Unsupported media type"),
    429: ("rate_limited", "Quá nhiều yêu cầu", "Too many requests"),
    431: ("headers_too_large", "Phần đầu yêu cầu quá lớn", "Request header fields too large"),
    503: ("service_unavailable", "Dịch vụ tạm thời gián đoạn", "Service unavailable"),
}

ENGLISH_TITLES = {
    "validation_failed": "Validation failed",
    "already_registered": "This national ID is already registered",
    "invalid_credentials": "Wrong national ID or PIN",
    "otp_invalid": "Wrong or already used code",
    "otp_expired": "The code has expired",
    "otp_attempts_exceeded": "Too many wrong codes; log in again",
    "rate_limited": "Too many requests; try again later",
    "invalid_token": "Invalid session",
    "session_expired": "The session has ended",
    "refresh_token_reused": "A used refresh token was presented; the session family was revoked",
    "forbidden": "You may not do this",
    "insufficient_scope": "The agency does not hold the scope this needs",
    "totp_not_enrolled": "No authenticator app enrolled",
    "invalid_client": "Unknown client or wrong secret",
    "invalid_scope": "Scope not granted to this client",
    "unsupported_grant_type": "Only client_credentials is supported",
    "notice_not_found": "Notice not found",
    "internal_error": "Internal error",
    "database_unavailable": "Database temporarily unavailable",
    "document_not_found": "Document not found",
    "file_not_found": "File not found",
    "unknown_document_type": "Unknown document type",
    "file_too_large": "File too large",
    "unsupported_file_type": "Unsupported file type (PDF, JPEG, PNG, WebP or HEIC)",
    "quota_exceeded": "Storage quota exceeded",
    "too_many_documents": "The wallet holds the most papers it may",
    "storage_unavailable": "Storage temporarily unavailable",
    "document_corrupted": "Stored document failed its integrity check",
    "issuer_signed_readonly": "Issuer-signed papers cannot be edited",
    "document_in_use": "The paper belongs to a dossier still being decided",
    "fresh_factor_required": "A fresh one-time code is required",
    "assurance_required": "Identity level 2 is required (verify at a one-stop counter or with national e-ID)",
    "presence_not_found": "No valid QR scan by this officer has this id",
    "eid_not_configured": "National e-ID login is not configured",
    "eid_state_invalid": "Unknown, used or expired e-ID login; start again",
    "eid_failed": "The national e-ID provider's answer could not be verified",
    "eid_level_insufficient": "The e-ID account is not at level 2",
    "eid_identity_mismatch": "The e-ID belongs to another personal ID number than this account",
    "eid_ticket_invalid": "Unknown, used or expired e-ID ticket",
    "eid_unavailable": "The national e-ID provider cannot be reached; try again later",
    "account_changed": "The account changed meanwhile; nothing was done, try again",
    "citizen_not_found": "No citizen account has this national ID",
    "verification_not_found": "This document has no verification QR",
    "consent_request_not_found": "Consent request not found",
    "consent_request_not_pending": "The consent request was already decided or has expired",
    "too_many_pending_requests": "The citizen has too many consent requests waiting for an answer",
    "consent_not_found": "Consent not found",
    "consent_revoked": "The citizen has revoked this consent",
    "consent_expired": "This consent has expired",
    "consent_not_active": "This consent is no longer active",
    "consent_required": "The citizen has not consented to share this",
    "procedure_not_found": "Procedure not found",
    "application_not_found": "Application not found",
    "field_read_only": "Values from issuer-signed papers cannot be changed",
    "application_incomplete": "Required fields or papers are missing",
    "too_many_drafts": "Too many draft applications: submit or delete one first",
    "application_not_editable": "The application can no longer be changed",
    "application_already_submitted": "The application was already submitted",
    "invalid_status_transition": "The application cannot move to this status",
    "application_not_submitted": "The application has not been submitted yet",
    "already_rated": "The application was already rated",
    "part_headers_too_large": "A form part's headers are too large",
    "too_many_parts": "The form has too many parts",
    "text_part_too_large": "A text field of the form is too large",
}
ENGLISH_TITLES |= {code: en for code, _vi, en in _HTTP_CODES.values()}


def _wants_english(request: Request[Any, Any, Any]) -> bool:
    return request.headers.get("accept-language", "vi").strip().lower().startswith("en")


def problem(
    request: Request[Any, Any, Any],
    *,
    status: int,
    code: str,
    title: str,
    detail: str,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> Response[dict[str, Any]]:
    if _wants_english(request):
        title = ENGLISH_TITLES.get(code, title)
    body = {"type": f"urn:congdanso:problem:{code}", "title": title, "status": status, "detail": detail}
    body |= {"code": code, "instance": request.url.path, "request_id": request_id_of(request.scope), **extra}
    return Response(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def _status_for(exc: Exception) -> int:
    for cls in type(exc).__mro__:
        if cls in STATUS_OF:
            return STATUS_OF[cls]
    return 400


def domain_error_handler(request: Request[Any, Any, Any], exc: Exception) -> Response[dict[str, Any]]:
    status = _status_for(exc)
    code: str = getattr(exc, "code", "error")
    extra: dict[str, Any] = {}
    headers: dict[str, str] = {}
    if errors := getattr(exc, "errors", None):
        extra["errors"] = [{"field": field, "messages": msgs} for field, msgs in errors.items()]
    if retry_after := getattr(exc, "retry_after", None):
        headers["Retry-After"] = str(retry_after)
    elif status == 503:
        headers["Retry-After"] = "30"
    if status == 401:
        headers["WWW-Authenticate"] = 'Bearer realm="congdanso"'
    if code in {"invalid_client", "invalid_scope", "unsupported_grant_type"}:
        extra["error"] = code  # RFC 6749 clients read this member
    title = getattr(exc, "title", "Lỗi")
    detail = str(exc)
    if detail == title and _wants_english(request):
        detail = ENGLISH_TITLES.get(code, detail)  # the default detail is the title: translate it too
    return problem(request, status=status, code=code, title=title, detail=detail, headers=headers, **extra)


def validation_handler(request: Request[Any, Any, Any], exc: ValidationException) -> Response[dict[str, Any]]:
    """Body or parameter validation: 422 with the offending fields; unparseable JSON: 400."""
    fields = _validation_fields(exc.extra)
    if not fields:
        return problem(request, status=400, code="malformed_request", title="Yêu cầu không hợp lệ", detail=exc.detail)
    errors = [{"field": name, "messages": msgs} for name, msgs in fields.items()]
    detail = "; ".join(f"{e['field']}: {', '.join(e['messages'])}" for e in errors)
    return problem(
        request, status=422, code="validation_failed", title="Dữ liệu không hợp lệ", detail=detail, errors=errors
    )


def _validation_fields(extra: Any) -> dict[str, list[str]]:
    fields: dict[str, list[str]] = {}
    for item in extra if isinstance(extra, list) else []:
        if not isinstance(item, dict):
            continue
        key = str(item.get("key") or "body")
        fields.setdefault(key, []).append(str(item.get("message", "invalid")))
    return fields


def http_error_handler(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    if is_page(request.url.path):  # an unknown page or a wrong method on one: a page, not JSON
        return error_page(request, exc)
    status = exc.status_code
    code, title, _en = _HTTP_CODES.get(status, ("http_error", "Lỗi", "Error"))
    if isinstance(exc, NotAuthorizedException):
        code = "unauthenticated"
    elif isinstance(exc, PermissionDeniedException):
        code = "forbidden"
    elif isinstance(exc, NotFoundException):
        code = "not_found"
    headers = dict(exc.headers or {})
    if status == 401:
        headers["WWW-Authenticate"] = 'Bearer realm="congdanso"'
    return problem(request, status=status, code=code, title=title, detail=exc.detail, headers=headers)


def database_unavailable_handler(request: Request[Any, Any, Any], exc: Exception) -> Response[dict[str, Any]]:
    """The database could not be reached or failed mid-request: nothing was committed."""
    log.error("database_unavailable", error=type(exc).__name__, path=request.url.path)
    return problem(
        request,
        status=503,
        code="database_unavailable",
        title="Cơ sở dữ liệu tạm thời không khả dụng",
        detail="Vui lòng thử lại sau",
        headers={"Retry-After": "30"},
    )


def database_internal_error_handler(request: Request[Any, Any, Any], exc: Exception) -> Response[dict[str, Any]]:
    """A driver-side InternalError (no SQLSTATE: the connection's protocol state broke, as psycopg reports
    "received 2 results from command 'BEGIN'" while PostgreSQL restarts) is the database being unavailable, like a
    dropped connection; one the server raised (SQLSTATE XX000) is a fault of ours."""
    if getattr(getattr(exc, "orig", None), "sqlstate", None) is None:
        return database_unavailable_handler(request, exc)
    return internal_error_handler(request, exc)


def unstorable_input_handler(request: Request[Any, Any, Any], exc: Exception) -> Response[dict[str, Any]]:
    """Input the database refuses to hold (a NUL character, an out-of-range value): the client's fault."""
    return problem(
        request,
        status=400,
        code="malformed_request",
        title="Yêu cầu không hợp lệ",
        detail="Dữ liệu chứa ký tự hoặc giá trị không thể lưu trữ",
    )


def internal_error_handler(request: Request[Any, Any, Any], exc: Exception) -> Response[dict[str, Any]]:
    log.error("unhandled_error", error=type(exc).__name__, path=request.url.path, exc_info=exc)
    return problem(
        request,
        status=HTTP_500_INTERNAL_SERVER_ERROR,
        code="internal_error",
        title="Lỗi hệ thống",
        detail="Đã xảy ra lỗi; vui lòng thử lại sau",
    )


def exception_handlers() -> dict[type[Exception] | int, Any]:
    return {
        identity_errors.IdentityError: domain_error_handler,
        wallet_errors.WalletError: domain_error_handler,
        NotifyError: domain_error_handler,
        audit_errors.AuditError: domain_error_handler,
        consent_errors.ConsentError: domain_error_handler,
        forms_errors.FormsError: domain_error_handler,
        assurance_errors.AssuranceError: domain_error_handler,
        ValidationException: validation_handler,
        HTTPException: http_error_handler,
        OperationalError: database_unavailable_handler,
        DataError: unstorable_input_handler,
        InterfaceError: database_unavailable_handler,
        InternalError: database_internal_error_handler,
        Exception: internal_error_handler,
    }


__all__ = ["PROBLEM_JSON", "MediaType", "exception_handlers", "problem"]
