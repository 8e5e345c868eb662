"""Attestations: the signed JWS of each version of an issuer-signed paper, kept after the paper is deleted.

Revision ID: 20261124_05
Revises: 20261124_04
Create Date: 2026-11-24
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "20261124_05"
down_revision: str | None = "20261124_04"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None

UTC_TIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "attestation",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("document_id", sa.String(36), nullable=False, index=True),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("citizen_id", sa.String(36), nullable=False, index=True),
        sa.Column("type", sa.String(40), nullable=False),
        sa.Column("issuer_code", sa.String(64), nullable=False),
        sa.Column("kid", sa.String(64), nullable=False),
        sa.Column("procedure_code", sa.String(100), nullable=True),
        sa.Column("dossier_code", sa.String(100), nullable=True),
        sa.Column("document_name", sa.String(500), nullable=False),
        sa.Column("requester_hash", sa.String(64), nullable=False),
        sa.Column("issued_at", UTC_TIME, nullable=False),
        sa.Column("valid_until", sa.Date, nullable=True),
        sa.Column("revoked_at", UTC_TIME, nullable=True),
        sa.Column("token", sa.Text, nullable=False),
        sa.UniqueConstraint("document_id", "version"),
    )


def downgrade() -> None:
    op.drop_table("attestation")
