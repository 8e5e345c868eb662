"""Identity assurance: the citizen's level, papers held until level 2, proofing records, recoveries and national
e-ID login transactions.

Revision ID: 20261206_01
Revises: 20261125_02
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "20261206_01"
down_revision: str | None = "20261125_02"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None

UTC_TIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("citizen") as batch:
        batch.add_column(sa.Column("assurance", sa.Integer(), nullable=False, server_default="1"))
    with op.batch_alter_table("document") as batch:
        batch.add_column(sa.Column("held_at", UTC_TIME, nullable=True))
    op.create_table(
        "identity_proofing",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("citizen_id", sa.String(36), nullable=False, index=True),
        sa.Column("method", sa.String(16), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("at", UTC_TIME, nullable=False),
        sa.Column("officer_id", sa.String(36), nullable=True, index=True),
        sa.Column("agency_code", sa.String(64), nullable=True),
        sa.Column("eid_issuer", sa.String(300), nullable=True),
        sa.Column("closed_impostor", sa.Boolean(), nullable=False),
    )
    op.create_table(
        "identity_recovery",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("national_id_index", sa.String(64), nullable=False, index=True),
        sa.Column("method", sa.String(16), nullable=False),
        sa.Column("officer_id", sa.String(36), nullable=True, index=True),
        sa.Column("agency_code", sa.String(64), nullable=True),
        sa.Column("eid_issuer", sa.String(300), nullable=True),
        sa.Column("sealed", sa.LargeBinary(), nullable=False),
        sa.Column("challenge_id", sa.String(36), nullable=False, index=True),
        sa.Column("created_at", UTC_TIME, nullable=False),
        sa.Column("expires_at", UTC_TIME, nullable=False),
        sa.Column("completed_at", UTC_TIME, nullable=True),
    )
    op.create_table(
        "eid_login",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("state_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("binding_hash", sa.String(64), nullable=False),
        sa.Column("intent", sa.String(16), nullable=False),
        sa.Column("citizen_id", sa.String(36), nullable=True),
        sa.Column("sealed", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", UTC_TIME, nullable=False),
        sa.Column("expires_at", UTC_TIME, nullable=False),
        sa.Column("consumed_at", UTC_TIME, nullable=True),
    )
    op.create_table(
        "eid_ticket",
        sa.Column("ticket_hash", sa.String(64), primary_key=True),
        sa.Column("citizen_id", sa.String(36), nullable=False),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("challenge_id", sa.String(36), nullable=True),
        sa.Column("expires_at", UTC_TIME, nullable=False),
        sa.Column("consumed_at", UTC_TIME, nullable=True),
    )


def downgrade() -> None:
    for table in ("eid_ticket", "eid_login", "identity_recovery", "identity_proofing"):
        op.drop_table(table)
    with op.batch_alter_table("document") as batch:
        batch.drop_column("held_at")
    with op.batch_alter_table("citizen") as batch:
        batch.drop_column("assurance")
