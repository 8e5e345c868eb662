"""Writing a seeded batch: PostgreSQL's COPY (rows streamed in one statement per table, no statement per row) or,
on SQLite, one multi-row insert per table; in either case one transaction for the batch's citizens and papers.

Citizen keys live in the key store's own database, so they are written first, in a transaction of their own: a
batch whose citizens then fail to commit takes its keys away again, and a crash between the two commits leaves at
most keys that wrap nothing (no data, nothing pointing at them)."""

from __future__ import annotations

from collections.abc import Sequence

import psycopg
import sqlalchemy as sa
from psycopg import sql

from forms.models import Application
from identity.models import Citizen
from seed.rows import Batch, Row
from storage.keystore import citizen_keys
from wallet.models import Document, DocumentVersion

_MAIN: tuple[tuple[sa.Table, str], ...] = (
    (Citizen.__table__, "citizens"),  # type: ignore[attr-defined]
    (Document.__table__, "documents"),  # type: ignore[attr-defined]
    (DocumentVersion.__table__, "versions"),  # type: ignore[attr-defined]
    (Application.__table__, "applications"),  # type: ignore[attr-defined]
)


class SeedCollision(Exception):
    """A seeded citizen's CCCD number or phone is taken already: the batch was written by an earlier seed."""


def write(engine: sa.Engine, keystore: sa.Engine, batch: Batch) -> None:
    with keystore.begin() as connection:
        insert_rows(connection, citizen_keys, batch.keys)
    try:
        with engine.begin() as connection:
            for table, name in _MAIN:  # in the order of their foreign keys
                insert_rows(connection, table, getattr(batch, name))
    except BaseException as exc:
        ids = [row["citizen_id"] for row in batch.keys]
        with keystore.begin() as connection:
            connection.execute(sa.delete(citizen_keys).where(citizen_keys.c.citizen_id.in_(ids)))
        if isinstance(exc, sa.exc.IntegrityError | psycopg.IntegrityError):  # COPY reports the driver's own
            raise SeedCollision() from exc
        raise


def settle(engine: sa.Engine, keystore: sa.Engine) -> None:
    """After a load, on PostgreSQL: `VACUUM (ANALYZE)` of every table written, as an operator runs it after a bulk
    load. Rows that COPY wrote carry no hint bits and no page is marked all-visible: until a vacuum, the first reads
    of each page write it again, index-only scans visit the heap, the planner guesses the tables' sizes, and
    autovacuum takes a core for minutes under whatever runs next."""
    for each, tables in ((engine, [table for table, _ in _MAIN]), (keystore, [citizen_keys])):
        if each.dialect.name != "postgresql":
            continue
        with each.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            for table in tables:
                connection.exec_driver_sql(f'VACUUM (ANALYZE) "{table.name}"')


def insert_rows(connection: sa.Connection, table: sa.Table, rows: Sequence[Row]) -> None:
    if not rows:
        return
    if connection.dialect.name != "postgresql":
        connection.execute(table.insert(), list(rows))
        return
    columns = list(rows[0])
    statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
        sql.Identifier(table.name), sql.SQL(", ").join(sql.Identifier(column) for column in columns)
    )
    driver = connection.connection.driver_connection
    with driver.cursor() as cursor, cursor.copy(statement) as copy:  # type: ignore[union-attr]
        for row in rows:
            copy.write_row([row[column] for column in columns])
