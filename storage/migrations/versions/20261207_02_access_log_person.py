"""The access log names the person who acted for an agency (an officer), chained by encoding version 2.

Revision ID: 20261207_02
Revises: 20261207_01
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "20261207_02"
down_revision: str | None = "20261207_01"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("access_log") as batch:
        batch.add_column(sa.Column("actor_person", sa.String(200), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("access_log") as batch:
        batch.drop_column("actor_person")
