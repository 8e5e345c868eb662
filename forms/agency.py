"""The agency's side of e-forms: its inbox, a submitted dossier and its papers (each read logged for the citizen),
and the status it moves the dossier to. Only the agency a procedure names sees that procedure's dossiers; any other
caller gets the same 404 as for a dossier that does not exist.

Services flush, never commit: the caller owns the transaction."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from sqlmodel import Session, select

from audit.service import Actor, AuditService
from forms.dossiers import Dossiers, EventActor, FormsDeps
from forms.errors import ApplicationInvalid, ApplicationNotFound, InvalidTransition, NotPermitted
from forms.models import Application
from forms.repository import FormsRepository
from forms.schemas import ApplicationSummary, StatusChange, SubmittedDossier
from identity.repository import IdentityRepository
from identity.sessions import Principal
from notify.service import Notifier
from wallet.schemas import VersionPublic
from wallet.service import Download, WalletService

# Where an agency may move a dossier (resubmission after needs_info is the citizen's move).
MOVES: dict[str, frozenset[str]] = {
    "submitted": frozenset({"processing", "needs_info", "completed", "rejected"}),
    "processing": frozenset({"needs_info", "completed", "rejected"}),
    "needs_info": frozenset({"rejected"}),
}
RESULT_FROM = frozenset({"submitted", "processing"})
DECIDED = frozenset({"completed", "rejected"})
PAGE_DEFAULT = 50
PAGE_MAX = 100


@dataclass(frozen=True)
class AgencyCaller:
    code: str
    name: str
    kind: Literal["agency", "officer"]
    person: str | None = None  # the officer's name, in the citizen's access log

    @property
    def event_actor(self) -> EventActor:
        return EventActor(self.kind, self.code)

    @property
    def audit_actor(self) -> Actor:
        return Actor(self.kind, self.code, self.name, self.person)


def dossiers_holding(session: Session, document_id: str) -> list[str]:
    """The dossiers an agency is still deciding that rely on the paper (the wallet keeps it for them)."""
    return FormsRepository(session).open_dossiers_holding(document_id, sorted(MOVES))


def acting_agency(session: Session, principal: Principal) -> AgencyCaller:
    """The active agency the caller acts for: an agency's client token, or one of its active officers."""
    ids = IdentityRepository(session)
    code, kind, person = principal.subject_id, "agency", None
    if principal.role == "officer":
        officer = ids.officer(principal.subject_id)
        if officer is None or officer.status != "active":
            raise NotPermitted()
        code, kind, person = officer.agency_code, "officer", officer.full_name
    elif principal.role != "agency":
        raise NotPermitted()
    agency = ids.agency(code)
    if agency is None or agency.status != "active":
        raise NotPermitted()
    return AgencyCaller(agency.code, agency.name, "officer" if kind == "officer" else "agency", person)


class AgencyDesk:
    """What one agency does with the dossiers of its procedures."""

    def __init__(self, session: Session, deps: FormsDeps, notifier: Notifier, principal: Principal) -> None:
        self._session = session
        self._dossiers = Dossiers(session, deps, notifier)
        self._repo = self._dossiers.repo
        self._wallet = WalletService(session, deps.wallet)
        self._audit = AuditService(session, deps.wallet.clock)
        self._deps = deps
        self.caller = acting_agency(session, principal)

    def inbox(
        self, *, status: str | None, limit: int | None, cursor: str | None
    ) -> tuple[list[ApplicationSummary], str | None]:
        """The agency's submitted dossiers, newest first; no personal data (opening one is logged)."""
        procedures = [p.code for p in self._deps.catalog.by_agency(self.caller.code)]
        size = max(1, min(limit or PAGE_DEFAULT, PAGE_MAX))
        rows = list(
            self._repo.page_of_agency(self.caller.code, procedures, status=status, before=cursor, limit=size + 1)
        )
        page = rows[:size]
        return [self._dossiers.summary(a) for a in page], page[-1].id if len(rows) > size else None

    def read(self, application_id: str) -> SubmittedDossier:
        application = self.load(application_id)
        view = self._dossiers.submitted_view(application)
        self._log(application, "dossier_read")
        return view

    def document(self, application_id: str, document_id: str) -> VersionPublic:
        """An attached paper as it was when the dossier was submitted."""
        application, version = self._frozen_paper(application_id, document_id)
        paper = self._wallet.version_of(application.citizen_id, document_id, version)
        self._log(application, "dossier_document_read", document_id)
        return paper

    def download(self, application_id: str, document_id: str, file_id: str) -> Download:
        application, version = self._frozen_paper(application_id, document_id)
        paper = self._wallet.version_of(application.citizen_id, document_id, version)
        if file_id not in {f.id for f in paper.files}:
            raise ApplicationNotFound()
        plan = self._wallet.download(application.citizen_id, document_id, file_id)
        self._log(application, "dossier_file_read", document_id)
        return plan

    def move(self, application_id: str, change: StatusChange) -> SubmittedDossier:
        application = self.load(application_id, lock=True)
        if change.status not in MOVES.get(application.status, frozenset()):
            raise InvalidTransition(f"{application.status} → {change.status}")
        note = (change.note or "").strip() or None
        if change.status == "rejected" and note is None:
            raise ApplicationInvalid({"note": ["a rejection needs its reason"]})
        self.decide(application, change.status, note)
        return self._dossiers.submitted_view(application)

    def decide(self, application: Application, status: str, note: str | None) -> None:
        if status in DECIDED:
            application.decided_at = self._dossiers.now()
        self._dossiers.record(application, status, self.caller.event_actor, note)

    def load(self, application_id: str, *, lock: bool = False) -> Application:
        if lock:
            query = select(Application).where(Application.id == application_id).with_for_update()
            self._session.exec(query).first()
        application = self._repo.application(application_id)
        if (
            application is None
            or application.agency_code != self.caller.code
            or application.status == "draft"
            or application.erased
        ):
            raise ApplicationNotFound()
        return application

    def _frozen_paper(self, application_id: str, document_id: str) -> tuple[Application, int]:
        application = self.load(application_id)
        frozen = self._dossiers.open_sheet(application).submitted or {"documents": []}
        for attached in frozen["documents"]:
            if attached["document_id"] == document_id and attached["version"] is not None:
                return application, int(attached["version"])
        raise ApplicationNotFound()

    def _log(self, application: Application, action: str, document_id: str | None = None) -> None:
        procedure = self._deps.catalog.get(application.procedure_code)
        purpose = f"Hồ sơ {application.dossier_code}: {procedure.name}"
        self._audit.record(
            application.citizen_id, self.caller.audit_actor, action, document_id=document_id, purpose=purpose
        )
