"""The statistics' index (`forms.stats_sql`): on PostgreSQL it includes every column a report reads, so a report scans
it alone, in procedure order; it replaces the plain index on the procedure code, which it serves as well.

Revision ID: 20261212_01
Revises: 20261211_02
Create Date: 2026-12-12
"""

from collections.abc import Sequence

from alembic import op

revision: str = "20261212_01"
down_revision: str | None = "20261211_02"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None

# As `forms.models.STATS_COLUMNS` is today: a migration keeps the schema it made, whatever the model becomes.
_INCLUDED = [
    "submitted_at",
    "created_at",
    "login_at",
    "decided_at",
    "status",
    "field_count",
    "prefilled_count",
    "reused_count",
    "uploaded_count",
    "rating_score",
    "due_at",
]


def upgrade() -> None:
    op.create_index("ix_application_stats", "application", ["procedure_code"], postgresql_include=_INCLUDED)
    op.drop_index("ix_application_procedure_code", table_name="application")


def downgrade() -> None:
    op.create_index("ix_application_procedure_code", "application", ["procedure_code"])
    op.drop_index("ix_application_stats", table_name="application")
