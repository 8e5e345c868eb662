"""Room for a citizen's replacement key beside the current one (`<citizen id>#next`, see
crypto.citizen_keys.CitizenKeys.begin_replacement).

Revision ID: 20261206_k2
Revises: 20261124_k1
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "20261206_k2"
down_revision: str | None = "20261124_k1"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("citizen_key") as batch:
        batch.alter_column("citizen_id", type_=sa.String(48), existing_type=sa.String(36), existing_nullable=False)


def downgrade() -> None:
    op.execute("DELETE FROM citizen_key WHERE citizen_id LIKE '%#%'")
    with op.batch_alter_table("citizen_key") as batch:
        batch.alter_column("citizen_id", type_=sa.String(36), existing_type=sa.String(48), existing_nullable=False)
