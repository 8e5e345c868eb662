"""PostgreSQL: the access log and the notification outbox become tables partitioned by month on their time column
(`storage.partitions`), with a default partition; their rows move over. SQLite is unchanged.

PostgreSQL wants the partition key in every unique index, so:
- the primary keys become (id, at) and (id, created_at). Ids are UUIDv7 made by the service; lookups by id alone
  (chaining an entry, claiming a message) still use the key's index, one probe a partition;
- `ix_access_log_seq` is no longer unique. The chain's `seq` is given under the chain lock only (`audit.appends`),
  and `audit verify` reports a repeated `seq` as out of range, so a duplicate still cannot pass unseen.

Partitions are made from the month of the oldest row to three months after today; `congdanso migrate` and the
janitor add the coming months afterwards (`storage.partitions.ensure_partitions`). Downgrade puts the rows back into
plain tables with the former keys.

Revision ID: 20261211_01
Revises: 20261210_01
Create Date: 2026-12-11
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from alembic import op
from sqlalchemy import text

from storage.partitions import (
    MONTHS_AHEAD,
    PartitionedTable,
    add_months,
    default_partition_ddl,
    month_of,
    month_partition_ddl,
)

revision: str = "20261211_01"
down_revision: str | None = "20261210_01"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None


@dataclass(frozen=True)
class _Spec:
    table: PartitionedTable
    indexes: tuple[str, ...]
    """Every secondary index, as `name ON table (...)` after CREATE [UNIQUE] INDEX; rebuilt after the rows move."""
    unique_before: tuple[str, ...] = ()
    """The indexes that were unique before partitioning (names)."""


_SPECS = (
    _Spec(
        PartitionedTable("access_log", "at"),
        (
            "ix_access_log_seq ON access_log (seq)",
            "ix_access_log_citizen_at ON access_log (citizen_id, at, id)",
            "ix_access_log_citizen_actor_at ON access_log (citizen_id, actor_code, at, id)",
            "ix_access_log_unchained ON access_log (at, id) WHERE seq IS NULL",
        ),
        unique_before=("ix_access_log_seq",),
    ),
    _Spec(
        PartitionedTable("notification_outbox", "created_at"),
        (
            "ix_notification_outbox_recipient_id ON notification_outbox (recipient_id)",
            "ix_notification_outbox_due ON notification_outbox (status, next_attempt_at)",
        ),
    ),
)


def _drop_keys(spec: _Spec) -> None:
    name = spec.table.name
    op.execute(f"ALTER TABLE {name} DROP CONSTRAINT {name}_pkey")
    for index in spec.indexes:
        op.execute(f"DROP INDEX {index.split(' ', 1)[0]}")


def _add_keys(spec: _Spec, key: str, *, partitioned: bool) -> None:
    name = spec.table.name
    op.execute(f"ALTER TABLE {name} ADD CONSTRAINT {name}_pkey PRIMARY KEY ({key})")
    for index in spec.indexes:
        unique = not partitioned and index.split(" ", 1)[0] in spec.unique_before
        op.execute(f"CREATE {'UNIQUE ' if unique else ''}INDEX {index}")


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for spec in _SPECS:
        table = spec.table
        _drop_keys(spec)
        op.execute(f"ALTER TABLE {table.name} RENAME TO {table.name}_unpartitioned")
        op.execute(
            f"CREATE TABLE {table.name} (LIKE {table.name}_unpartitioned INCLUDING DEFAULTS INCLUDING CONSTRAINTS)"
            f" PARTITION BY RANGE ({table.column})"
        )
        oldest = op.get_bind().execute(text(f"SELECT min({table.column}) FROM {table.name}_unpartitioned")).scalar()  # noqa: S608
        now = datetime.now(UTC)
        month, last = month_of(min(oldest or now, now)), add_months(month_of(now), MONTHS_AHEAD)
        while month <= last:
            op.execute(month_partition_ddl(table, month))
            month = add_months(month, 1)
        op.execute(default_partition_ddl(table))
        op.execute(f"INSERT INTO {table.name} SELECT * FROM {table.name}_unpartitioned")  # noqa: S608
        op.execute(f"DROP TABLE {table.name}_unpartitioned")
        _add_keys(spec, f"id, {table.column}", partitioned=True)


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for spec in reversed(_SPECS):
        name = spec.table.name
        op.execute(f"CREATE TABLE {name}_plain (LIKE {name} INCLUDING DEFAULTS INCLUDING CONSTRAINTS)")
        op.execute(f"INSERT INTO {name}_plain SELECT * FROM {name}")  # noqa: S608
        op.execute(f"DROP TABLE {name}")  # and every partition with it
        op.execute(f"ALTER TABLE {name}_plain RENAME TO {name}")
        _add_keys(spec, "id", partitioned=False)
