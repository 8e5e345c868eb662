"""Papers an agency issues into a citizen's wallet: sealed like any paper, read-only to the citizen, and
attested by a signed JWS (see `wallet.attestations`) whose QR anyone can check; revocable by the issuer.

Issuing runs in three steps so a scan never sits in a database transaction: `prepare` (checks, in a
read transaction), the file streamed into the blob store through the pending-record protocol of
`Draft`, then `commit` (document, version and attestation, in one write transaction). `issue` runs them.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, TypeVar

import anyio
from sqlmodel import Session

from audit.service import Actor, AuditService
from crypto.compact_jws import b64url_decode
from crypto.derive import BlindIndex
from crypto.tokens import IssuedToken, TokenSigner
from storage.db import queued_writer, read_only, transaction
from wallet.attestations import (
    ATTESTATION_TYP,
    ELLIPSIS,
    MAX_QR_VERSION,
    VERIFY_AUDIENCE,
    AttestationRepository,
    fields_hash,
    file_hash,
    qr_version,
    requester_hash,
    verification_url,
)
from wallet.catalog import Holder, document_type, valid_until, validate_fields
from wallet.errors import CitizenNotFound, DocumentNotFound, FieldsInvalid, TooManyDocuments
from wallet.issued_rows import Row, insert, paper_rows, recipient, row
from wallet.issuer_schemas import IssuedDocument, IssueDocumentCreate, RevokedDocument
from wallet.models import Attestation, Document
from wallet.schemas import VerificationPublic
from wallet.service import Draft, WalletDeps, WalletService

T = TypeVar("T")

# Receiving issuer-signed papers needs identity level 2 (below it they are held).
LEVEL_TO_RECEIVE = 2
# Papers without an end of validity get tokens this long-lived; signing keys must outlive them.
NO_EXPIRY_HORIZON = timedelta(days=3653)
_CHUNK = 1024 * 1024


@dataclass(frozen=True)
class IssuingDeps:
    """Long-lived collaborators of issuing and verifying."""

    signer: TokenSigner
    requester_index: BlindIndex  # keyed hash of the requester's national ID for attestations
    citizen_index: BlindIndex  # identity's lookup index of national IDs
    holder_of: Callable[[str], Holder]  # a citizen's identity, to check their own CCCD number
    horizon: timedelta = NO_EXPIRY_HORIZON
    # Tells a level-1 citizen that a paper waits for them (in the issuing transaction); returns outbox ids.
    on_held: Callable[[Session, str], list[str]] | None = None
    # Delivers queued notices right after the commit (the periodic dispatcher retries whatever fails).
    dispatch: Callable[[list[str]], Awaitable[object]] | None = None


@dataclass(frozen=True)
class IssueRequest:
    agency_code: str
    national_id: str
    type: str
    fields: Mapping[str, object]
    file: tuple[str | None, bytes] | None = None  # (filename, content)
    dossier_code: str | None = None
    procedure_code: str | None = None
    person: str | None = None  # the officer who issued it for the agency, named in the citizen's access log

    @classmethod
    def from_create(cls, agency_code: str, body: IssueDocumentCreate) -> IssueRequest:
        upload = (body.file.filename, body.file.content()) if body.file else None
        return cls(
            agency_code, body.national_id, body.type, body.fields, upload, body.dossier_code, body.procedure_code
        )


@dataclass
class PreparedIssue:
    request: IssueRequest
    citizen_id: str
    clean: dict[str, object]
    document_name: str
    procedure_code: str | None
    valid_until: date | None
    draft: Draft
    issuer_name: str  # the agency's name, for the citizen's access log
    held: bool = False  # the citizen is below identity level 2: the paper waits, out of sight
    outbox_ids: list[str] = field(default_factory=list)
    signed: tuple[IssuedToken, str] | None = None  # the attestation and the requester's hash, once signed


class IssuerService:
    """Issues and revokes agencies' papers. Never commits: the caller owns the transaction."""

    def __init__(self, session: Session, deps: WalletDeps, issuing: IssuingDeps) -> None:
        self._session = session
        self._deps = deps
        self._issuing = issuing
        self._attestations = AttestationRepository(session)

    def prepare(self, request: IssueRequest) -> PreparedIssue:
        """Find the citizen, check the paper, open a draft; writes nothing."""
        # The agency's name is read here, in the transaction that prepares: the writing one must never wait for a
        # second connection while it holds SQLite's write lock, or every writer queued behind it can hold the rest
        # of the pool and wait for that lock until the busy timeout.
        found = recipient(self._session, self._issuing.citizen_index(request.national_id), request.agency_code)
        if found is None:
            raise CitizenNotFound()
        doc_type = document_type(request.type)
        holder = self._issuing.holder_of(found.citizen_id) if doc_type.code == "cccd" else None
        clean = validate_fields(doc_type.code, request.fields, holder=holder)
        until = valid_until(doc_type.code, clean)
        if until is not None and until < self._deps.clock.now().date():
            raise FieldsInvalid({doc_type.expiry_field or "valid_until": ["the paper has already expired"]})
        if found.documents >= self._deps.config.max_documents:
            raise TooManyDocuments()  # refused before any byte streams in
        title = clean.get("title")
        return PreparedIssue(
            request=request,
            citizen_id=found.citizen_id,
            clean=clean,
            document_name=title if isinstance(title, str) and title else doc_type.name_vi,
            procedure_code=_procedure_code(request, clean),
            valid_until=until,
            draft=WalletService(self._session, self._deps).draft_new(found.citizen_id),
            issuer_name=found.issuer_name or request.agency_code,
            held=found.assurance < LEVEL_TO_RECEIVE,
        )

    def commit(self, prepared: PreparedIssue) -> IssuedDocument:
        """Store the document and its signed attestation."""
        request, draft = prepared.request, prepared.draft
        rows = paper_rows(
            draft,
            type_code=request.type,
            clean=prepared.clean,
            issuer_code=request.agency_code,
            held=prepared.held,
            now=self._deps.clock.now(),
        )
        issued, requester = self._sign(prepared)
        insert(self._session, [*rows, _attestation(prepared, issued, requester)])
        # The agency wrote into the citizen's data: the citizen sees it in their access log. A held paper is logged
        # without its id, so a level-1 holder learns only that something waits, never what.
        issuer = Actor("agency", request.agency_code, prepared.issuer_name, request.person)
        action, logged_id = ("issuer_push_held", None) if prepared.held else ("issuer_push", draft.document_id)
        AuditService(self._session, self._deps.clock).record(prepared.citizen_id, issuer, action, document_id=logged_id)
        if prepared.held and self._issuing.on_held is not None:
            prepared.outbox_ids.extend(self._issuing.on_held(self._session, prepared.citizen_id))
        url = verification_url(self._deps.verify_url, issued.token)
        return IssuedDocument(id=draft.document_id, verification=VerificationPublic(token=issued.token, url=url))

    def revoke(self, agency_code: str, document_id: str) -> RevokedDocument:
        """Revoke every attestation of a paper the agency issued (even one the citizen deleted); idempotent.
        Another agency's paper, or no such paper, is `DocumentNotFound`."""
        attestations = self._attestations.of_document(document_id)
        if not attestations or any(a.issuer_code != agency_code for a in attestations):
            raise DocumentNotFound()
        now = self._deps.clock.now()
        for attestation in attestations:
            attestation.revoked_at = attestation.revoked_at or now
            self._session.add(attestation)
        document = self._session.get(Document, document_id)
        if document is not None and document.revoked_at is None:
            document.revoked_at = now
            self._session.add(document)
        self._session.flush()
        return RevokedDocument(id=document_id)

    def _sign(self, prepared: PreparedIssue) -> tuple[IssuedToken, str]:
        if prepared.signed is None:
            prepared.signed = sign_attestation(self._deps, self._issuing, prepared)
        return prepared.signed


