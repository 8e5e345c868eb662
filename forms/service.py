"""The citizen's side of once-only e-forms: a draft pulled from the wallet, filled where something is missing,
submitted (frozen and disclosed to the procedure's agency), amended when the agency asks, and rated.

Services flush, never commit: the caller owns the transaction."""

from __future__ import annotations

import secrets
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlmodel import Session, select

from audit.service import Actor, AuditService
from forms.catalog import Procedure, validate_values
from forms.dossiers import Dossiers, EventActor, FormsDeps
from forms.errors import (
    AlreadyRated,
    AlreadySubmitted,
    ApplicationIncomplete,
    ApplicationInvalid,
    ApplicationNotEditable,
    ApplicationNotFound,
    FieldReadOnly,
    NotSubmitted,
    TooManyDrafts,
)
from forms.models import Application, ApplicationDocument
from forms.prefill import (
    Applicant,
    Sheet,
    best_by_type,
    missing_documents,
    missing_fields,
    pull,
    used_types,
    wanted_types,
)
from forms.procedure import due_after
from forms.schemas import (
    ApplicationCreate,
    ApplicationPublic,
    ApplicationSummary,
    ApplicationUpdate,
    RatingCreate,
    RatingPublic,
)
from identity.service import AuthService
from identity.sessions import Principal
from notify.service import Notifier
from wallet.schemas import DocumentPublic
from wallet.service import WalletService

EDITABLE = frozenset({"draft", "needs_info"})
CITIZEN = EventActor("citizen")
PAGE_DEFAULT = 50
PAGE_MAX = 100
_CODE_ALPHABET = "ABCDEFGHJKMNPQRSTVWXYZ23456789"  # no look-alikes: read aloud at a counter


