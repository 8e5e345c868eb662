"""The wallet: documents, their sealed versions and files, and pending blobs.

Revision ID: 20261124_03
Revises: 20261124_02
Create Date: 2026-11-24
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "20261124_03"
down_revision: str | None = "20261124_02"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None

UTC_TIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "document",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("citizen_id", sa.String(36), sa.ForeignKey("citizen.id"), nullable=False, index=True),
        sa.Column("type", sa.String(40), nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("provenance", sa.String(24), nullable=False),
        sa.Column("issuer_code", sa.String(64), nullable=True),
        sa.Column("revoked_at", UTC_TIME, nullable=True),
        sa.Column("current_version", sa.Integer, nullable=False),
        sa.Column("created_at", UTC_TIME, nullable=False),
        sa.Column("updated_at", UTC_TIME, nullable=False),
    )
    op.create_table(
        "document_version",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("document_id", sa.String(36), sa.ForeignKey("document.id"), nullable=False, index=True),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("wrapped_data_key", sa.LargeBinary, nullable=False),
        sa.Column("sealed", sa.LargeBinary, nullable=False),
        sa.Column("created_at", UTC_TIME, nullable=False),
        sa.UniqueConstraint("document_id", "version"),
    )
    op.create_table(
        "document_file",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("document_id", sa.String(36), sa.ForeignKey("document.id"), nullable=False, index=True),
        sa.Column("citizen_id", sa.String(36), nullable=False, index=True),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("blob_key", sa.String(200), nullable=False, unique=True),
        sa.Column("stored_size", sa.BigInteger, nullable=False),
        sa.Column("sealed_meta", sa.LargeBinary, nullable=False),
        sa.Column("created_at", UTC_TIME, nullable=False),
    )
    op.create_table(
        "pending_blob",
        sa.Column("blob_key", sa.String(200), primary_key=True),
        sa.Column("citizen_id", sa.String(36), nullable=False, index=True),
        sa.Column("created_at", UTC_TIME, nullable=False),
    )


def downgrade() -> None:
    for table in ("pending_blob", "document_file", "document_version", "document"):
        op.drop_table(table)
