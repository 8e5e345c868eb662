"""The agency's dossier list, whole or narrowed by status or procedure, newest first: composite indexes ending in the
id (the list's order and cursor), so each page is one backward range scan that stops after a page of rows, whatever
the table holds (the overdue filter uses `ix_application_agency_status_due`).

Revision ID: 20261208_02
Revises: 20261208_01
Create Date: 2026-12-08
"""

from collections.abc import Sequence

from alembic import op

revision: str = "20261208_02"
down_revision: str | None = "20261208_01"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_application_agency_id", "application", ["agency_code", "id"])
    op.create_index("ix_application_agency_status_id", "application", ["agency_code", "status", "id"])
    op.create_index("ix_application_agency_procedure_id", "application", ["agency_code", "procedure_code", "id"])


def downgrade() -> None:
    op.drop_index("ix_application_agency_procedure_id", table_name="application")
    op.drop_index("ix_application_agency_status_id", table_name="application")
    op.drop_index("ix_application_agency_id", table_name="application")
