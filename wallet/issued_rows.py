"""What issuing reads and writes, as Core statements: the citizen, their paper count and the issuing agency's name in
one SELECT, and the issued paper's rows (document, version, scans, attestation) each in one INSERT of its columns.

The rows are written once and never updated through the issuing session, so nothing needs the session's unit of
work: a flush per row (three per paper) cost about a millisecond of the worker's CPU, more than the inserts
themselves. The rows are the same as `wallet.service.WalletService` writes for an issued paper and read back through
it: sealed under the draft's data key, in the contexts of `wallet.service`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, Table, bindparam, func, select
from sqlmodel import Session, SQLModel, col

from identity.models import Agency, Citizen
from storage.types import new_id
from wallet.models import Attestation, Document, DocumentFile, DocumentVersion
from wallet.repository import WalletRepository
from wallet.service import Draft, file_row_values

_TABLES: dict[type[SQLModel], Table] = {
    model: model.__table__  # type: ignore[union-attr]
    for model in (Document, DocumentVersion, DocumentFile, Attestation)
}
_INSERTS = {model: table.insert() for model, table in _TABLES.items()}
_COLUMNS = {model: frozenset(column.name for column in table.columns) for model, table in _TABLES.items()}


@dataclass(frozen=True)
class Row:
    """One row to insert: its model and the value of every column. Plain values, not a model instance: building
    the instance cost about 50 µs a row, the dict about one."""

    model: type[SQLModel]
    values: dict[str, object]


def row(model: type[SQLModel], **values: object) -> Row:
    """A row naming every column of `model`'s table, no more: no model default can fill a column left out."""
    if values.keys() != _COLUMNS[model]:
        raise TypeError(f"{model.__name__} needs the columns {sorted(_COLUMNS[model])}, not {sorted(values)}")
    return Row(model, values)


@dataclass(frozen=True)
class Recipient:
    """An active citizen who may receive a paper, and what issuing to them needs to know."""

    citizen_id: str
    assurance: int
    documents: int  # papers they hold now, held ones included (the per-citizen cap)
    issuer_name: str | None  # the issuing agency's name; None if its row is gone


def _recipient_query() -> Select[str, str, int, int, str]:
    documents = (
        select(func.count())
        .select_from(Document)
        .where(col(Document.citizen_id) == col(Citizen.id))
        .correlate(Citizen)
        .scalar_subquery()
    )
    issuer_name = select(col(Agency.name)).where(col(Agency.code) == bindparam("agency_code")).scalar_subquery()
    return select(col(Citizen.id), col(Citizen.status), col(Citizen.assurance), documents, issuer_name).where(
        col(Citizen.national_id_index) == bindparam("national_id_index")
    )


# Built once and run on the session's connection: building the statement and running it through the ORM session
# cost about 0.5 ms here, running this one about 50 µs.
_RECIPIENT = _recipient_query()


def recipient(session: Session, national_id_index: str, agency_code: str) -> Recipient | None:
    """The active citizen of this national ID index (None if there is none), with their paper count and the agency's
    name: one statement where three queries were."""
    parameters = {"national_id_index": national_id_index, "agency_code": agency_code}
    found = session.connection().execute(_RECIPIENT, parameters).first()
    if found is None or found[1] != "active":
        return None
    return Recipient(citizen_id=found[0], assurance=int(found[2]), documents=int(found[3]), issuer_name=found[4])


def paper_rows(
    draft: Draft, *, type_code: str, clean: dict[str, object], issuer_code: str, held: bool, now: datetime
) -> list[Row]:
    """The rows of a new issued paper, read-only to the citizen; `held` keeps it out of sight until the account
    reaches identity level 2 (`wallet.holding`)."""
    document = row(
        Document,
        id=draft.document_id,
        citizen_id=draft.citizen_id,
        type=type_code,
        source="issuer",
        provenance="issuer_signed",
        issuer_code=issuer_code,
        revoked_at=None,
        held_at=now if held else None,
        current_version=draft.version,
        created_at=now,
        updated_at=now,
    )
    file_ids = [upload.file_id for upload in draft.stored]
    version = row(
        DocumentVersion,
        id=new_id(),
        document_id=draft.document_id,
        version=draft.version,
        wrapped_data_key=draft.wrapped_data_key,
        sealed=draft.sealed_fields(clean, file_ids),
        created_at=now,
    )
    return [document, version, *_file_rows(draft, now)]


def _file_rows(draft: Draft, now: datetime) -> list[Row]:
    return [row(DocumentFile, **file_row_values(draft, upload, now)) for upload in draft.stored]


def insert(session: Session, rows: list[Row]) -> None:
    """Insert `rows` in order, one INSERT each, in the session's transaction; the scans' pending records go with
    them (their blobs now have metadata), as when the wallet commits a version."""
    connection = session.connection()
    for each in rows:
        connection.execute(_INSERTS[each.model], each.values)
    blob_keys = [str(each.values["blob_key"]) for each in rows if each.model is DocumentFile]
    WalletRepository(session).clear_pending(blob_keys)
