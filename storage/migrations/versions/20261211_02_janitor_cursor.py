"""Where the janitor's walk over the blob store stopped (`wallet.janitor`): one row a walk, its last key examined.

Revision ID: 20261211_02
Revises: 20261211_01
Create Date: 2026-12-11
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from storage.types import UTCDateTime

revision: str = "20261211_02"
down_revision: str | None = "20261211_01"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "janitor_cursor",
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("position", sa.String(length=1024), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )


def downgrade() -> None:
    op.drop_table("janitor_cursor")
