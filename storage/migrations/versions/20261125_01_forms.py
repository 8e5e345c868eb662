"""Once-only e-forms: dossiers, the papers they reference and their status history.

Revision ID: 20261125_01
Revises: 20261124_07
Create Date: 2026-11-25
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "20261125_01"
down_revision: str | None = "20261124_07"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None

UTC_TIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "application",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("citizen_id", sa.String(36), sa.ForeignKey("citizen.id"), nullable=False, index=True),
        sa.Column("procedure_code", sa.String(64), nullable=False, index=True),
        sa.Column("agency_code", sa.String(64), nullable=False, index=True),
        sa.Column("status", sa.String(16), nullable=False, index=True),
        sa.Column("dossier_code", sa.String(64), nullable=True, unique=True),
        sa.Column("revision", sa.Integer, nullable=False),
        sa.Column("wrapped_key", sa.LargeBinary, nullable=False),
        sa.Column("sealed", sa.LargeBinary, nullable=False),
        sa.Column("field_count", sa.Integer, nullable=False),
        sa.Column("prefilled_count", sa.Integer, nullable=False),
        sa.Column("reused_count", sa.Integer, nullable=False),
        sa.Column("uploaded_count", sa.Integer, nullable=False),
        sa.Column("login_at", UTC_TIME, nullable=True),
        sa.Column("created_at", UTC_TIME, nullable=False),
        sa.Column("updated_at", UTC_TIME, nullable=False),
        sa.Column("submitted_at", UTC_TIME, nullable=True),
        sa.Column("decided_at", UTC_TIME, nullable=True),
        sa.Column("result_document_id", sa.String(36), nullable=True),
        sa.Column("rating_score", sa.Integer, nullable=True),
        sa.Column("rating_comment_sealed", sa.LargeBinary, nullable=True),
        sa.Column("rated_at", UTC_TIME, nullable=True),
        sa.Column("erased", sa.Boolean, nullable=False),
    )
    op.create_table(
        "application_document",
        sa.Column("application_id", sa.String(36), sa.ForeignKey("application.id"), primary_key=True),
        sa.Column("type", sa.String(40), primary_key=True),
        sa.Column("document_id", sa.String(36), nullable=False, index=True),
        sa.Column("origin", sa.String(16), nullable=False),
        sa.Column("version", sa.Integer, nullable=True),
        sa.Column("attached_at", UTC_TIME, nullable=False),
    )
    op.create_table(
        "application_event",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("application_id", sa.String(36), sa.ForeignKey("application.id"), nullable=False, index=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("actor_type", sa.String(16), nullable=False),
        sa.Column("actor_code", sa.String(64), nullable=True),
        sa.Column("at", UTC_TIME, nullable=False),
        sa.Column("note_sealed", sa.LargeBinary, nullable=True),
    )


def downgrade() -> None:
    for table in ("application_event", "application_document", "application"):
        op.drop_table(table)
