"""The access log narrowed by agency and period: composite indexes that serve the citizen's keyset pages, whole or
filtered, as one range scan each; they replace the single-column index on `citizen_id` (their common prefix).

Revision ID: 20261207_01
Revises: 20261206_01
Create Date: 2026-12-07
"""

from collections.abc import Sequence

from alembic import op

revision: str = "20261207_01"
down_revision: str | None = "20261206_01"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_access_log_citizen_at", "access_log", ["citizen_id", "at", "id"])
    op.create_index("ix_access_log_citizen_actor_at", "access_log", ["citizen_id", "actor_code", "at", "id"])
    op.drop_index("ix_access_log_citizen_id", table_name="access_log")


def downgrade() -> None:
    op.create_index("ix_access_log_citizen_id", "access_log", ["citizen_id"])
    op.drop_index("ix_access_log_citizen_actor_at", table_name="access_log")
    op.drop_index("ix_access_log_citizen_at", table_name="access_log")