def sign_attestation(deps: WalletDeps, issuing: IssuingDeps, prepared: PreparedIssue) -> tuple[IssuedToken, str]:
    """The attestation token and the requester's hash; the paper's name shortened only if the URL would not fit
    the QR. Needs no database: `issue` signs before its writing transaction, which then holds SQLite's lock less."""
    request, draft = prepared.request, prepared.draft
    requester = requester_hash(issuing.requester_index(request.national_id))
    claims: dict[str, Any] = {
        "ver": draft.version,
        "fh": fields_hash(prepared.clean),
        "sys": f"congdanso:{request.agency_code}",
    }
    if draft.stored:
        claims["sha"] = file_hash(draft.stored[0].sha256)
    optional = {"dossier": request.dossier_code, "proc": prepared.procedure_code, "vu": prepared.valid_until}
    claims |= {key: str(value) for key, value in optional.items() if value is not None}
    ttl = _ttl(deps, issuing, prepared.valid_until)

    def sign(name: str) -> IssuedToken:
        signed = claims | {"name": name}
        return issuing.signer.issue(
            typ=ATTESTATION_TYP, audience=VERIFY_AUDIENCE, subject=requester, ttl=ttl, claims=signed
        )

    return fit_to_qr(prepared.document_name, sign, deps.verify_url), requester


