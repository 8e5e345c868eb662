"""The audit trail: the citizens' access log and the presence records of officers' QR scans.

Revision ID: 20261124_04
Revises: 20261124_03
Create Date: 2026-11-24
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "20261124_04"
down_revision: str | None = "20261124_03"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None

UTC_TIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "access_log",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("citizen_id", sa.String(36), nullable=False, index=True),
        sa.Column("at", UTC_TIME, nullable=False),
        sa.Column("actor_type", sa.String(16), nullable=False),
        sa.Column("actor_code", sa.String(64), nullable=False),
        sa.Column("actor_name", sa.String(300), nullable=False),
        sa.Column("action", sa.String(40), nullable=False),
        sa.Column("document_id", sa.String(36), nullable=True),
        sa.Column("consent_id", sa.String(36), nullable=True),
        sa.Column("purpose", sa.String(500), nullable=True),
    )
    op.create_table(
        "presence",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("citizen_id", sa.String(36), nullable=False, index=True),
        sa.Column("officer_id", sa.String(36), nullable=False, index=True),
        sa.Column("agency_code", sa.String(64), nullable=False),
        sa.Column("scanned_at", UTC_TIME, nullable=False),
        sa.Column("expires_at", UTC_TIME, nullable=False),
    )


def downgrade() -> None:
    for table in ("presence", "access_log"):
        op.drop_table(table)
