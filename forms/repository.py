"""Every query of the forms package."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, col, delete, func, select
from sqlmodel.sql.expression import SelectOfScalar

from forms.models import Application, ApplicationDocument, ApplicationEvent
from storage.db import lock_key


@dataclass(frozen=True)
class OverdueAt:
    """Still open (one of `statuses`) and due before `now`."""

    now: datetime
    statuses: tuple[str, ...]


class FormsRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, *rows: object) -> None:
        self.session.add_all(rows)
        self.session.flush()

    def application(self, application_id: str) -> Application | None:
        return self.session.get(Application, application_id)

    def owned(self, citizen_id: str, application_id: str) -> Application | None:
        application = self.application(application_id)
        if application is None or application.citizen_id != citizen_id or application.erased:
            return None
        return application

    def draft_count(self, citizen_id: str) -> int:
        """Counted before a draft is added in this transaction: until it ends, another one starting a draft for this
        citizen waits here, then counts this one's draft (the limit holds under concurrent starts)."""
        lock_key(self.session, "forms.drafts", citizen_id)
        query = select(func.count()).where(
            Application.citizen_id == citizen_id, Application.status == "draft", col(Application.erased).is_(False)
        )
        return int(self.session.exec(query).one())

    def page_of_citizen(
        self, citizen_id: str, *, status: str | None, before: str | None, limit: int
    ) -> Sequence[Application]:
        query = select(Application).where(Application.citizen_id == citizen_id, col(Application.erased).is_(False))
        return self._page(query, status=status, before=before, limit=limit)

    def page_of_agency(
        self,
        agency_code: str,
        procedure_codes: Sequence[str],
        *,
        status: str | None,
        before: str | None,
        limit: int,
        overdue: OverdueAt | None = None,
    ) -> Sequence[Application]:
        """Newest first; each filter is a range of one of the `ix_application_agency_*` indexes (agency and id, with
        the status or the procedure between them), so a page reads about `limit` rows whatever the table holds."""
        query = select(Application).where(
            Application.agency_code == agency_code,
            Application.status != "draft",
            col(Application.erased).is_(False),
        )
        if len(procedure_codes) == 1:
            query = query.where(Application.procedure_code == procedure_codes[0])
        else:
            query = query.where(col(Application.procedure_code).in_(procedure_codes))
        if overdue is not None:
            query = query.where(col(Application.status).in_(overdue.statuses), col(Application.due_at) < overdue.now)
        return self._page(query, status=status, before=before, limit=limit)

    def _page(
        self, query: SelectOfScalar[Application], *, status: str | None, before: str | None, limit: int
    ) -> Sequence[Application]:
        if status:
            query = query.where(Application.status == status)
        if before:
            query = query.where(col(Application.id) < before)
        return self.session.exec(query.order_by(col(Application.id).desc()).limit(limit)).all()

    def attachments(self, application_id: str) -> list[ApplicationDocument]:
        query = select(ApplicationDocument).where(ApplicationDocument.application_id == application_id)
        return list(self.session.exec(query).all())

    def detach(self, application_id: str, type_code: str) -> None:
        row = self.session.get(ApplicationDocument, (application_id, type_code))
        if row is not None:
            self.session.delete(row)
            self.session.flush()

    def events(self, application_id: str) -> list[ApplicationEvent]:
        query = select(ApplicationEvent).where(ApplicationEvent.application_id == application_id)
        return list(self.session.exec(query.order_by(col(ApplicationEvent.at), col(ApplicationEvent.id))).all())

    def open_dossiers_holding(self, document_id: str, statuses: Sequence[str]) -> list[str]:
        """The codes of the dossiers in `statuses` that reference the paper."""
        query = (
            select(Application.dossier_code)
            .join(ApplicationDocument, col(ApplicationDocument.application_id) == Application.id)
            .where(ApplicationDocument.document_id == document_id, col(Application.status).in_(statuses))
        )
        return sorted(code for code in self.session.exec(query).all() if code)

    def of_citizen(self, citizen_id: str) -> Sequence[Application]:
        return self.session.exec(select(Application).where(Application.citizen_id == citizen_id)).all()

    def of_procedures(self, procedure_codes: Sequence[str]) -> Sequence[Application]:
        query = select(Application).where(col(Application.procedure_code).in_(procedure_codes))
        return self.session.exec(query).all()

    def delete_application(self, application: Application) -> None:
        self.session.execute(
            delete(ApplicationDocument).where(col(ApplicationDocument.application_id) == application.id)
        )
        self.session.execute(delete(ApplicationEvent).where(col(ApplicationEvent.application_id) == application.id))
        self.session.delete(application)
        self.session.flush()

    def forget_content(self, application: Application) -> None:
        """Erasure: drop the references and notes; the sealed values die with the citizen's key."""
        self.session.execute(
            delete(ApplicationDocument).where(col(ApplicationDocument.application_id) == application.id)
        )
        for event in self.events(application.id):
            event.note_sealed = None
            self.session.add(event)
        application.erased, application.sealed, application.rating_comment_sealed = True, b"", None
        self.session.add(application)
        self.session.flush()
