"""The consent artefact: the consent record as a JWS signed with the platform key (EdDSA), verifiable offline
with `/.well-known/jwks.json`.

Its claims follow the Kantara Consent Receipt and the DEPA consent artefact: who consents (`sub`, the citizen's
pseudonymous QR id, never the national ID), to whom (the agency's code and name), for what (purpose, document
types, fields, document ids), under which law (jurisdiction, legal basis), how it was collected ("app" or
"counter"), what the citizen was shown (SHA-256 of the notice) and for how long (`iat` to `exp`). It is a JWT of
its own purpose (`typ` "consent", audience "congdanso-consent"), never accepted as any other token. The artefact
proves what was agreed; whether the consent is still active (not revoked) is the service's to say. A signing-key
rotation keeps the key in the JWKS until the last artefact it signed expires (`consent.signing_usage`)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import jwt

from consent.models import Consent
from consent.rules import LEGAL_BASIS, SENSITIVE_TYPES
from crypto.tokens import TokenSigner

CONSENT_TYP = "consent"
CONSENT_AUDIENCE = "congdanso-consent"
ARTEFACT_VERSION = "1.0"
JURISDICTION = "VN"


def artefact_claims(consent: Consent, *, issued_at: datetime) -> dict[str, Any]:
    return {
        "version": ARTEFACT_VERSION,
        "consent_id": consent.id,
        "request_id": consent.request_id,
        "jurisdiction": JURISDICTION,
        "legal_basis": LEGAL_BASIS,
        "agency": {"code": consent.agency_code, "name": consent.agency_name},
        "purpose": consent.purpose,
        "document_types": list(consent.document_types),
        "fields": consent.fields,
        "document_ids": list(consent.document_ids),
        "sensitive": any(t in SENSITIVE_TYPES for t in consent.document_types),
        "issued_at": issued_at.isoformat(),
        "valid_until": consent.valid_until.isoformat(),
        "collection_method": consent.collection_method,
        "notice_sha256": consent.notice_sha256,
    }


def sign_artefact(signer: TokenSigner, consent: Consent, *, principal_id: str, now: datetime) -> tuple[str, str]:
    """The signed artefact of `consent` and the `kid` of the key that signed it; `principal_id` is the citizen's
    pseudonymous QR id."""
    issued = signer.issue(
        typ=CONSENT_TYP,
        audience=CONSENT_AUDIENCE,
        subject=principal_id,
        ttl=consent.valid_until - now,
        claims=artefact_claims(consent, issued_at=now),
    )
    return issued.token, str(jwt.get_unverified_header(issued.token)["kid"])
