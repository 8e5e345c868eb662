"""Throttle counters: fixed windows and growing-delay penalties.

Revision ID: 20261124_t1
Revises:
Create Date: 2026-11-24
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "20261124_t1"
down_revision: str | None = None
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None

UTC_TIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "throttle_window",
        sa.Column("key", sa.String(200), primary_key=True),
        sa.Column("window_start", UTC_TIME, nullable=False),
        sa.Column("count", sa.Integer, nullable=False),
    )
    op.create_table(
        "throttle_penalty",
        sa.Column("key", sa.String(200), primary_key=True),
        sa.Column("failures", sa.Integer, nullable=False),
        sa.Column("blocked_until", UTC_TIME, nullable=True),
        sa.Column("updated_at", UTC_TIME, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("throttle_penalty")
    op.drop_table("throttle_window")
