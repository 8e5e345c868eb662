"""The job queue: procrastinate's SQL files up to 3.10 (the second half of 3.4's).

Revision ID: 20261211_j3
Revises: 20261211_j2
Create Date: 2026-12-11
"""

from collections.abc import Sequence

from alembic import op

from storage.jobs_schema import apply_sql_files

revision: str = "20261211_j3"
down_revision: str | None = "20261211_j2"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None

FILES = ("03.04.00_50_post_add_retry_failed_job_procedure.sql",)


def upgrade() -> None:
    apply_sql_files(op.get_bind(), FILES)


def downgrade() -> None:
    pass  # the first revision drops the whole queue schema
