"""A dossier's due date: its procedure's processing time in working days after its (last) submission.

Revision ID: 20261208_01
Revises: 20261207_02
Create Date: 2026-12-08

Dossiers submitted before this revision keep no due date (NULL: never shown as overdue); their procedure's time
could have changed since, and a migration must not depend on the catalog file the service is configured with.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "20261208_01"
down_revision: str | None = "20261207_02"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("application") as batch:
        batch.add_column(sa.Column("due_at", sa.DateTime(timezone=True), nullable=True))
    # the agency's overdue list: its open dossiers by due date
    op.create_index("ix_application_agency_status_due", "application", ["agency_code", "status", "due_at"])


def downgrade() -> None:
    op.drop_index("ix_application_agency_status_due", table_name="application")
    with op.batch_alter_table("application") as batch:
        batch.drop_column("due_at")
