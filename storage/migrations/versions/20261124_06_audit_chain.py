"""The tamper-evident access log: every entry gets `seq`, `prev_hash` and `entry_hash` (a SHA-256 hash chain), and
the signed checkpoints that pin the chain get their table.

Entries already logged are chained in the order they were logged (`at`, then `id`). The encoder below is a frozen
copy of version 1 of `audit.chain` (a migration must not change when the application code does, and `storage`
imports nothing from the domain); the integration tests check that a backfilled log passes `congdanso audit verify`.

Revision ID: 20261124_06
Revises: 20261124_05
Create Date: 2026-11-24
"""

import hashlib
import struct
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "20261124_06"
down_revision: str | None = "20261124_05"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None

UTC_TIME = sa.DateTime(timezone=True)
_BATCH = 1000
_GENESIS = "0" * 64
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_TEXT_FIELDS = (
    "id",
    "citizen_id",
    "actor_type",
    "actor_code",
    "actor_name",
    "action",
    "document_id",
    "consent_id",
    "purpose",
)


def _v1_hash(row: Any, seq: int, prev_hash: str) -> str:
    at: datetime = row.at if row.at.tzinfo else row.at.replace(tzinfo=UTC)
    parts = [b"congdanso/audit-log/v1\x00", struct.pack(">qq", seq, (at - _EPOCH) // timedelta(microseconds=1))]
    for name in _TEXT_FIELDS:
        value = getattr(row, name)
        raw = None if value is None else str(value).encode()
        parts.append(b"\xff\xff\xff\xff" if raw is None else struct.pack(">I", len(raw)) + raw)
    parts.append(bytes.fromhex(prev_hash))
    return hashlib.sha256(b"".join(parts)).hexdigest()


def _backfill() -> None:
    connection = op.get_bind()
    log = sa.table(
        "access_log",
        *(sa.column(name, sa.String) for name in _TEXT_FIELDS),
        sa.column("at", UTC_TIME),
        sa.column("seq", sa.BigInteger),
        sa.column("prev_hash", sa.String),
        sa.column("entry_hash", sa.String),
    )
    rows = connection.execute(
        sa.select(*(log.c[name] for name in _TEXT_FIELDS), log.c.at).order_by(log.c.at, log.c.id)
    ).all()
    update = (
        sa.update(log)
        .where(log.c.id == sa.bindparam("row_id"))
        .values(seq=sa.bindparam("new_seq"), prev_hash=sa.bindparam("prev"), entry_hash=sa.bindparam("hash"))
    )
    prev, batch = _GENESIS, []
    for seq, row in enumerate(rows, start=1):
        digest = _v1_hash(row, seq, prev)
        batch.append({"row_id": row.id, "new_seq": seq, "prev": prev, "hash": digest})
        prev = digest
        if len(batch) >= _BATCH:
            connection.execute(update, batch)
            batch = []
    if batch:
        connection.execute(update, batch)


def upgrade() -> None:
    op.add_column("access_log", sa.Column("seq", sa.BigInteger, nullable=True))
    op.add_column("access_log", sa.Column("prev_hash", sa.String(64), nullable=True))
    op.add_column("access_log", sa.Column("entry_hash", sa.String(64), nullable=True))
    _backfill()
    with op.batch_alter_table("access_log") as batch:
        for name in ("seq", "prev_hash", "entry_hash"):
            batch.alter_column(name, nullable=False)
        batch.create_index("ix_access_log_seq", ["seq"], unique=True)
    op.create_table(
        "audit_checkpoint",
        sa.Column("seq", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("entry_hash", sa.String(64), nullable=False),
        sa.Column("at", UTC_TIME, nullable=False),
        sa.Column("kid", sa.String(64), nullable=False),
        sa.Column("signature", sa.Text, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("audit_checkpoint")
    with op.batch_alter_table("access_log") as batch:
        batch.drop_index("ix_access_log_seq")
        for name in ("entry_hash", "prev_hash", "seq"):
            batch.drop_column(name)
