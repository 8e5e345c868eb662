"""What an agency gets under a consent: the approved papers only, their version current at pull time, only the
consented fields (a field-restricted paper shares no files, since a scan shows every field), and only while the
consent is active. Every pull and file download is appended to the citizen's access log, naming the consent and
its purpose. Flushes, never commits."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from sqlmodel import Session

from audit.service import AuditService
from consent.callers import READ_SCOPE, AgencyCaller, agency_caller
from consent.errors import ConsentExpired, ConsentNotFound, ConsentRequired, ConsentRevoked
from consent.models import Consent
from consent.repository import ConsentRepository
from consent.schemas import SharedDocuments
from consent.service import ConsentDeps
from consent.state import settle_consent
from identity.repository import IdentityRepository
from identity.sessions import Principal
from wallet.catalog import CATALOG
from wallet.errors import DocumentNotFound, FileNotFound
from wallet.schemas import DocumentPublic
from wallet.service import Download, WalletService

PULL = "consent_pull"
FILE = "consent_file"


def restrict(document: DocumentPublic, fields: Mapping[str, Sequence[str]] | None) -> DocumentPublic:
    """The document as a consent shares it: whole, or exactly the listed fields and nothing derived from the
    others (no files, no attestation, no validity date unless the expiry field is listed)."""
    listed = fields.get(document.type) if fields else None
    if listed is None:
        return document
    expiry_field = CATALOG[document.type].expiry_field
    return document.model_copy(
        update={
            "fields": {name: document.fields.get(name) for name in listed},
            "files": [],
            "verification": None,
            "valid_until": document.valid_until if expiry_field in listed else None,
        }
    )


class ConsentPulls:
    """An agency's reads under a consent. Each checks the consent is the caller's and active now (settling an
    expiry on the way), reads, then appends to the access log last (the log's appends are serialised until the
    transaction ends, so the caller commits right after)."""

    def __init__(self, session: Session, deps: ConsentDeps) -> None:
        self._repo = ConsentRepository(session)
        self._ids = IdentityRepository(session)
        self._audit = AuditService(session, deps.identity.clock)
        self._wallet = WalletService(session, deps.wallet)
        self._deps = deps

    def documents(self, principal: Principal, consent_id: str) -> SharedDocuments:
        caller = agency_caller(self._ids, principal, READ_SCOPE)
        consent = self._usable(caller, consent_id)
        current = self._wallet.current(consent.citizen_id, consent.document_ids)
        items = [restrict(d, consent.fields) for d in current if d.type in consent.document_types]
        shared: list[str | None] = [d.id for d in items]
        for document_id in shared or [None]:  # a pull that found nothing is still an access
            self._record(consent, caller, PULL, document_id)
        return SharedDocuments(items=items)

    def file(self, principal: Principal, consent_id: str, document_id: str, file_id: str) -> Download:
        """The plan to stream one scan of an approved paper's current version (never under a field restriction)."""
        caller = agency_caller(self._ids, principal, READ_SCOPE)
        consent = self._usable(caller, consent_id)
        if document_id not in consent.document_ids:
            raise DocumentNotFound()
        found = self._wallet.current(consent.citizen_id, [document_id])
        if not found or found[0].type not in consent.document_types:
            raise DocumentNotFound()
        document = found[0]
        if consent.fields is not None and document.type in consent.fields:
            raise ConsentRequired("Sự đồng ý chỉ gồm một số trường thông tin, không gồm bản quét")
        if file_id not in {f.id for f in document.files}:
            raise FileNotFound()
        plan = self._wallet.download(consent.citizen_id, document_id, file_id)
        self._record(consent, caller, FILE, document_id)
        return plan

    def _usable(self, caller: AgencyCaller, consent_id: str) -> Consent:
        # Locked until the end of the transaction on PostgreSQL: a concurrent revocation waits for this read or
        # this read waits for it; either way nothing is shared after a revocation has committed.
        consent = self._repo.consent(consent_id, for_update=True)
        if consent is None or consent.agency_code != caller.code:
            raise ConsentNotFound()
        settle_consent(self._repo, consent, self._deps.identity.clock.now())
        if consent.status == "revoked":
            raise ConsentRevoked()
        if consent.status == "expired":
            raise ConsentExpired()
        return consent

    def _record(self, consent: Consent, caller: AgencyCaller, action: str, document_id: str | None) -> None:
        self._audit.record(
            consent.citizen_id,
            caller.audit_actor,
            action,
            document_id=document_id,
            consent_id=consent.id,
            purpose=consent.purpose,
        )
