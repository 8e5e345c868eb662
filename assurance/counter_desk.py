"""Papers at the counter: an officer who scanned a citizen's QR asks, for one of the agency's procedures, for exactly
the papers its dossier needs (the required papers whole; a paper the form only reads some fields from, those fields
only), reads them once the citizen approves on the phone, and files the dossier for the citizen there and then.

The dossier is built by the citizen's own e-form service, never a copy of its rules: a draft prefilled from the
wallet, the consented papers pinned in it (the best one per type, as the prefill chooses), the officer's entries,
then the same submission (completeness, frozen versions, due date, disclosure, notice). Its history names the
officer and the counter. Flushes, never commits."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlmodel import Session

from consent.errors import ConsentNotFound
from consent.pulls import ConsentPulls
from consent.repository import ConsentRepository
from consent.schemas import ConsentRequestCreate, ConsentRequestCreated
from consent.service import ConsentDeps, ConsentService
from forms.agency import AgencyCaller, acting_agency
from forms.catalog import Procedure
from forms.dossiers import EventActor, FormsDeps
from forms.errors import ProcedureNotFound
from forms.prefill import Applicant, best_by_type, wanted_types
from forms.schemas import ApplicationCreate, ApplicationPublic, ApplicationUpdate
from forms.service import ApplicationService
from identity.service import AuthService
from identity.sessions import Principal
from notify.service import Notifier
from storage.db import in_savepoint
from wallet.schemas import DocumentPublic

# The consent only needs to outlive the visit: the dossier, once filed, carries its papers to the agency itself.
COUNTER_VALID_DAYS = 1


def counter_purpose(procedure: Procedure) -> str:
    """The purpose the citizen reads on the phone; it also tells the agency's pages which procedure a request is for."""
    return f"Nộp hồ sơ “{procedure.name}” (mã thủ tục {procedure.code}) tại quầy"


def counter_papers(procedure: Procedure) -> tuple[list[str], dict[str, list[str]] | None]:
    """(the types to ask for, the field restriction): required papers whole (the dossier attaches them, scans and
    all); a paper the form only reads from, just the fields it reads."""
    required = set(procedure.required_documents)
    fields: dict[str, list[str]] = {}
    for spec in procedure.fields:
        if spec.source is not None and spec.source.type not in required:
            listed = fields.setdefault(spec.source.type, [])
            if spec.source.field not in listed:
                listed.append(spec.source.field)
    return wanted_types(procedure), fields or None


@dataclass(frozen=True)
class CounterSheet:
    """What the officer sees once the citizen approved: the shared papers and the dossier filing would submit."""

    procedure: Procedure
    consent_id: str
    citizen_id: str
    papers: list[DocumentPublic]  # as the consent shares them (each read is in the citizen's access log)
    dossier: ApplicationPublic  # a preview: prefilled values with their sources, what is still missing


class CounterDesk:
    """One officer's counter work for their agency."""

    def __init__(
        self, session: Session, forms: FormsDeps, consent: ConsentDeps, notifier: Notifier, principal: Principal
    ) -> None:
        self._session = session
        self._forms = forms
        self._consent = consent
        self._notifier = notifier
        self._principal = principal
        self.caller: AgencyCaller = acting_agency(session, principal)

    def procedures(self) -> list[Procedure]:
        return list(self._forms.catalog.by_agency(self.caller.code))

    def procedure(self, code: str) -> Procedure:
        """One of the agency's procedures (another agency's is not found: it cannot be filed here)."""
        found = next((p for p in self.procedures() if p.code == code), None)
        if found is None:
            raise ProcedureNotFound()
        return found

    def procedure_of_purpose(self, purpose: str) -> Procedure | None:
        """The procedure a counter request was filed for, read back from its purpose."""
        return next((p for p in self.procedures() if counter_purpose(p) == purpose), None)

    def ask(self, presence_id: str, procedure_code: str) -> ConsentRequestCreated:
        """A consent request, bound to the QR scan, for exactly the papers the procedure's dossier uses."""
        procedure = self.procedure(procedure_code)
        types, fields = counter_papers(procedure)
        data = ConsentRequestCreate(
            presence_id=presence_id,
            document_types=types,
            fields=fields,
            purpose=counter_purpose(procedure),
            valid_days=COUNTER_VALID_DAYS,
        )
        return ConsentService(self._session, self._consent).create_request(self._principal, data)

    def sheet(self, consent_id: str, procedure_code: str) -> CounterSheet:
        """The shared papers (read under the consent, so logged) and a preview of the dossier, built by the same
        steps as filing in a savepoint that is then undone: what is shown is what would be filed."""
        procedure = self.procedure(procedure_code)
        papers, citizen_id = self._shared(consent_id)
        savepoint = self._session.begin_nested()
        try:
            preview = self._draft(procedure, citizen_id, papers, {})
        finally:
            savepoint.rollback()
        return CounterSheet(procedure, consent_id, citizen_id, papers, preview)

    def file(self, sheet: CounterSheet, values: Mapping[str, Any]) -> ApplicationPublic:
        """File and submit the citizen's dossier from the papers of `sheet` (read under the consent just before):
        prefilled from them, `values` as the officer entered them, submitted as the citizen's own submission is
        (due date included), marked as filed at the counter by this officer. A refusal (a field or paper missing)
        leaves nothing behind."""
        procedure = self.procedure(sheet.procedure.code)
        return in_savepoint(self._session, lambda: self._submit(procedure, sheet.citizen_id, sheet.papers, values))

    # -- helpers ------------------------------------------------------------------------------------------------
    def _shared(self, consent_id: str) -> tuple[list[DocumentPublic], str]:
        shared = ConsentPulls(self._session, self._consent).documents(self._principal, consent_id)
        consent = ConsentRepository(self._session).consent(consent_id)
        if consent is None:  # the pull above already refused another agency's or an unknown consent
            raise ConsentNotFound()
        return shared.items, consent.citizen_id

    def _actor(self) -> EventActor:
        return EventActor("officer", self.caller.code, self.caller.person)

    def _draft(
        self, procedure: Procedure, citizen_id: str, papers: list[DocumentPublic], values: Mapping[str, Any]
    ) -> ApplicationPublic:
        forms = ApplicationService(self._session, self._forms, self._notifier)
        chosen = best_by_type(papers, self._applicant(citizen_id), procedure.dependant_documents)
        draft = forms.create(citizen_id, ApplicationCreate(procedure_code=procedure.code), actor=self._actor())
        update = ApplicationUpdate(fields=dict(values), documents={t: p.id for t, p in chosen.items()})
        return forms.update(citizen_id, draft.id, update)

    def _submit(
        self, procedure: Procedure, citizen_id: str, papers: list[DocumentPublic], values: Mapping[str, Any]
    ) -> ApplicationPublic:
        draft = self._draft(procedure, citizen_id, papers, values)
        note = f"Nộp tại quầy của {self.caller.name}; cán bộ tiếp nhận: {self.caller.person or self.caller.name}"
        forms = ApplicationService(self._session, self._forms, self._notifier)
        return forms.submit_for(citizen_id, draft.id, actor=self._actor(), login_at=None, note=note)

    def _applicant(self, citizen_id: str) -> Applicant:
        profile = AuthService(self._session, self._forms.identity, self._notifier).citizen_profile(citizen_id)
        return Applicant(profile.national_id, profile.full_name, profile.date_of_birth.isoformat())
