"""Sessions remember their login (a step-up renews `auth_time`, not the login): the e-form statistics measure
the time from login to submission.

Revision ID: 20261125_02
Revises: 20261125_01
Create Date: 2026-11-25
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "20261125_02"
down_revision: str | None = "20261125_01"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("auth_session") as batch:
        batch.add_column(sa.Column("started_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("auth_session") as batch:
        batch.drop_column("started_at")
