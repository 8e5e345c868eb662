"""Consent: agencies' requests, citizens' consents and every transition of either.

Revision ID: 20261124_07
Revises: 20261124_06
Create Date: 2026-11-24
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "20261124_07"
down_revision: str | None = "20261124_06"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None

UTC_TIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "consent_request",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("agency_code", sa.String(64), nullable=False, index=True),
        sa.Column("agency_name", sa.String(300), nullable=False),
        sa.Column("officer_id", sa.String(36), nullable=True),
        sa.Column("citizen_id", sa.String(36), nullable=True, index=True),
        sa.Column("national_id_index", sa.String(64), nullable=False, index=True),
        sa.Column("purpose", sa.String(500), nullable=False),
        sa.Column("document_types", sa.JSON, nullable=False),
        sa.Column("fields", sa.JSON, nullable=True),
        sa.Column("valid_days", sa.Integer, nullable=False),
        sa.Column("presence_id", sa.String(36), nullable=True),
        sa.Column("collection_method", sa.String(16), nullable=False),
        sa.Column("notice", sa.Text, nullable=False),
        sa.Column("notice_sha256", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_at", UTC_TIME, nullable=False),
        sa.Column("expires_at", UTC_TIME, nullable=False),
        sa.Column("decided_at", UTC_TIME, nullable=True),
        sa.Column("consent_id", sa.String(36), nullable=True),
    )
    op.create_table(
        "consent",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("request_id", sa.String(36), sa.ForeignKey("consent_request.id"), nullable=False, unique=True),
        sa.Column("citizen_id", sa.String(36), nullable=False, index=True),
        sa.Column("agency_code", sa.String(64), nullable=False, index=True),
        sa.Column("agency_name", sa.String(300), nullable=False),
        sa.Column("purpose", sa.String(500), nullable=False),
        sa.Column("document_types", sa.JSON, nullable=False),
        sa.Column("fields", sa.JSON, nullable=True),
        sa.Column("document_ids", sa.JSON, nullable=False),
        sa.Column("collection_method", sa.String(16), nullable=False),
        sa.Column("notice_sha256", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_at", UTC_TIME, nullable=False),
        sa.Column("valid_until", UTC_TIME, nullable=False),
        sa.Column("revoked_at", UTC_TIME, nullable=True),
        sa.Column("artefact", sa.Text, nullable=False),
        sa.Column("kid", sa.String(64), nullable=False),
    )
    op.create_table(
        "consent_event",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("subject_type", sa.String(16), nullable=False),
        sa.Column("subject_id", sa.String(36), nullable=False, index=True),
        sa.Column("at", UTC_TIME, nullable=False),
        sa.Column("actor_type", sa.String(16), nullable=False),
        sa.Column("actor_id", sa.String(64), nullable=False),
        sa.Column("from_status", sa.String(16), nullable=True),
        sa.Column("to_status", sa.String(16), nullable=False),
    )


def downgrade() -> None:
    for table in ("consent_event", "consent", "consent_request"):
        op.drop_table(table)
