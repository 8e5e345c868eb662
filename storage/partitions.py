"""Monthly range partitions on PostgreSQL for the tables that only grow with time: the access log (by `at`) and the
notification outbox (by `created_at`). SQLite keeps them as plain tables.

Each table is `PARTITION BY RANGE` on its time column, one partition a month named `<table>_pYYYY_MM`, plus
`<table>_default` for any time no month partition covers, so a write never fails for want of a partition. The
primary key is (id, time column): PostgreSQL requires the partition key in every unique index. Ids are UUIDv7 made
by the service, so the id alone stays unique in practice, and a lookup by id alone is one index probe a partition.

`ensure_partitions` creates the partitions of the current month and the next few; `congdanso migrate` and the
janitor's periodic run call it. Rows that reached the default partition for a month before its partition existed
are moved into it as it is created, in the same transaction (PostgreSQL refuses to attach a partition whose range
the default partition holds rows of).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime

from sqlalchemy import Connection, Engine, text


@dataclass(frozen=True)
class PartitionedTable:
    name: str
    column: str
    """The time column the table is partitioned on."""


PARTITIONED_TABLES = (PartitionedTable("access_log", "at"), PartitionedTable("notification_outbox", "created_at"))
MONTHS_AHEAD = 3
UNIQUE_ONLY_ON_SQLITE = frozenset({"ix_access_log_seq"})
"""Indexes unique in the models (and on SQLite) but not on PostgreSQL, where a unique index needs the partition key."""
_PARTITION_NAME = re.compile(rf"({'|'.join(t.name for t in PARTITIONED_TABLES)})_(p\d{{4}}_\d{{2}}|default)")


def is_partition(name: str | None) -> bool:
    """Whether `name` is one of the partitions this module makes (not a table of the models)."""
    return name is not None and _PARTITION_NAME.fullmatch(name) is not None


def month_of(at: datetime | date) -> date:
    """The first day of the (UTC) month of `at`."""
    if isinstance(at, datetime):
        if at.tzinfo is None:
            raise ValueError("a partition's month needs a timezone-aware time")
        at = at.astimezone(UTC)
    return date(at.year, at.month, 1)


def add_months(month: date, count: int) -> date:
    index = month.year * 12 + month.month - 1 + count
    return date(index // 12, index % 12 + 1, 1)


def partition_name(table: str, month: date) -> str:
    return f"{table}_p{month.year:04d}_{month.month:02d}"


def _bound(month: date) -> str:
    return f"'{month.isoformat()} 00:00:00+00'"  # a date, formatted here: never user input


def month_partition_ddl(table: PartitionedTable, month: date) -> str:
    """The statement that creates `table`'s partition of `month` (its indexes follow from the parent's)."""
    return (
        f"CREATE TABLE {partition_name(table.name, month)} PARTITION OF {table.name}"
        f" FOR VALUES FROM ({_bound(month)}) TO ({_bound(add_months(month, 1))})"
    )


def default_partition_ddl(table: PartitionedTable) -> str:
    return f"CREATE TABLE {table.name}_default PARTITION OF {table.name} DEFAULT"


def is_partitioned(connection: Connection, table: str) -> bool:
    query = text("SELECT 1 FROM pg_partitioned_table WHERE partrelid = to_regclass(:table)")
    return connection.execute(query, {"table": table}).first() is not None


def partitions(connection: Connection, table: str) -> list[str]:
    """The names of `table`'s partitions, in name order (the default partition last)."""
    query = text(
        "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid"
        " WHERE i.inhparent = to_regclass(:table) ORDER BY c.relname LIKE '%\\_default', c.relname"
    )
    return [str(name) for name in connection.execute(query, {"table": table}).scalars()]


def _create_month(connection: Connection, table: PartitionedTable, month: date) -> None:
    """Create the partition of `month`, moving into it the rows of that month the default partition holds."""
    name, low, high = partition_name(table.name, month), _bound(month), _bound(add_months(month, 1))
    in_month = f"{table.column} >= {low} AND {table.column} < {high}"
    stray = connection.execute(text(f"SELECT 1 FROM {table.name}_default WHERE {in_month} LIMIT 1")).first()  # noqa: S608
    if stray is None:
        connection.execute(text(month_partition_ddl(table, month)))
        return
    # Detached from the parent while the rows move, then attached: ATTACH checks the default holds none of them.
    connection.execute(text(f"CREATE TABLE {name} (LIKE {table.name} INCLUDING DEFAULTS INCLUDING CONSTRAINTS)"))
    connection.execute(
        text(
            f"WITH moved AS (DELETE FROM {table.name}_default WHERE {in_month} RETURNING *)"  # noqa: S608
            f" INSERT INTO {name} SELECT * FROM moved"
        )
    )
    connection.execute(text(f"ALTER TABLE {table.name} ATTACH PARTITION {name} FOR VALUES FROM ({low}) TO ({high})"))


def ensure_partitions(engine: Engine, now: datetime, months_ahead: int = MONTHS_AHEAD) -> list[str]:
    """Create the missing partitions of every partitioned table from the month of `now` to `months_ahead` months
    later; returns the names created. A no-op on SQLite and on a table not (yet) partitioned; safe to run at once
    from several processes (a transaction-level advisory lock serialises them)."""
    if engine.dialect.name != "postgresql":
        return []
    created: list[str] = []
    months = [add_months(month_of(now), ahead) for ahead in range(months_ahead + 1)]
    with engine.begin() as connection:
        connection.execute(text("SELECT pg_advisory_xact_lock(hashtext('storage.partitions'))"))
        for table in PARTITIONED_TABLES:
            if not is_partitioned(connection, table.name):
                continue
            existing = set(partitions(connection, table.name))
            for month in months:
                if partition_name(table.name, month) not in existing:
                    _create_month(connection, table, month)
                    created.append(partition_name(table.name, month))
    return created
