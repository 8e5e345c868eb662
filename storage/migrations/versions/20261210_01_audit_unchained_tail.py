"""The access log's chain columns may be empty for a moment: on PostgreSQL an entry is inserted with its request's
transaction, unchained, and a short transaction of its own gives it `seq`, `prev_hash` and `entry_hash` right after
(`audit.appends`), so appends no longer wait for each other's commits. A partial index finds that unchained tail.

Revision ID: 20261210_01
Revises: 20261209_02
Create Date: 2026-12-10
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "20261210_01"
down_revision: str | None = "20261209_02"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None

_UNCHAINED = sa.text("seq IS NULL")


def upgrade() -> None:
    with op.batch_alter_table("access_log") as batch:
        for name in ("seq", "prev_hash", "entry_hash"):
            batch.alter_column(name, nullable=True)
    op.create_index(
        "ix_access_log_unchained",
        "access_log",
        ["at", "id"],
        postgresql_where=_UNCHAINED,
        sqlite_where=_UNCHAINED,
    )


def downgrade() -> None:
    op.drop_index("ix_access_log_unchained", table_name="access_log")
    # Only a chained log fits the old schema: an unchained entry left behind has to be chained first.
    with op.batch_alter_table("access_log") as batch:
        for name in ("entry_hash", "prev_hash", "seq"):
            batch.alter_column(name, nullable=False)
