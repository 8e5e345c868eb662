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
from forms.repository import FormsRepository, OverdueAt
from forms.schemas import ApplicationSummary, FieldProvenance, StatusChange, SubmittedDossier
from identity.repository import IdentityRepository
from identity.sessions import Principal
from notify.service import Notifier
from wallet.attestations import AttestationRepository, verification_of
from wallet.schemas import VerificationPublic, VersionPublic
from wallet.service import Download, WalletService

# Where an agency may move a dossier (resubmission after needs_info is the citizen's move).
MOVES: dict[str, frozenset[str]] = {
    "submitted": frozenset({"processing", "needs_info", "completed", "rejected"}),
    "processing": frozenset({"needs_info", "completed", "rejected"}),
    "needs_info": frozenset({"rejected"}),
}
RESULT_FROM = frozenset({"submitted", "processing"})
OPEN = ("submitted", "processing")  # where the processing time runs: past `due_at`, the dossier is overdue
DECIDED = frozenset({"completed", "rejected"})
# Moves the citizen must be told the why of: the reason of a refusal, what to add to a dossier sent back.
NOTE_NEEDED = {"rejected": "a rejection needs its reason", "needs_info": "say what the citizen must add or correct"}
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
        return EventActor(self.kind, self.code, self.person)

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
        self,
        *,
        status: str | None,
        limit: int | None,
        cursor: str | None,
        procedure: str | None = None,
        overdue: bool = False,
    ) -> tuple[list[ApplicationSummary], str | None]:
        """The agency's submitted dossiers, newest first, of one status, of one of its procedures, or overdue (due
        and still submitted or processing); no personal data (opening one is logged)."""
        rows, next_cursor = self.inbox_rows(
            status=status, limit=limit, cursor=cursor, procedure=procedure, overdue=overdue
        )
        return [self._dossiers.summary(a) for a in rows], next_cursor

    def inbox_rows(
        self,
        *,
        status: str | None,
        limit: int | None,
        cursor: str | None,
        procedure: str | None = None,
        overdue: bool = False,
    ) -> tuple[list[Application], str | None]:
        procedures = [p.code for p in self._deps.catalog.by_agency(self.caller.code)]
        if procedure is not None:
            procedures = [code for code in procedures if code == procedure]
            if not procedures:  # another agency's procedure, or none: nothing of it is this agency's
                return [], None
        size = max(1, min(limit or PAGE_DEFAULT, PAGE_MAX))
        late = OverdueAt(self._dossiers.now(), OPEN) if overdue else None
        rows = list(
            self._repo.page_of_agency(
                self.caller.code, procedures, status=status, before=cursor, limit=size + 1, overdue=late
            )
        )
        page = rows[:size]
        return page, page[-1].id if len(rows) > size else None

    @property
    def session(self) -> Session:
        return self._session

    @property
    def deps(self) -> FormsDeps:
        return self._deps

    def summary(self, application: Application) -> ApplicationSummary:
        return self._dossiers.summary(application)

    def is_overdue(self, application: Application) -> bool:
        due = application.due_at
        return application.status in OPEN and due is not None and due < self._dossiers.now()

    def read(self, application_id: str) -> SubmittedDossier:
        application = self.load(application_id)
        view = self._dossiers.submitted_view(application)
        self._log(application, "dossier_read")
        return view

    def read_with_provenance(self, application_id: str) -> tuple[SubmittedDossier, dict[str, FieldProvenance]]:
        """`read`, and where each submitted value came from (a wallet paper; a value without one was typed by the
        citizen). The sheet keeps the provenance of its current values: it is given only for a value still equal
        to the submitted one (while the citizen amends a dossier sent back, an edited value has none)."""
        application = self.load(application_id)
        sheet = self._dossiers.open_sheet(application)
        view = self._dossiers.submitted_view(application)
        self._log(application, "dossier_read")
        provenance = {
            name: FieldProvenance(**origin, read_only=origin.get("provenance") == "issuer_signed")
            for name, origin in sheet.provenance.items()
            if name in view.fields and sheet.fields.get(name) == view.fields[name]
        }
        return view, provenance

    def result_verification(self, application_id: str) -> VerificationPublic | None:
        """The verification token and address of the dossier's result (what its printed QR carries); no personal
        data, so no access to log."""
        application = self.load(application_id)
        if application.result_document_id is None:
            return None
        document_id = application.result_document_id
        version = AttestationRepository(self._session).latest_version(document_id)
        return verification_of(self._session, document_id, version, self._deps.wallet.verify_url)

    def document(self, application_id: str, document_id: str) -> VersionPublic:
        """An attached paper as it was when the dossier was submitted."""
        application, version = self._frozen_paper(application_id, document_id)
        paper = self._wallet.version_of(application.citizen_id, document_id, version)
        self._log(application, "dossier_document_read", document_id)
        return paper

    def document_with_type(self, application_id: str, document_id: str) -> tuple[str, VersionPublic]:
        """`document`, and the type the dossier attached it as (the version alone does not say)."""
        application = self.load(application_id)
        frozen = self._dossiers.open_sheet(application).submitted or {"documents": []}
        kinds = {d["document_id"]: str(d["type"]) for d in frozen["documents"]}
        if document_id not in kinds:
            raise ApplicationNotFound()
        return kinds[document_id], self.document(application_id, document_id)

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
        if note is None and change.status in NOTE_NEEDED:
            raise ApplicationInvalid({"note": [NOTE_NEEDED[change.status]]})
        self.decide(application, change.status, note)
        return self._dossiers.submitted_view(application)

    def decide(self, application: Application, status: str, note: str | None) -> None:
        if status in DECIDED:
            application.decided_at = self._dossiers.now()
        self._dossiers.record(application, status, self.caller.event_actor, note)
        # The dossier's history names the agency; the chained log also names the officer who moved it.
        self._log(application, f"dossier_{status}")

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
