"""What the citizen's and the agency's services share: sealing a dossier, its history, its views and its notices."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from sqlmodel import Session

from crypto.aead import Context, open_sealed, seal
from crypto.errors import DecryptionError
from forms.catalog import Procedure, ProcedureCatalog
from forms.errors import ApplicationNotFound
from forms.models import Application, ApplicationDocument, ApplicationEvent
from forms.notices import status_notice
from forms.prefill import Sheet, missing_documents, missing_fields
from forms.repository import FormsRepository
from forms.schemas import (
    ActorPublic,
    AgencyPublic,
    ApplicationPublic,
    ApplicationStatus,
    ApplicationSummary,
    AttachedDocument,
    FieldProvenance,
    RatingPublic,
    ResultPublic,
    StatusEvent,
    SubmittedDossier,
)
from identity.service import AuthService
from identity.toolkit import IdentityToolkit
from notify.service import Notifier
from wallet.issuer import IssuingDeps
from wallet.service import WalletDeps

ActorType = Literal["citizen", "agency", "officer", "system"]
_STATUSES: dict[str, ApplicationStatus] = {
    "draft": "draft",
    "submitted": "submitted",
    "processing": "processing",
    "needs_info": "needs_info",
    "completed": "completed",
    "rejected": "rejected",
}
_ACTOR_TYPES: dict[str, ActorType] = {"citizen": "citizen", "agency": "agency", "officer": "officer"}


@dataclass(frozen=True)
class FormsDeps:
    """Long-lived collaborators of the forms services."""

    catalog: ProcedureCatalog
    wallet: WalletDeps
    issuing: IssuingDeps
    identity: IdentityToolkit
    max_drafts: int = 20  # drafts one citizen may hold open at once (WALLET_MAX_DRAFTS)


@dataclass(frozen=True)
class EventActor:
    type: ActorType
    code: str | None = None
    person: str | None = None  # the officer who acted, named in the citizen's access log (not in the history)


def key_name(application_id: str) -> str:
    return f"application/{application_id}"


class Dossiers:
    """Seals and opens dossiers, writes their history and notifies their citizen. Flushes, never commits."""

    def __init__(self, session: Session, deps: FormsDeps, notifier: Notifier) -> None:
        self.session = session
        self.deps = deps
        self.repo = FormsRepository(session)
        self.notifier = notifier

    def now(self) -> datetime:
        return self.deps.wallet.clock.now()

    # -- sealing ------------------------------------------------------------------------------------------------
    def new_key(self, citizen_id: str, application_id: str) -> tuple[bytes, bytes]:
        key = self.deps.wallet.keys.open_fresh(citizen_id)
        return key.new_data_key(document=key_name(application_id), version=0)

    def _data_key(self, application: Application) -> bytes:
        keys, name = self.deps.wallet.keys, key_name(application.id)
        try:
            return keys.open(application.citizen_id).unwrap_data_key(application.wrapped_key, document=name, version=0)
        except DecryptionError:
            pass  # perhaps a key another process replaced since this one cached it: once more, from the store
        try:
            key = keys.open_fresh(application.citizen_id)
            return key.unwrap_data_key(application.wrapped_key, document=name, version=0)
        except DecryptionError as exc:
            raise ApplicationNotFound() from exc

    def open_sheet(self, application: Application) -> Sheet:
        context = Context("application", citizen=application.citizen_id, document=application.id)
        try:
            return Sheet.loads(open_sealed(self._data_key(application), application.sealed, context=context))
        except DecryptionError as exc:
            raise ApplicationNotFound() from exc

    def seal_sheet(self, application: Application, sheet: Sheet, data_key: bytes | None = None) -> None:
        context = Context("application", citizen=application.citizen_id, document=application.id)
        application.sealed = seal(data_key or self._data_key(application), sheet.dumps(), context=context)

    def _seal_text(self, application: Application, text: str, item: str) -> bytes:
        context = Context("application-text", citizen=application.citizen_id, document=application.id, file=item)
        return seal(self._data_key(application), text.encode(), context=context)

    def _open_text(self, application: Application, sealed: bytes | None, item: str) -> str | None:
        if sealed is None:
            return None
        context = Context("application-text", citizen=application.citizen_id, document=application.id, file=item)
        try:
            return open_sealed(self._data_key(application), sealed, context=context).decode()
        except DecryptionError as exc:
            raise ApplicationNotFound() from exc

    def seal_comment(self, application: Application, comment: str) -> bytes:
        return self._seal_text(application, comment, "rating")

    # -- history and notices ------------------------------------------------------------------------------------
    def record(self, application: Application, status: str, actor: EventActor, note: str | None = None) -> None:
        """Move the dossier to `status`, write the history entry and notify the citizen (except for drafts)."""
        now = self.now()
        application.status, application.updated_at = status, now
        application.revision += 1
        event = ApplicationEvent(application_id=application.id, status=status, actor_type=actor.type, at=now)
        event.actor_code = actor.code
        if note:
            event.note_sealed = self._seal_text(application, note, event.id)
        self.repo.add(application, event)
        if status != "draft":
            self._notify(application, status, note)

    def _notify(self, application: Application, status: str, note: str | None) -> None:
        procedure = self.deps.catalog.get(application.procedure_code)
        profile = AuthService(self.session, self.deps.identity, self.notifier).citizen_profile(application.citizen_id)
        subject, body = status_notice(procedure, application.dossier_code or "", status, note)
        self.notifier.notify_all(
            recipient_id=application.citizen_id, phone=profile.phone, email=profile.email, subject=subject, body=body
        )

    # -- views --------------------------------------------------------------------------------------------------
    def history(self, application: Application) -> list[StatusEvent]:
        return [
            StatusEvent(
                status=_STATUSES[e.status],
                at=e.at,
                actor=ActorPublic(type=_actor_type(e.actor_type), code=e.actor_code),
                note=self._open_text(application, e.note_sealed, e.id),
            )
            for e in self.repo.events(application.id)
        ]

    def view(self, application: Application, sheet: Sheet | None = None) -> ApplicationPublic:
        procedure = self.deps.catalog.get(application.procedure_code)
        sheet = sheet or self.open_sheet(application)
        attachments = self.repo.attachments(application.id)
        read_only = set(sheet.read_only)
        return ApplicationPublic(
            **dict(self.summary(application)),
            fields=sheet.fields,
            prefilled=sheet.prefilled,
            provenance={
                name: FieldProvenance(**sheet.provenance[name], read_only=name in read_only) for name in sheet.prefilled
            },
            read_only=sorted(read_only, key=list(sheet.fields).index),
            missing_fields=missing_fields(procedure, sheet),
            attached_documents=attached_views(procedure, attachments),
            missing_documents=missing_documents(procedure, [a.type for a in attachments]),
            history=self.history(application),
            result=_result(application),
            rating=self._rating(application),
        )

    def summary(self, application: Application) -> ApplicationSummary:
        procedure = self.deps.catalog.get(application.procedure_code)
        return ApplicationSummary(
            id=application.id,
            procedure_code=procedure.code,
            procedure_name=procedure.name,
            agency=AgencyPublic(code=procedure.agency.code, name=procedure.agency.name),
            status=_STATUSES[application.status],
            dossier_code=application.dossier_code,
            created_at=application.created_at,
            updated_at=application.updated_at,
            submitted_at=application.submitted_at,
            due_at=application.due_at,
        )

    def submitted_view(self, application: Application) -> SubmittedDossier:
        procedure = self.deps.catalog.get(application.procedure_code)
        frozen = self.open_sheet(application).submitted or {"fields": {}, "documents": []}
        return SubmittedDossier(
            id=application.id,
            procedure_code=procedure.code,
            procedure_name=procedure.name,
            dossier_code=application.dossier_code,
            status=_STATUSES[application.status],
            submitted_at=application.submitted_at,
            due_at=application.due_at,
            updated_at=application.updated_at,
            fields=frozen["fields"],
            attached_documents=[AttachedDocument.model_validate(d) for d in frozen["documents"]],
            history=self.history(application),
            result=_result(application),
        )

    def _rating(self, application: Application) -> RatingPublic | None:
        if application.rating_score is None or application.rated_at is None:
            return None
        comment = self._open_text(application, application.rating_comment_sealed, "rating")
        return RatingPublic(score=application.rating_score, comment=comment, rated_at=application.rated_at)


def attached_views(procedure: Procedure, attachments: list[ApplicationDocument]) -> list[AttachedDocument]:
    order = {code: i for i, code in enumerate([*procedure.required_documents, *procedure.source_types])}
    ordered = sorted(attachments, key=lambda a: order.get(a.type, len(order)))
    return [
        AttachedDocument(type=a.type, document_id=a.document_id, origin=_origin(a.origin), version=a.version)
        for a in ordered
    ]


def _origin(origin: str) -> Literal["prefill", "chosen", "uploaded"]:
    if origin == "uploaded":
        return "uploaded"
    return "chosen" if origin == "chosen" else "prefill"


def _actor_type(kind: str) -> ActorType:
    return _ACTOR_TYPES.get(kind, "system")


def _result(application: Application) -> ResultPublic | None:
    return ResultPublic(document_id=application.result_document_id) if application.result_document_id else None