def _attestation(prepared: PreparedIssue, issued: IssuedToken, requester: str) -> Row:
    request, draft = prepared.request, prepared.draft
    header, payload = (json.loads(b64url_decode(part)) for part in issued.token.split(".")[:2])  # signed just now
    return row(
        Attestation,
        id=issued.jti,
        document_id=draft.document_id,
        version=draft.version,
        citizen_id=prepared.citizen_id,
        type=request.type,
        issuer_code=request.agency_code,
        kid=str(header["kid"]),
        procedure_code=prepared.procedure_code,
        dossier_code=request.dossier_code,
        document_name=prepared.document_name,
        requester_hash=requester,
        issued_at=datetime.fromtimestamp(int(payload["iat"]), tz=UTC),
        valid_until=prepared.valid_until,
        revoked_at=None,
        token=issued.token,
    )


def _ttl(deps: WalletDeps, issuing: IssuingDeps, until: date | None) -> timedelta:
    now = deps.clock.now()
    if until is None:
        return issuing.horizon
    return datetime.combine(until + timedelta(days=1), time(0), tzinfo=UTC) - now


def _procedure_code(request: IssueRequest, clean: Mapping[str, object]) -> str | None:
    from_fields = clean.get("procedure_code")
    if isinstance(from_fields, str) and from_fields:
        if request.procedure_code is not None and request.procedure_code != from_fields:
            raise FieldsInvalid({"procedure_code": ["must match fields.procedure_code"]})
        return from_fields
    return request.procedure_code


def fit_to_qr(name: str, sign: Callable[[str], IssuedToken], base_url: str) -> IssuedToken:
    """Sign with the whole name if the verification URL fits a QR of MAX_QR_VERSION; otherwise with the
    longest prefix of it (plus "…") that fits, found by bisection."""

    def fits(issued: IssuedToken) -> bool:
        return qr_version(verification_url(base_url, issued.token)) <= MAX_QR_VERSION

    issued = sign(name)
    if fits(issued):
        return issued
    low, high = 0, len(name) - 1  # the cut that fits lies in [low, high]; 0 ("…" alone) is the fallback
    best = sign(ELLIPSIS)
    while low < high:
        middle = (low + high + 1) // 2
        candidate = sign(name[:middle].rstrip() + ELLIPSIS)
        if fits(candidate):
            low, best = middle, candidate
        else:
            high = middle - 1
    return best


async def issue(deps: WalletDeps, issuing: IssuingDeps, request: IssueRequest) -> IssuedDocument:
    """Issue a paper: checks (read transaction), the file streamed sealed into the store, then the commit;
    the stored file is undone on any failure."""

    def prepare() -> PreparedIssue:
        with transaction(read_only(deps.engine)) as session:
            return IssuerService(session, deps, issuing).prepare(request)

    def commit(prepared: PreparedIssue) -> IssuedDocument:
        prepared.signed = sign_attestation(deps, issuing, prepared)
        # Queued with the process's other SQLite writers (`storage.db.SQLITE_WRITERS`): the lock goes to the next
        # one as soon as it is free, not after SQLite's busy-handler back-off. This thread holds no unit.
        with queued_writer(deps.engine), transaction(deps.engine) as session:
            return IssuerService(session, deps, issuing).commit(prepared)

    def prepare_and_commit() -> tuple[PreparedIssue, IssuedDocument]:
        prepared = prepare()
        return prepared, commit(prepared)

    if request.file is None:
        # Nothing streams between the two transactions and no blob is left to undo: one hop to a worker thread.
        prepared, issued = await anyio.to_thread.run_sync(prepare_and_commit)
    else:
        prepared = await anyio.to_thread.run_sync(prepare)
        issued = await upload_then_commit(prepared, commit)
    if prepared.outbox_ids and issuing.dispatch is not None:
        await issuing.dispatch(prepared.outbox_ids)
    return issued


async def upload_then_commit(prepared: PreparedIssue, commit: Callable[[PreparedIssue], T]) -> T:
    """The scan streamed in, then `commit` in a worker thread; on any failure the draft (and its blobs) is discarded."""
    try:
        await _upload_file(prepared)
        return await anyio.to_thread.run_sync(commit, prepared)
    except BaseException:
        await prepared.draft.discard()
        raise


async def _upload_file(prepared: PreparedIssue) -> None:
    """Stream the issued paper's scan (if any) sealed into the store; the caller discards the draft on failure."""
    if prepared.request.file is not None:
        filename, content = prepared.request.file
        await prepared.draft.add_file("file", filename, _chunks(content))


async def _chunks(content: bytes) -> AsyncIterator[bytes]:
    view = memoryview(content)
    for start in range(0, len(view), _CHUNK):
        yield bytes(view[start : start + _CHUNK])
