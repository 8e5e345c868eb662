"""Per-citizen storage usage, reserved atomically by uploads: a row per citizen with the bytes their papers hold
(backfilled from the files stored so far), and the bytes each pending blob has reserved.

Revision ID: 20261209_02
Revises: 20261209_01
Create Date: 2026-12-09
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "20261209_02"
down_revision: str | None = "20261209_01"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "citizen_usage",
        sa.Column("citizen_id", sa.String(length=36), nullable=False),
        sa.Column("stored_bytes", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("citizen_id"),
    )
    op.execute(
        "INSERT INTO citizen_usage (citizen_id, stored_bytes) "
        "SELECT citizen_id, SUM(stored_size) FROM document_file GROUP BY citizen_id"
    )
    with op.batch_alter_table("pending_blob") as batch:
        batch.add_column(sa.Column("reserved_bytes", sa.BigInteger(), nullable=False, server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("pending_blob") as batch:
        batch.drop_column("reserved_bytes")
    op.drop_table("citizen_usage")
