"""Notifications: the transactional outbox and the in-app inbox.

Revision ID: 20261124_01
Revises:
Create Date: 2026-11-24
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "20261124_01"
down_revision: str | None = None
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "notification_outbox",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("recipient_id", sa.String(64), nullable=True),
        sa.Column("payload_sealed", sa.LargeBinary(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.String(64), nullable=True),
        sa.CheckConstraint("status IN ('pending', 'sent', 'dead')", name="ck_notification_outbox_status"),
    )
    op.create_index("ix_notification_outbox_recipient_id", "notification_outbox", ["recipient_id"])
    op.create_index("ix_notification_outbox_due", "notification_outbox", ["status", "next_attempt_at"])
    op.create_table(
        "in_app_notice",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("recipient_id", sa.String(64), nullable=False),
        sa.Column("payload_sealed", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("read_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_in_app_notice_recipient_id", "in_app_notice", ["recipient_id"])


def downgrade() -> None:
    op.drop_index("ix_in_app_notice_recipient_id", table_name="in_app_notice")
    op.drop_table("in_app_notice")
    op.drop_index("ix_notification_outbox_due", table_name="notification_outbox")
    op.drop_index("ix_notification_outbox_recipient_id", table_name="notification_outbox")
    op.drop_table("notification_outbox")
