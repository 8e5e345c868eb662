"""Public verification of an attestation: anyone holding a printed result's QR learns whether it is valid
(`active`) or `revoked`, `expired` or `superseded`, and sees only what the attestation holds."""

from __future__ import annotations

import hmac

import jwt
from sqlmodel import Session

from crypto.tokens import TokenError, TokenSigner
from wallet.attestations import ATTESTATION_TYP, VERIFY_AUDIENCE, AttestationRepository, Standing
from wallet.errors import FieldsInvalid
from wallet.issuer_schemas import AttestedDocument, DocumentVerification, VerificationReason, VerificationStatus
from wallet.schemas import IssuerPublic
from wallet.service import WalletDeps

# Far above any attestation we issue (a QR of version 25 holds under 1,000 bytes); longer input is refused unparsed.
MAX_TOKEN_CHARS = 4096
_REASONS: dict[str, VerificationReason] = {"bad_signature": "bad_signature"}


class DocumentVerifier:
    """Checks an attestation token: signature and algorithm with the keyring (any key still valid for
    verification), then its record for revocation, a newer version and the end of validity."""

    def __init__(self, session: Session, deps: WalletDeps, signer: TokenSigner) -> None:
        self._session = session
        self._deps = deps
        self._signer = signer
        self._repo = AttestationRepository(session)

    def verify(self, token: str | None) -> DocumentVerification:
        """The verdict on `token`; only its absence is an error (a bad token is an answer, `valid` false)."""
        if token is None:
            raise FieldsInvalid({"token": ["is required"]})
        token = token.strip()
        if not token or len(token) > MAX_TOKEN_CHARS:
            return _invalid("malformed")
        try:
            claims = self._signer.verify(token, typ=ATTESTATION_TYP, audience=VERIFY_AUDIENCE)
            expired = False
        except TokenError as exc:
            if exc.reason != "expired":
                return _invalid(_REASONS.get(exc.reason, "malformed"))
            # Only reported once signature, algorithm, issuer and audience have been checked.
            claims = jwt.decode(token, options={"verify_signature": False})
            expired = True
        record = self._repo.standing(str(claims.get("jti", "")))
        if record is None or not hmac.compare_digest(record.attestation.token.encode(), token.encode()):
            return _invalid("unknown")  # signed by us, but not an attestation we recorded
        status = self._status(record, expired=expired)
        return DocumentVerification(
            valid=status == "active",
            status=status,
            reason=None if status == "active" else status,
            document=_attested(record),
        )

    def _status(self, record: Standing, *, expired: bool) -> VerificationStatus:
        attestation = record.attestation
        if attestation.revoked_at is not None or record.document_revoked:
            return "revoked"
        if record.latest_version > attestation.version:
            return "superseded"
        today = self._deps.clock.now().date()
        if expired or (attestation.valid_until is not None and attestation.valid_until < today):
            return "expired"
        return "active"


def _attested(record: Standing) -> AttestedDocument:
    attestation, code = record.attestation, record.attestation.issuer_code
    return AttestedDocument(
        type=attestation.type,
        issuer=IssuerPublic(code=code, name=record.issuer_name),
        issued_at=attestation.issued_at,
        dossier_code=attestation.dossier_code,
        procedure_code=attestation.procedure_code,
        document_name=attestation.document_name,
        issuing_system=f"congdanso:{code}",
        valid_until=attestation.valid_until,
        requester_hash=attestation.requester_hash,
        version=attestation.version,
    )


def _invalid(reason: VerificationReason) -> DocumentVerification:
    return DocumentVerification(valid=False, status="invalid", reason=reason)
