"""A SQL key store for wrapped citizen keys, in a database of its own (see crypto.citizen_keys)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import UTC, datetime

from sqlalchemy import Column, Engine, LargeBinary, MetaData, String, Table, bindparam, delete, event, select
from sqlalchemy.dialects import postgresql, sqlite

from storage.db import read_only
from storage.types import UTCDateTime

keystore_metadata = MetaData()
citizen_keys = Table(
    "citizen_key",
    keystore_metadata,
    Column("citizen_id", String(48), primary_key=True),  # a citizen id, or "<id>#next" for a replacement
    Column("wrapped", LargeBinary, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)


PAGE = 1_000  # rows a walk of the store reads at a time

_ONE = select(citizen_keys.c.wrapped).where(citizen_keys.c.citizen_id == bindparam("citizen_id"))


class SqlCitizenKeyStore:
    """Each call is its own committed transaction. On SQLite, deleted keys are overwritten on disk
    (secure_delete) and the WAL is checkpointed, so an erased key does not linger in free pages."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        if engine.dialect.name == "sqlite":
            event.listen(engine, "connect", lambda conn, _rec: conn.execute("PRAGMA secure_delete=ON"))

    def put(self, citizen_id: str, wrapped: bytes) -> None:
        values = {"wrapped": wrapped, "updated_at": datetime.now(UTC)}
        insert = postgresql.insert if self._engine.dialect.name == "postgresql" else sqlite.insert
        stmt = insert(citizen_keys).values(citizen_id=citizen_id, **values)
        with self._engine.begin() as conn:
            conn.execute(stmt.on_conflict_do_update(index_elements=[citizen_keys.c.citizen_id], set_=values))

    # Reads take no write lock (a deferred BEGIN on SQLite, `storage.db.read_only`): a key read never waits for,
    # nor holds up, a key being written.
    def get(self, citizen_id: str) -> bytes | None:
        with read_only(self._engine).connect() as conn:
            value = conn.execute(_ONE, {"citizen_id": citizen_id}).scalar()
        return bytes(value) if value is not None else None

    def get_many(self, citizen_ids: Sequence[str]) -> dict[str, bytes]:
        if not citizen_ids:
            return {}
        query = select(citizen_keys.c.citizen_id, citizen_keys.c.wrapped).where(
            citizen_keys.c.citizen_id.in_(list(citizen_ids))
        )
        with read_only(self._engine).connect() as conn:
            return {str(row[0]): bytes(row[1]) for row in conn.execute(query)}

    def delete(self, citizen_id: str) -> None:
        with self._engine.begin() as conn:
            conn.execute(delete(citizen_keys).where(citizen_keys.c.citizen_id == citizen_id))
        if self._engine.dialect.name == "sqlite":
            raw = self._engine.raw_connection()
            try:
                raw.cursor().execute("PRAGMA wal_checkpoint(TRUNCATE)")
            finally:
                raw.close()

    def ids(self, *, updated_before: datetime | None = None) -> Iterator[str]:
        for slot, _wrapped in self.items(updated_before=updated_before):
            yield slot

    def items(self, *, updated_before: datetime | None = None) -> Iterator[tuple[str, bytes]]:
        """Every (slot, wrapped key), in slot order, read `PAGE` rows at a time: with millions of citizens a walk
        (the janitor, a rotation) holds one page, never the whole store, and no read transaction stays open."""
        after = ""
        while True:
            query = (
                select(citizen_keys.c.citizen_id, citizen_keys.c.wrapped)
                .where(citizen_keys.c.citizen_id > after)
                .order_by(citizen_keys.c.citizen_id)
                .limit(PAGE)
            )
            if updated_before is not None:
                query = query.where(citizen_keys.c.updated_at < updated_before)
            with read_only(self._engine).connect() as conn:
                rows = conn.execute(query).all()
            for slot, wrapped in rows:
                yield str(slot), bytes(wrapped)
            if len(rows) < PAGE:
                return
            after = str(rows[-1][0])