class ApplicationService:
    """One citizen's dossiers."""

    def __init__(self, session: Session, deps: FormsDeps, notifier: Notifier) -> None:
        self._dossiers = Dossiers(session, deps, notifier)
        self._repo = self._dossiers.repo
        self._wallet = WalletService(session, deps.wallet)
        self._audit = AuditService(session, deps.wallet.clock)
        self._deps = deps
        self._session = session

    # -- drafts ---------------------------------------------------------------------------------------------
    def create(self, citizen_id: str, data: ApplicationCreate, *, actor: EventActor = CITIZEN) -> ApplicationPublic:
        """A draft with every field the wallet can fill already filled, and the papers it needs attached. `actor`:
        who began it (an officer at the counter files for the citizen)."""
        procedure = self._deps.catalog.get(data.procedure_code)
        if self._repo.draft_count(citizen_id) >= self._deps.max_drafts:
            raise TooManyDrafts()
        now = self._dossiers.now()
        application = Application(
            citizen_id=citizen_id,
            procedure_code=procedure.code,
            agency_code=procedure.agency.code,
            status="draft",
            wrapped_key=b"",
            sealed=b"",
            field_count=len(procedure.fields),
            created_at=now,
            updated_at=now,
        )
        data_key, application.wrapped_key = self._dossiers.new_key(citizen_id, application.id)
        sheet = Sheet.blank(procedure)
        self._dossiers.seal_sheet(application, sheet, data_key)
        self._repo.add(application)
        if data.fields:
            self._apply_fields(procedure, sheet, data.fields)
        self._pull_all(application, procedure, sheet)
        self._dossiers.seal_sheet(application, sheet)
        self._dossiers.record(application, "draft", actor)
        return self._dossiers.view(application, sheet)

    def get(self, citizen_id: str, application_id: str) -> ApplicationPublic:
        return self._dossiers.view(self._owned(citizen_id, application_id))

    def page(
        self, citizen_id: str, *, status: str | None, limit: int | None, cursor: str | None
    ) -> tuple[list[ApplicationSummary], str | None]:
        size = max(1, min(limit or PAGE_DEFAULT, PAGE_MAX))
        rows = list(self._repo.page_of_citizen(citizen_id, status=status, before=cursor, limit=size + 1))
        page = rows[:size]
        return [self._dossiers.summary(a) for a in page], page[-1].id if len(rows) > size else None

    def update(self, citizen_id: str, application_id: str, data: ApplicationUpdate) -> ApplicationPublic:
        """Attach chosen wallet papers, then fill the given fields (issuer-signed values stay as certified)."""
        application = self._editable(citizen_id, application_id)
        procedure = self._deps.catalog.get(application.procedure_code)
        sheet = self._dossiers.open_sheet(application)
        if data.documents:
            self._choose(application, procedure, data.documents)
            self._pull_all(application, procedure, sheet)  # the chosen papers decide what is read-only
        self._apply_fields(procedure, sheet, data.fields)
        return self._save(application, procedure, sheet)

    def refresh(self, citizen_id: str, application_id: str) -> ApplicationPublic:
        """Pull again from the wallet: papers added (or renewed) since the draft began fill what they can."""
        application = self._editable(citizen_id, application_id)
        procedure = self._deps.catalog.get(application.procedure_code)
        return self._save(application, procedure, self._dossiers.open_sheet(application))

    def check_upload(self, citizen_id: str, application_id: str, type_code: str | None = None) -> None:
        """Before a paper is uploaded into the dossier: may it be (checked again on attaching)?"""
        application = self._editable(citizen_id, application_id, lock=False)
        procedure = self._deps.catalog.get(application.procedure_code)
        if type_code is not None and type_code not in wanted_types(procedure):
            raise ApplicationInvalid({"type": [f"this procedure takes no paper of type {type_code}"]})

    def attach_uploaded(self, citizen_id: str, application_id: str, paper: DocumentPublic) -> ApplicationPublic:
        """A paper just stored in the wallet (so it is never asked again) joins the dossier."""
        application = self._editable(citizen_id, application_id)
        procedure = self._deps.catalog.get(application.procedure_code)
        if paper.type not in wanted_types(procedure):
            raise ApplicationInvalid({"type": [f"this procedure takes no paper of type {paper.type}"]})
        self._pin(application, paper, "uploaded")
        return self._save(application, procedure, self._dossiers.open_sheet(application))

    def delete_draft(self, citizen_id: str, application_id: str) -> None:
        application = self._owned(citizen_id, application_id, lock=True)
        if application.status != "draft":
            raise ApplicationNotEditable()
        self._repo.delete_application(application)

    # -- submission -----------------------------------------------------------------------------------------
    def submit(self, principal: Principal, application_id: str) -> ApplicationPublic:
        """Check completeness, freeze the values and the papers' versions, disclose them to the agency (logged in
        the citizen's access log) and notify the citizen. A dossier already submitted is refused."""
        return self.submit_for(principal.subject_id, application_id, actor=CITIZEN, login_at=principal.login_at)

    def submit_for(
        self,
        citizen_id: str,
        application_id: str,
        *,
        actor: EventActor,
        login_at: datetime | None,
        note: str | None = None,
    ) -> ApplicationPublic:
        """The submission, by the citizen or for them (an officer at the counter: `actor` and `note` say so in the
        history; no login of the citizen's to time it from)."""
        application = self._owned(citizen_id, application_id, lock=True)
        if application.status not in EDITABLE:
            raise AlreadySubmitted()
        procedure = self._deps.catalog.get(application.procedure_code)
        sheet = self._dossiers.open_sheet(application)
        papers = self._pull_all(application, procedure, sheet)
        attachments = self._repo.attachments(application.id)
        lacking_fields = missing_fields(procedure, sheet)
        lacking_papers = missing_documents(procedure, [a.type for a in attachments])
        if lacking_fields or lacking_papers:
            raise ApplicationIncomplete(lacking_fields, lacking_papers)
        now = self._dossiers.now()
        self._freeze(application, sheet, attachments, papers, now)
        if application.submitted_at is None:
            application.submitted_at, application.login_at = now, login_at
            application.dossier_code = self._dossier_code(now)
        application.due_at = due_after(now, procedure.processing_days)
        self._dossiers.seal_sheet(application, sheet)
        self._disclose(application, procedure, attachments, actor.person)
        self._dossiers.record(application, "submitted", actor, note)
        return self._dossiers.view(application, sheet)

    def rate(self, citizen_id: str, application_id: str, data: RatingCreate) -> RatingPublic:
        application = self._owned(citizen_id, application_id, lock=True)
        if application.submitted_at is None:
            raise NotSubmitted()
        if application.rating_score is not None:
            raise AlreadyRated()
        now = self._dossiers.now()
        application.rating_score, application.rated_at = data.score, now
        comment = (data.comment or "").strip() or None
        if comment:
            application.rating_comment_sealed = self._dossiers.seal_comment(application, comment)
        self._repo.add(application)
        return RatingPublic(score=data.score, comment=comment, rated_at=now)

    def erase_all(self, citizen_id: str) -> None:
        """The citizen erased their account: drafts go; submitted dossiers keep only their anonymous counters."""
        for application in self._repo.of_citizen(citizen_id):
            if application.status == "draft":
                self._repo.delete_application(application)
            else:
                self._repo.forget_content(application)

    # -- helpers --------------------------------------------------------------------------------------------
    def _owned(self, citizen_id: str, application_id: str, *, lock: bool = False) -> Application:
        if lock:
            query = select(Application).where(Application.id == application_id).with_for_update()
            self._session.exec(query).first()  # row lock on PostgreSQL; SQLite's writer lock already serialises
        application = self._repo.owned(citizen_id, application_id)
        if application is None:
            raise ApplicationNotFound()
        return application

    def _editable(self, citizen_id: str, application_id: str, *, lock: bool = True) -> Application:
        application = self._owned(citizen_id, application_id, lock=lock)
        if application.status not in EDITABLE:
            raise ApplicationNotEditable()
        return application

    def _apply_fields(self, procedure: Procedure, sheet: Sheet, values: Mapping[str, Any]) -> None:
        clean = validate_values(procedure, values)
        locked = [n for n in sheet.read_only if n in clean and clean[n] != sheet.fields.get(n)]
        if locked:
            raise FieldReadOnly(locked)
        for name, value in clean.items():
            if value is None:
                sheet.set_entered(name, None)  # a sourced field then falls back to the wallet's value
            elif not (name in sheet.provenance and value == sheet.fields.get(name)):
                sheet.set_entered(name, value)

    def _choose(self, application: Application, procedure: Procedure, choices: Mapping[str, str]) -> None:
        wanted = wanted_types(procedure)
        found = {p.id: p for p in self._wallet.current(application.citizen_id, list(choices.values()))}
        errors: dict[str, list[str]] = {}
        for type_code, document_id in choices.items():
            paper = found.get(document_id)
            if type_code not in wanted:
                errors[f"documents.{type_code}"] = ["this procedure takes no paper of this type"]
            elif paper is None or paper.type != type_code or paper.status == "revoked":
                errors[f"documents.{type_code}"] = ["no usable paper of this type with this id in your wallet"]
        if errors:
            raise ApplicationInvalid(errors)
        for document_id in choices.values():
            self._pin(application, found[document_id], "chosen")

    def _pin(self, application: Application, paper: DocumentPublic, origin: str) -> None:
        self._repo.detach(application.id, paper.type)
        self._repo.add(self._attachment(application, paper, origin))

    def _pull_all(self, application: Application, procedure: Procedure, sheet: Sheet) -> dict[str, DocumentPublic]:
        """Fill from the wallet and attach papers: pinned ones (chosen or uploaded) stay while they exist and are
        not revoked; the others follow the best paper of their type. Returns the paper used for each type."""
        papers = self._wallet.of_types(application.citizen_id, wanted_types(procedure))
        by_id = {p.id: p for p in papers}
        pinned: dict[str, DocumentPublic] = {}
        for attached in self._repo.attachments(application.id):
            paper = by_id.get(attached.document_id)
            if attached.origin != "prefill" and paper is not None and paper.status != "revoked":
                pinned[attached.type] = paper
            else:
                self._repo.detach(application.id, attached.type)
        applicant = self._applicant(application.citizen_id)
        chosen = best_by_type(papers, applicant, procedure.dependant_documents) | pinned
        pull(procedure, sheet, chosen)
        keep = set(procedure.required_documents) | used_types(procedure, sheet)
        for type_code, paper in chosen.items():
            if type_code in keep and type_code not in pinned:
                self._repo.add(self._attachment(application, paper, "prefill"))
        return chosen

    def _applicant(self, citizen_id: str) -> Applicant:
        profile = AuthService(self._session, self._deps.identity, self._dossiers.notifier).citizen_profile(citizen_id)
        return Applicant(profile.national_id, profile.full_name, profile.date_of_birth.isoformat())

    def _attachment(self, application: Application, paper: DocumentPublic, origin: str) -> ApplicationDocument:
        return ApplicationDocument(
            application_id=application.id,
            type=paper.type,
            document_id=paper.id,
            origin=origin,
            attached_at=self._dossiers.now(),
        )

    def _save(self, application: Application, procedure: Procedure, sheet: Sheet) -> ApplicationPublic:
        self._pull_all(application, procedure, sheet)
        self._dossiers.seal_sheet(application, sheet)
        application.updated_at = self._dossiers.now()
        application.revision += 1
        self._repo.add(application)
        return self._dossiers.view(application, sheet)

    def _freeze(
        self,
        application: Application,
        sheet: Sheet,
        attachments: Sequence[ApplicationDocument],
        papers: Mapping[str, DocumentPublic],
        now: datetime,
    ) -> None:
        for attached in attachments:
            attached.version = papers[attached.type].version
            self._repo.add(attached)
        began = application.created_at  # papers added to the wallet since count as uploaded, not reused
        uploaded = sum(a.origin == "uploaded" or papers[a.type].created_at > began for a in attachments)
        application.prefilled_count = len(sheet.prefilled)
        application.uploaded_count, application.reused_count = uploaded, len(attachments) - uploaded
        documents = [
            {"type": a.type, "document_id": a.document_id, "origin": a.origin, "version": a.version}
            for a in attachments
        ]
        sheet.submitted = {"fields": dict(sheet.fields), "documents": documents, "at": now.isoformat()}

    def _disclose(
        self,
        application: Application,
        procedure: Procedure,
        attachments: Sequence[ApplicationDocument],
        officer: str | None,
    ) -> None:
        """The submission hands values and papers to the agency: one access-log entry per paper, one for the form
        (naming the officer who filed it at the counter, if one did)."""
        agency = Actor("agency", procedure.agency.code, procedure.agency.name, officer)
        purpose = f"Hồ sơ {application.dossier_code}: {procedure.name}"
        record = self._audit.record
        record(application.citizen_id, agency, "dossier_submitted", purpose=purpose)
        for attached in attachments:
            record(
                application.citizen_id, agency, "dossier_submitted", document_id=attached.document_id, purpose=purpose
            )

    def _dossier_code(self, now: datetime) -> str:
        suffix = "".join(secrets.choice(_CODE_ALPHABET) for _ in range(6))
        return f"HS-{now:%Y%m%d}-{suffix}"
