"""Which problem answers each API operation can give, beyond its success: the one table the published OpenAPI
schema is completed from (api/openapi_truth.py). The general rules (401/403 from the route policy, 400/413/422 for
bodies, 404 for ids, 503 for outages) are applied to every operation; the domain errors each service raises on top
of them are listed here per route, with the status api/errors.py gives them."""

from __future__ import annotations

PIN_PATTERN = "^[0-9]{6}$"

# Problem `code`s of each status, as clients read them (api/errors.py); the schema names them in its descriptions.
CODES_OF: dict[int, str] = {
    400: "malformed_request, invalid_cursor or another domain code",
    401: "unauthenticated, invalid_token, session_expired, invalid_credentials, otp_invalid…",
    403: "forbidden, insufficient_scope, fresh_factor_required, consent_required, assurance_required…",
    404: "not_found or the resource's own (document_not_found, application_not_found…)",
    409: "a conflict with the resource's state (already_rated, invalid_status_transition, too_many_documents…)",
    413: "payload_too_large, file_too_large, quota_exceeded, too_many_parts, text_part_too_large…",
    415: "unsupported_media_type or unsupported_file_type",
    422: "validation_failed (with `errors`) or the domain's own (application_incomplete, consent_invalid…)",
    429: "rate_limited (with Retry-After)",
    431: "headers_too_large",
    502: "document_corrupted: a stored paper failed its integrity check",
    503: "database_unavailable, storage_unavailable or eid_unavailable (with Retry-After)",
}

# Routes whose callers are throttled per address, account or client (identity's and assurance's throttles).
THROTTLED: frozenset[tuple[str, str]] = frozenset(
    {
        ("POST", "/api/v1/auth/register"),
        ("POST", "/api/v1/auth/login"),
        ("POST", "/api/v1/auth/otp/verify"),
        ("POST", "/api/v1/auth/otp/send"),
        ("POST", "/api/v1/auth/refresh"),
        ("POST", "/api/v1/auth/recover/complete"),
        ("POST", "/api/v1/auth/totp/enroll"),
        ("POST", "/api/v1/auth/totp/confirm"),
        ("DELETE", "/api/v1/auth/totp"),
        ("DELETE", "/api/v1/me"),
        ("POST", "/api/v1/oauth/token"),
        ("POST", "/api/v1/identity/recoveries"),
        ("POST", "/api/v1/auth/eid/exchange"),
        ("GET", "/api/v1/auth/eid/start"),
        ("GET", "/api/v1/auth/eid/callback"),
    }
)

_V1 = "/api/v1"

# Domain errors per route (method, path template) → the statuses they answer, beyond the general rules.
DOMAIN: dict[tuple[str, str], tuple[int, ...]] = {
    ("POST", f"{_V1}/auth/login"): (401,),
    ("POST", f"{_V1}/auth/otp/verify"): (401,),
    ("POST", f"{_V1}/auth/refresh"): (401,),
    ("POST", f"{_V1}/auth/recover/complete"): (401, 409),
    ("POST", f"{_V1}/auth/otp/send"): (409,),
    ("POST", f"{_V1}/auth/totp/enroll"): (401, 409),
    ("POST", f"{_V1}/auth/totp/confirm"): (401, 409),
    ("DELETE", f"{_V1}/auth/totp"): (401, 409),
    ("GET", f"{_V1}/auth/eid/start"): (404, 503),
    ("GET", f"{_V1}/auth/eid/callback"): (401, 403, 404, 409, 503),
    ("POST", f"{_V1}/auth/eid/exchange"): (401, 403, 404, 409, 503),
    ("POST", f"{_V1}/oauth/token"): (401,),
    ("DELETE", f"{_V1}/me"): (401,),
    ("POST", f"{_V1}/documents"): (409, 415, 502),
    ("PUT", f"{_V1}/documents/{{document_id}}"): (409, 415, 502),
    ("DELETE", f"{_V1}/documents/{{document_id}}"): (409,),
    ("GET", f"{_V1}/documents/{{document_id}}/files/{{file_id}}"): (502,),
    ("GET", f"{_V1}/documents/{{document_id}}/qr"): (409,),
    ("POST", f"{_V1}/applications"): (404, 409),
    ("PATCH", f"{_V1}/applications/{{application_id}}"): (409,),
    ("DELETE", f"{_V1}/applications/{{application_id}}"): (409,),
    ("POST", f"{_V1}/applications/{{application_id}}/documents"): (409,),
    ("POST", f"{_V1}/applications/{{application_id}}/refresh"): (409,),
    ("POST", f"{_V1}/applications/{{application_id}}/submit"): (409,),
    ("POST", f"{_V1}/applications/{{application_id}}/rating"): (409,),
    ("POST", f"{_V1}/me/consent-requests/{{request_id}}/approve"): (409,),
    ("POST", f"{_V1}/me/consent-requests/{{request_id}}/deny"): (409,),
    ("POST", f"{_V1}/me/consents/{{consent_id}}/revoke"): (409,),
    ("POST", f"{_V1}/consent-requests"): (404, 409),
    ("GET", f"{_V1}/consents/{{consent_id}}/documents"): (409,),
    ("GET", f"{_V1}/consents/{{consent_id}}/documents/{{document_id}}/files/{{file_id}}"): (409, 502),
    ("POST", f"{_V1}/agency/applications/{{application_id}}/status"): (409,),
    ("POST", f"{_V1}/agency/applications/{{application_id}}/result"): (409, 415),
    ("GET", f"{_V1}/agency/applications/{{application_id}}/documents/{{document_id}}/files/{{file_id}}"): (502,),
    ("POST", f"{_V1}/agency/counter-dossiers"): (404, 409),
    ("POST", f"{_V1}/identity/proofings"): (404, 409),
    ("POST", f"{_V1}/identity/recoveries"): (404, 409),
    ("POST", f"{_V1}/issuer/documents"): (404, 409, 415),
    ("POST", f"{_V1}/issuer/documents/{{document_id}}/revoke"): (409,),
}

# Request-body properties whose constraint a validator enforces, which the model's signature does not show.
PATTERNS: dict[tuple[str, str], str] = {
    ("RegisterRequest", "pin"): PIN_PATTERN,
    ("RecoveryComplete", "pin"): PIN_PATTERN,
}

# OpenAPI links from an operation's success to the operations that read or change what it made, so clients (and
# stateful fuzzing) can follow them: (method, path, status) → [(target method, target path, parameter, expression)].
_DOC, _APP = f"{_V1}/documents/{{document_id}}", f"{_V1}/applications/{{application_id}}"
LINKS: dict[tuple[str, str, str], list[tuple[str, str, str, str]]] = {
    ("POST", f"{_V1}/documents", "201"): [
        ("GET", _DOC, "document_id", "$response.body#/id"),
        ("GET", f"{_DOC}/versions", "document_id", "$response.body#/id"),
        ("PUT", _DOC, "document_id", "$response.body#/id"),
        ("DELETE", _DOC, "document_id", "$response.body#/id"),
    ],
    ("POST", f"{_V1}/applications", "201"): [
        ("GET", _APP, "application_id", "$response.body#/id"),
        ("PATCH", _APP, "application_id", "$response.body#/id"),
        ("POST", f"{_APP}/submit", "application_id", "$response.body#/id"),
        ("DELETE", _APP, "application_id", "$response.body#/id"),
    ],
}
