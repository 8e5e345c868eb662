"""Accounts, OTP challenges, TOTP, sessions and refresh tokens.

Revision ID: 20261124_02
Revises: 20261124_01
Create Date: 2026-11-24
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "20261124_02"
down_revision: str | None = "20261124_01"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None

UTC_TIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "citizen",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("national_id_index", sa.String(64), nullable=False, unique=True),
        sa.Column("phone_index", sa.String(64), nullable=False, index=True),
        sa.Column("qr_id", sa.String(40), nullable=False, unique=True),
        sa.Column("profile_sealed", sa.LargeBinary, nullable=False),
        sa.Column("pin_hash", sa.String(200), nullable=False),
        sa.Column("status", sa.String(16), nullable=False, index=True),
        sa.Column("created_at", UTC_TIME, nullable=False),
        sa.Column("activated_at", UTC_TIME, nullable=True),
    )
    op.create_table(
        "agency",
        sa.Column("code", sa.String(64), primary_key=True),
        sa.Column("name", sa.String(300), nullable=False),
        sa.Column("client_id", sa.String(64), nullable=False, unique=True),
        sa.Column("secret_hash", sa.String(64), nullable=False),
        sa.Column("scopes", sa.String(1000), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_at", UTC_TIME, nullable=False),
    )
    op.create_table(
        "officer",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("phone", sa.String(16), nullable=False, unique=True),
        sa.Column("full_name", sa.String(200), nullable=False),
        sa.Column("agency_code", sa.String(64), sa.ForeignKey("agency.code"), nullable=False, index=True),
        sa.Column("pin_hash", sa.String(200), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_at", UTC_TIME, nullable=False),
    )
    op.create_table(
        "otp_challenge",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("subject_type", sa.String(16), nullable=False),
        sa.Column("subject_id", sa.String(36), nullable=False, index=True),
        sa.Column("purpose", sa.String(16), nullable=False),
        sa.Column("channel", sa.String(8), nullable=False),
        sa.Column("code_hash", sa.String(64), nullable=True),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("created_at", UTC_TIME, nullable=False),
        sa.Column("expires_at", UTC_TIME, nullable=False),
        sa.Column("consumed_at", UTC_TIME, nullable=True),
    )
    op.create_table(
        "totp_credential",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("subject_type", sa.String(16), nullable=False),
        sa.Column("subject_id", sa.String(36), nullable=False),
        sa.Column("secret_sealed", sa.LargeBinary, nullable=True),
        sa.Column("pending_secret_sealed", sa.LargeBinary, nullable=True),
        sa.Column("confirmed_at", UTC_TIME, nullable=True),
        sa.Column("last_used_step", sa.Integer, nullable=True),
        sa.Column("created_at", UTC_TIME, nullable=False),
        sa.UniqueConstraint("subject_type", "subject_id"),
    )
    op.create_table(
        "auth_session",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("subject_type", sa.String(16), nullable=False),
        sa.Column("subject_id", sa.String(36), nullable=False, index=True),
        sa.Column("auth_time", UTC_TIME, nullable=False),
        sa.Column("last_seen_at", UTC_TIME, nullable=False),
        sa.Column("expires_at", UTC_TIME, nullable=False),
        sa.Column("revoked_at", UTC_TIME, nullable=True),
        sa.Column("revoked_reason", sa.String(32), nullable=True),
    )
    op.create_table(
        "refresh_token",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("session_id", sa.String(36), sa.ForeignKey("auth_session.id"), nullable=False, index=True),
        sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("created_at", UTC_TIME, nullable=False),
        sa.Column("spent_at", UTC_TIME, nullable=True),
    )


def downgrade() -> None:
    for table in (
        "refresh_token",
        "auth_session",
        "totp_credential",
        "otp_challenge",
        "officer",
        "agency",
        "citizen",
    ):
        op.drop_table(table)
