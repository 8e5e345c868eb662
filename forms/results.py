"""The result of a dossier: a paper issued through the issuer path (sealed into the citizen's wallet, signed, with a
verification QR carrying the dossier and procedure codes), committed in the same transaction that completes the
dossier, so a result is never issued twice nor a dossier completed without its paper."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

import anyio
from sqlmodel import Session

from forms.agency import RESULT_FROM, AgencyDesk
from forms.dossiers import FormsDeps
from forms.errors import ApplicationInvalid, InvalidTransition
from forms.models import Application
from forms.schemas import ResultCreate, ResultIssued
from identity.service import AuthService
from identity.sessions import Principal
from notify.service import Notifier
from storage.db import read_only, transaction
from wallet.issuer import IssueRequest, IssuerService, PreparedIssue, upload_then_commit

NotifierFactory = Callable[[Session], Notifier]


@dataclass(frozen=True)
class ResultOrder:
    principal: Principal
    application_id: str
    body: ResultCreate


async def issue_result(
    deps: FormsDeps, notifier_of: NotifierFactory, order: ResultOrder
) -> tuple[ResultIssued, list[str]]:
    """Issue the result and complete the dossier; returns the answer and the outbox ids to deliver after commit."""

    def prepare() -> PreparedIssue:
        with transaction(read_only(deps.wallet.engine)) as session:
            desk = AgencyDesk(session, deps, notifier_of(session), order.principal)
            application = desk.load(order.application_id)
            _check_open(application.status)
            profile = AuthService(session, deps.identity, notifier_of(session)).citizen_profile(application.citizen_id)
            if order.body.national_id not in (None, profile.national_id):
                raise ApplicationInvalid({"national_id": ["is not the applicant's"]})
            request = _request(desk.caller.code, profile.national_id, application, order.body)
            request = replace(request, person=desk.caller.person)
            return IssuerService(session, deps.wallet, deps.issuing).prepare(request)

    def commit(prepared: PreparedIssue) -> tuple[ResultIssued, list[str]]:
        with transaction(deps.wallet.engine) as session:
            notifier = notifier_of(session)
            desk = AgencyDesk(session, deps, notifier, order.principal)
            application = desk.load(order.application_id, lock=True)
            _check_open(application.status)  # checked again: another request may have decided meanwhile
            issued = IssuerService(session, deps.wallet, deps.issuing).commit(prepared)
            application.result_document_id = issued.id
            desk.decide(application, "completed", None)
            answer = ResultIssued(
                id=issued.id, verification=issued.verification, application_id=application.id, status="completed"
            )
            return answer, [*notifier.queued_ids, *prepared.outbox_ids]

    prepared = await anyio.to_thread.run_sync(prepare)
    return await upload_then_commit(prepared, commit)


def _check_open(status: str) -> None:
    if status not in RESULT_FROM:
        raise InvalidTransition(f"{status} → completed")


def _request(agency_code: str, national_id: str, application: Application, body: ResultCreate) -> IssueRequest:
    fields = dict(body.fields)
    if body.type == "tthc_result":
        fields.setdefault("procedure_code", application.procedure_code)
    upload = (body.file.filename, body.file.content()) if body.file else None
    request = IssueRequest(agency_code, national_id, body.type, fields, upload)
    return replace(request, dossier_code=application.dossier_code, procedure_code=application.procedure_code)
