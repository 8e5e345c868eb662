"""Every query of the audit package."""

from __future__ import annotations

import functools
from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import DateTime, Row, bindparam, literal, text, type_coerce, update
from sqlalchemy import select as core_select
from sqlalchemy.engine import Dialect
from sqlmodel import Session, and_, col, func, or_, select

from audit.chain import EMPTY_HEAD, ROW_COLUMNS, ChainHead
from audit.models import AccessLogEntry, AuditCheckpoint, Presence
from storage.db import connection_of

# Key of the PostgreSQL advisory lock that serialises chaining (any constant, unique in this database).
_CHAIN_LOCK_KEY = 0x6364_735F_6175_6469  # "cds_audi"
_ENTRIES = AccessLogEntry.__table__  # type: ignore[attr-defined]
_ENTRY_COLUMNS = _ENTRIES.c
_INSERT = _ENTRIES.insert()
_INSERT_PRESENCE = Presence.__table__.insert()  # type: ignore[attr-defined]
# The chain's two reads before an inline append, built once (building a statement costs about as much as running it).
_HEAD = (
    core_select(_ENTRY_COLUMNS.seq, _ENTRY_COLUMNS.entry_hash)
    .where(_ENTRY_COLUMNS.seq.is_not(None))
    .order_by(_ENTRY_COLUMNS.seq.desc())
    .limit(1)
)
# The head and whether any entry waits to be chained before it, in one statement (no row: the chain is empty).
_HEAD_AND_PENDING = _HEAD.add_columns(
    core_select(literal(1)).where(_ENTRY_COLUMNS.seq.is_(None)).exists().label("pending")
)
_UNCHAINED = (
    core_select(*(_ENTRY_COLUMNS[name] for name in ROW_COLUMNS))
    .where(_ENTRY_COLUMNS.seq.is_(None))
    .order_by(_ENTRY_COLUMNS.at, _ENTRY_COLUMNS.id)
    .limit(bindparam("limit"))
)
_CHECKPOINT_COLUMNS = AuditCheckpoint.__table__.c  # type: ignore[attr-defined]
_LINK_ONE = (
    update(_ENTRIES)
    .where(_ENTRY_COLUMNS.id == bindparam("row_id"), _ENTRY_COLUMNS.seq.is_(None))
    .values(seq=bindparam("seq"), prev_hash=bindparam("prev_hash"), entry_hash=bindparam("entry_hash"))
)
# psycopg's own placeholders, `%(…)b`: arrays sent in the binary format cost a fifth of the text format to write. The
# entry's time joins too: the access log is partitioned by month on PostgreSQL (`storage.partitions`), and the time
# takes each link to its own month's partition.
_LINK_BATCH = (
    "UPDATE access_log SET seq = link.seq, prev_hash = link.prev_hash, entry_hash = link.entry_hash"
    " FROM unnest(%(row_id)b::varchar[], %(at)b::timestamptz[], %(seq)b::bigint[], %(prev_hash)b::varchar[],"
    " %(entry_hash)b::varchar[]) AS link(id, at, seq, prev_hash, entry_hash)"
    " WHERE access_log.id = link.id AND access_log.at = link.at AND access_log.seq IS NULL"
)


@functools.cache
def _compiled_insert(dialect: Dialect) -> str:
    """The INSERT of every column of an entry as SQLAlchemy writes it for `dialect`, once."""
    return str(_INSERT.compile(dialect=dialect))


class AuditRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, *rows: object) -> None:
        self.session.add_all(rows)
        self.session.flush()

    def append(self, values: dict[str, Any]) -> None:
        """Insert an access-log entry (`values`: every column) with one INSERT, outside the session's unit of work:
        an entry is written once and never updated through the session, and the unit of work's flush cost more than
        the insert itself on the hottest write path there is. PostgreSQL: the statement as psycopg takes it, without
        SQLAlchemy's compilation and bind processing (about 25 µs of an append's 250): the values are texts or None
        but `at`, an aware time sent as such (what the column's type would check is checked here)."""
        connection = connection_of(self.session)
        if connection.dialect.name != "postgresql":
            connection.execute(_INSERT, values)
            return
        if values["at"].tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        connection.exec_driver_sql(_compiled_insert(connection.dialect), values)

    def insert_presence(self, values: dict[str, Any]) -> None:
        """Insert a presence record (`values`: every column) with one prebuilt INSERT, outside the unit of work: the
        ORM's flush of one new row cost several times the statement on the counter scan's write."""
        connection_of(self.session).execute(_INSERT_PRESENCE, values)

    def page(
        self,
        citizen_id: str,
        *,
        limit: int,
        after: tuple[datetime, str] | None,
        agency: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> list[AccessLogEntry]:
        """Up to `limit` entries of the citizen, newest first, strictly older than the `after` (at, id) key; only
        those of the actor `agency` (its code) and with `since <= at < until`, when given. The filters only narrow
        the keyset, so a cursor stays exact under them."""
        query = select(AccessLogEntry).where(col(AccessLogEntry.citizen_id) == citizen_id)
        if agency is not None:
            query = query.where(col(AccessLogEntry.actor_code) == agency)
        if since is not None:
            query = query.where(col(AccessLogEntry.at) >= since)
        if until is not None:
            query = query.where(col(AccessLogEntry.at) < until)
        if after is not None:
            at, entry_id = after
            query = query.where(
                or_(
                    col(AccessLogEntry.at) < at,
                    and_(col(AccessLogEntry.at) == at, col(AccessLogEntry.id) < entry_id),
                )
            )
        query = query.order_by(col(AccessLogEntry.at).desc(), col(AccessLogEntry.id).desc()).limit(limit)
        return list(self.session.exec(query))

    def actors(self, citizen_id: str) -> list[tuple[str, str, datetime]]:
        """Each (actor code, actor name) in the citizen's log with the time of its latest entry."""
        query = (
            select(col(AccessLogEntry.actor_code), col(AccessLogEntry.actor_name), func.max(col(AccessLogEntry.at)))
            .where(col(AccessLogEntry.citizen_id) == citizen_id)
            .group_by(col(AccessLogEntry.actor_code), col(AccessLogEntry.actor_name))
        )
        return [(str(code), str(name), at) for code, name, at in self.session.exec(query)]

    def presence(self, presence_id: str) -> Presence | None:
        return self.session.get(Presence, presence_id)

    # -- the chain ---------------------------------------------------------------------------------------------------

    def lock_chain(self) -> None:
        """Serialise chaining until this transaction ends. PostgreSQL: a transaction-level advisory lock (the
        statement after it sees every entry committed before it was granted). SQLite: nothing to do, every
        writing transaction already holds the database's write lock (`BEGIN IMMEDIATE`, `storage.db`)."""
        if self.session.get_bind().dialect.name == "postgresql":
            self.session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _CHAIN_LOCK_KEY})

    def head(self) -> ChainHead:
        """The last entry of the chain (by `seq`, through its unique index), or the empty head."""
        row = self.session.connection().execute(_HEAD).first()
        return EMPTY_HEAD if row is None else ChainHead(int(row[0]), str(row[1]))

    def head_if_all_chained(self) -> ChainHead | None:
        """The head, when no entry waits to be chained and the chain is not empty (None otherwise): an inline append
        needs only this, in one statement instead of `unchained` then `head`."""
        row = self.session.connection().execute(_HEAD_AND_PENDING).first()
        return None if row is None or row[2] else ChainHead(int(row[0]), str(row[1]))

    def unchained(self, *, limit: int) -> list[Sequence[Any]]:
        """Up to `limit` committed entries not chained yet, in the order they are to be chained (time, then id):
        rows of the columns `ROW_COLUMNS` (`seq` empty), as `ChainHasher.row_hash` reads them."""
        return list(self.session.connection().execute(_UNCHAINED, {"limit": limit}).all())

    def link(self, links: list[dict[str, Any]]) -> None:
        """Give each unchained entry `row_id` (at `at`) its `seq`, `prev_hash` and `entry_hash` (keys of each dict).
        PostgreSQL: one UPDATE of the whole batch from arrays, instead of an UPDATE a row (the chaining pass runs
        alongside the appends, on the same cores)."""
        connection = connection_of(self.session)
        if connection.dialect.name != "postgresql":
            connection.execute(_LINK_ONE, [{k: v for k, v in link.items() if k != "at"} for link in links])
            return
        columns = {key: [link[key] for link in links] for key in ("row_id", "at", "seq", "prev_hash", "entry_hash")}
        connection.exec_driver_sql(_LINK_BATCH, columns)

    def count_unchained(self) -> int:
        query = select(func.count()).select_from(_ENTRIES).where(_ENTRY_COLUMNS.seq.is_(None))
        return int(self.session.connection().execute(query).scalar_one())

    def checkpoint(self, seq: int) -> AuditCheckpoint | None:
        return self.session.get(AuditCheckpoint, seq)

    def latest_checkpoint(self) -> AuditCheckpoint | None:
        """The checkpoint of the highest `seq` (its primary key), None before the first."""
        query = select(AuditCheckpoint).order_by(col(AuditCheckpoint.seq).desc()).limit(1)
        return self.session.exec(query).first()

    def oldest_unsigned_at(self, *, after_seq: int) -> datetime | None:
        """When the oldest entry no checkpoint covers was recorded (a checkpoint at `after_seq` covers every entry up
        to it): entry `after_seq + 1` by the unique `seq` index, else the oldest unchained entry by the partial
        unchained index (entries are chained in time order, so a chained one is always the older). None: all signed."""
        chained = select(col(AccessLogEntry.at)).where(col(AccessLogEntry.seq) == after_seq + 1)
        found = self.session.exec(chained).first()
        if found is not None:
            return found
        unchained = select(col(AccessLogEntry.at)).where(col(AccessLogEntry.seq).is_(None))
        return self.session.exec(unchained.order_by(col(AccessLogEntry.at)).limit(1)).first()

    def entries_in_order(self, *, batch: int) -> Iterator[Sequence[Any]]:
        """Every chained entry in `seq` order, streamed (a server-side cursor on PostgreSQL) `batch` rows at a time:
        plain rows of the columns `ROW_COLUMNS` then `prev_hash` and `entry_hash`. `at` comes as the driver gives
        it, without the zone on SQLite (the column holds UTC): one Python call less per row over millions."""
        columns = [_ENTRY_COLUMNS[name] for name in ROW_COLUMNS]
        columns[ROW_COLUMNS.index("at")] = type_coerce(_ENTRY_COLUMNS.at, DateTime(timezone=True)).label("at")
        query = core_select(*columns, _ENTRY_COLUMNS.prev_hash, _ENTRY_COLUMNS.entry_hash)
        query = query.where(_ENTRY_COLUMNS.seq.is_not(None)).order_by(_ENTRY_COLUMNS.seq)
        yield from self.session.connection().execute(query.execution_options(yield_per=batch))

    def checkpoints_in_order(self, *, batch: int) -> Iterator[Row[Any]]:
        query = select(*_CHECKPOINT_COLUMNS).order_by(_CHECKPOINT_COLUMNS.seq)
        yield from self.session.connection().execute(query.execution_options(yield_per=batch))
