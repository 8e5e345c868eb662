"""Consent requests and the citizen's decisions: an agency (or its officer at the counter) asks, the citizen
approves with a fresh second factor or denies, and may revoke a consent at any time with effect at once.

Services flush, never commit: the caller owns the transaction."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import Session

from audit.service import AuditService
from consent.artefact import sign_artefact
from consent.callers import READ_SCOPE, REQUEST_SCOPE, AgencyCaller, agency_caller
from consent.errors import (
    AssuranceRequired,
    ConsentInvalid,
    ConsentNotActive,
    ConsentNotFound,
    ConsentRequestNotFound,
    ConsentRequestNotPending,
    FreshFactorNeeded,
    TooManyPendingRequests,
)
from consent.models import Consent, ConsentRequest
from consent.repository import ConsentRepository
from consent.rules import check_request, notice_text, requested_documents, sha256_hex
from consent.schemas import (
    AgencyPublic,
    ConsentApproval,
    ConsentApproved,
    ConsentGranted,
    ConsentRequestCreate,
    ConsentRequestCreated,
    ConsentRequestStatus,
    ConsentRequestView,
    ConsentStatus,
    ConsentView,
    RequestStatus,
)
from consent.state import EventActor, move_consent, move_request, settle_consent, settle_request
from identity.repository import IdentityRepository
from identity.sessions import Principal
from identity.toolkit import IdentityToolkit
from wallet.service import WalletDeps, WalletService

# (principal, code, challenge_id): raises when the code is not a fresh OTP/TOTP of the principal
FactorCheck = Callable[[Principal, str, str | None], None]

REQUEST_TTL = timedelta(days=7)
PAGE_DEFAULT = 50
PAGE_MAX = 100
_REQUEST_STATUSES: dict[str, RequestStatus] = {
    "pending": "pending",
    "approved": "approved",
    "denied": "denied",
    "expired": "expired",
}
_CONSENT_STATUSES: dict[str, ConsentStatus] = {"active": "active", "revoked": "revoked", "expired": "expired"}


LEVEL_TO_APPROVE = 2
_NOT_A_SCAN = "not a live QR scan of this citizen at your agency's counter"


@dataclass(frozen=True)
class ConsentDeps:
    """Long-lived collaborators of the consent services."""

    wallet: WalletDeps
    identity: IdentityToolkit
    request_ttl: timedelta = REQUEST_TTL
    max_pending_requests: int = 50  # live pending requests to one national ID (WALLET_MAX_PENDING_CONSENTS)


class ConsentService:
    """Requests, decisions and the citizen's lists."""

    def __init__(self, session: Session, deps: ConsentDeps, *, check_factor: FactorCheck | None = None) -> None:
        self._repo = ConsentRepository(session)
        self._ids = IdentityRepository(session)
        self._audit = AuditService(session, deps.identity.clock)
        self._wallet = WalletService(session, deps.wallet)
        self._deps = deps
        self._check_factor = check_factor

    def _now(self) -> datetime:
        return self._deps.identity.clock.now()

    # -- the agency's side --------------------------------------------------------------------------------------
    def create_request(self, principal: Principal, data: ConsentRequestCreate) -> ConsentRequestCreated:
        """File a request for one purpose. An unknown citizen gets a request like any other, never approved."""
        caller = agency_caller(self._ids, principal, REQUEST_SCOPE)
        # At the counter the officer knows the citizen by the QR they scanned (the ID shown masked): the scan says who.
        by_scan = data.national_id is None and data.presence_id is not None
        national_id = None if by_scan else (data.national_id or "").strip()
        check_request(
            national_id=national_id,
            document_types=data.document_types,
            fields=data.fields,
            purpose=data.purpose,
            valid_days=data.valid_days,
        )
        now = self._now()
        citizen_id: str | None
        if national_id is None:
            index, citizen_id = self._scanned(str(data.presence_id), caller)
        else:
            index = self._deps.identity.national_id_index(national_id)
            citizen = self._ids.citizen_by_national_id(index)
            citizen_id = citizen.id if citizen is not None and citizen.status == "active" else None
            if data.presence_id is not None:
                self._check_presence(data.presence_id, caller, citizen_id)
        if self._repo.pending_duplicate(caller.code, index, data.purpose, now):
            raise ConsentInvalid({"purpose": ["a request for this purpose is already pending; one per purpose"]})
        # Counted by the national ID's index, not the account: an ID with no account fills up the same way, so the
        # refusal says nothing about whether its holder uses the wallet.
        if self._repo.pending_count(index, now) >= self._deps.max_pending_requests:
            raise TooManyPendingRequests()
        documents = requested_documents(data.document_types, data.fields)
        at_counter = data.presence_id is not None
        notice = notice_text(
            agency_code=caller.code,
            agency_name=caller.name,
            purpose=data.purpose,
            documents=documents,
            valid_days=data.valid_days,
            at_counter=at_counter,
        )
        request = ConsentRequest(
            agency_code=caller.code,
            agency_name=caller.name,
            officer_id=caller.subject_id if caller.kind == "officer" else None,
            citizen_id=citizen_id,
            national_id_index=index,
            purpose=data.purpose,
            document_types=list(data.document_types),
            fields={t: list(f) for t, f in data.fields.items()} if data.fields is not None else None,
            valid_days=data.valid_days,
            presence_id=data.presence_id,
            collection_method="counter" if at_counter else "app",
            notice=notice,
            notice_sha256=sha256_hex(notice),
            status="pending",
            created_at=now,
            expires_at=now + self._deps.request_ttl,
        )
        move_request(self._repo, request, "pending", actor=caller.event_actor, at=now, new=True)
        return ConsentRequestCreated(id=request.id)

    def _check_presence(self, presence_id: str, caller: AgencyCaller, citizen_id: str | None) -> None:
        presence = self._audit.presence(presence_id)
        if presence is None or presence.agency_code != caller.code or presence.citizen_id != citizen_id:
            raise ConsentInvalid({"presence_id": [_NOT_A_SCAN]})

    def _scanned(self, presence_id: str, caller: AgencyCaller) -> tuple[str, str]:
        """(national ID index, citizen id) of the citizen a live scan at the caller's counter names."""
        presence = self._audit.presence(presence_id)
        citizen = self._ids.citizen(presence.citizen_id) if presence is not None else None
        if presence is None or presence.agency_code != caller.code or citizen is None or citizen.status != "active":
            raise ConsentInvalid({"presence_id": [_NOT_A_SCAN]})
        return citizen.national_id_index, citizen.id

    def request_status(self, principal: Principal, request_id: str) -> ConsentRequestStatus:
        caller = agency_caller(self._ids, principal, REQUEST_SCOPE, READ_SCOPE)
        request = self._repo.request(request_id, for_update=True)
        if request is None or request.agency_code != caller.code:
            raise ConsentRequestNotFound()
        settle_request(self._repo, request, self._now())
        return ConsentRequestStatus(id=request.id, status=_request_status(request), consent_id=request.consent_id)

    # -- the citizen's side -------------------------------------------------------------------------------------
    def requests_of(
        self, citizen_id: str, *, status: str | None, limit: int | None, cursor: str | None
    ) -> tuple[list[ConsentRequestView], str | None]:
        now = self._now()
        for due in self._repo.due_requests(citizen_id, now):
            settle_request(self._repo, due, now)
        size = _page_size(limit)
        rows = list(self._repo.requests_of(citizen_id, status=status, before=cursor, limit=size + 1))
        page = rows[:size]
        return [_request_view(r) for r in page], page[-1].id if len(rows) > size else None

    def request_of(self, citizen_id: str, request_id: str) -> ConsentRequestView:
        request = self._citizens_request(citizen_id, request_id)
        settle_request(self._repo, request, self._now())
        return _request_view(request)

    def approve(self, principal: Principal, request_id: str, data: ConsentApproval) -> ConsentApproved:
        """Turn a pending request into a consent and its signed artefact, after a fresh second factor."""
        citizen_id = principal.subject_id
        request = self._pending(citizen_id, request_id)
        citizen = self._ids.citizen(citizen_id)
        if citizen is None:
            raise ConsentRequestNotFound()
        # Only a person proofed as the ID's holder may give its papers away (a level-1 account may be anyone's).
        if citizen.assurance < LEVEL_TO_APPROVE:
            raise AssuranceRequired()
        document_ids = self._documents_to_share(citizen_id, request.document_types, data.document_ids)
        self._require_fresh_factor(principal, data)
        now = self._now()
        consent = Consent(
            request_id=request.id,
            citizen_id=citizen_id,
            agency_code=request.agency_code,
            agency_name=request.agency_name,
            purpose=request.purpose,
            document_types=list(request.document_types),
            fields=request.fields,
            document_ids=document_ids,
            collection_method=request.collection_method,
            notice_sha256=request.notice_sha256,
            status="active",
            created_at=now,
            # whole seconds, so the artefact's `exp` is exactly the end of validity
            valid_until=now.replace(microsecond=0) + timedelta(days=request.valid_days),
            artefact="",
            kid="",
        )
        signer = self._deps.identity.tokens
        consent.artefact, consent.kid = sign_artefact(signer, consent, principal_id=citizen.qr_id, now=now)
        actor = EventActor("citizen", citizen_id)
        move_consent(self._repo, consent, "active", actor=actor, at=now, new=True)
        request.consent_id, request.decided_at = consent.id, now
        move_request(self._repo, request, "approved", actor=actor, at=now)
        granted = ConsentGranted(id=consent.id, artefact=consent.artefact, valid_until=consent.valid_until)
        return ConsentApproved(consent=granted)

    def deny(self, citizen_id: str, request_id: str) -> ConsentRequestView:
        request = self._pending(citizen_id, request_id)
        request.decided_at = self._now()
        move_request(self._repo, request, "denied", actor=EventActor("citizen", citizen_id), at=request.decided_at)
        return _request_view(request)

    def consents_of(
        self, citizen_id: str, *, limit: int | None, cursor: str | None
    ) -> tuple[list[ConsentView], str | None]:
        now = self._now()
        for due in self._repo.due_consents(citizen_id, now):
            settle_consent(self._repo, due, now)
        size = _page_size(limit)
        rows = list(self._repo.consents_of(citizen_id, before=cursor, limit=size + 1))
        page = rows[:size]
        return [_consent_view(c) for c in page], page[-1].id if len(rows) > size else None

    def revoke(self, citizen_id: str, consent_id: str) -> ConsentView:
        """Withdraw a consent; the agency's very next pull is refused. Revoking twice is harmless."""
        consent = self._repo.consent(consent_id, for_update=True)
        if consent is None or consent.citizen_id != citizen_id:
            raise ConsentNotFound()
        now = self._now()
        settle_consent(self._repo, consent, now)
        if consent.status == "expired":
            raise ConsentNotActive("Sự đồng ý đã hết hạn; không cần rút lại")
        if consent.status == "active":
            consent.revoked_at = now
            move_consent(self._repo, consent, "revoked", actor=EventActor("citizen", citizen_id), at=now)
        return _consent_view(consent)

    def withdraw_all(self, citizen_id: str) -> None:
        """On the citizen's erasure: every active consent revoked and every pending request denied, by them."""
        now, actor = self._now(), EventActor("citizen", citizen_id)
        for consent in self._repo.active_consents_of(citizen_id):
            settle_consent(self._repo, consent, now)
            if consent.status == "active":
                consent.revoked_at = now
                move_consent(self._repo, consent, "revoked", actor=actor, at=now)
        for request in self._repo.pending_requests_of(citizen_id):
            settle_request(self._repo, request, now)
            if request.status == "pending":
                request.decided_at = now
                move_request(self._repo, request, "denied", actor=actor, at=now)

    # -- helpers ------------------------------------------------------------------------------------------------
    def _citizens_request(self, citizen_id: str, request_id: str) -> ConsentRequest:
        request = self._repo.request(request_id, for_update=True)
        if request is None or request.citizen_id is None or request.citizen_id != citizen_id:
            raise ConsentRequestNotFound()
        return request

    def _pending(self, citizen_id: str, request_id: str) -> ConsentRequest:
        request = self._citizens_request(citizen_id, request_id)
        settle_request(self._repo, request, self._now())
        if request.status != "pending":
            raise ConsentRequestNotPending(f"Yêu cầu đang ở trạng thái {request.status}")
        return request

    def _require_fresh_factor(self, principal: Principal, data: ConsentApproval) -> None:
        if data.code is not None:
            if self._check_factor is None:
                raise FreshFactorNeeded()
            self._check_factor(principal, data.code, data.challenge_id)
            return
        window = self._deps.identity.config.fresh_login
        if principal.auth_time is None or self._now() - principal.auth_time >= window:
            raise FreshFactorNeeded("Đăng nhập đã quá 5 phút: nhập mã OTP hoặc mã từ ứng dụng xác thực")

    def _documents_to_share(
        self, citizen_id: str, document_types: Sequence[str], chosen: Sequence[str] | None
    ) -> list[str]:
        """The chosen documents (each the citizen's own, of a requested type), or by default every one of the
        citizen's documents of those types that is not revoked."""
        if chosen is None:
            ids = [d.id for d in self._own_documents(citizen_id, document_types) if d.status != "revoked"]
            if not ids:
                raise ConsentInvalid({"document_ids": ["you hold no document of the requested types"]})
            return ids
        if not chosen:
            raise ConsentInvalid({"document_ids": ["choose at least one document, or deny the request"]})
        if len(set(chosen)) != len(chosen):
            raise ConsentInvalid({"document_ids": ["a document is listed more than once"]})
        found = {d.id: d for d in self._wallet.current(citizen_id, chosen)}
        problems = [f"{str(i)[:40]} is not one of your documents" for i in chosen if i not in found]
        problems += [
            f"{d.id} is a {d.type}, which this request does not ask for"
            for d in found.values()
            if d.type not in document_types
        ]
        if problems:
            raise ConsentInvalid({"document_ids": problems})
        return list(chosen)

    def _own_documents(self, citizen_id: str, document_types: Sequence[str]) -> list[_Doc]:
        out: list[_Doc] = []
        for type_code in document_types:
            cursor: str | None = None
            while True:
                views, cursor = self._wallet.page(citizen_id, type_code=type_code, limit=None, cursor=cursor)
                out += [_Doc(v.id, v.type, v.status) for v in views]
                if cursor is None:
                    break
        return out


@dataclass(frozen=True)
class _Doc:
    id: str
    type: str
    status: str


def _page_size(limit: int | None) -> int:
    return max(1, min(limit or PAGE_DEFAULT, PAGE_MAX))


def _request_status(request: ConsentRequest) -> RequestStatus:
    return _REQUEST_STATUSES[request.status]


def _request_view(request: ConsentRequest) -> ConsentRequestView:
    at_counter = request.collection_method == "counter"
    return ConsentRequestView(
        id=request.id,
        status=_request_status(request),
        agency=AgencyPublic(code=request.agency_code, name=request.agency_name),
        purpose=request.purpose,
        documents=requested_documents(request.document_types, request.fields),
        document_types=list(request.document_types),
        fields=request.fields,
        valid_days=request.valid_days,
        collection_method="counter" if at_counter else "app",
        at_counter_of=request.agency_name if at_counter else None,
        notice=request.notice,
        notice_sha256=request.notice_sha256,
        created_at=request.created_at,
        expires_at=request.expires_at,
        consent_id=request.consent_id,
    )


def _consent_view(consent: Consent) -> ConsentView:
    return ConsentView(
        id=consent.id,
        status=_CONSENT_STATUSES[consent.status],
        request_id=consent.request_id,
        agency=AgencyPublic(code=consent.agency_code, name=consent.agency_name),
        purpose=consent.purpose,
        document_types=list(consent.document_types),
        fields=consent.fields,
        document_ids=list(consent.document_ids),
        collection_method="counter" if consent.collection_method == "counter" else "app",
        created_at=consent.created_at,
        valid_until=consent.valid_until,
        revoked_at=consent.revoked_at,
        artefact=consent.artefact,
    )
