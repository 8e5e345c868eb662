"""The job queue: procrastinate's SQL files from 2.8 to 3.4's first half (which adds the `retried` event type).

Revision ID: 20261211_j2
Revises: 20261211_j1
Create Date: 2026-12-11
"""

from collections.abc import Sequence

from alembic import op

from storage.jobs_schema import apply_sql_files

revision: str = "20261211_j2"
down_revision: str | None = "20261211_j1"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None

FILES = (
    "02.08.00_01_add_additional_params_to_retry_job.sql",
    "02.14.01_01_add_indexes_for_fetch_job.sql",
    "03.00.00_01_pre_cancel_notification.sql",
    "03.00.00_50_post_cancel_notification.sql",
    "03.01.00_01_pre_add_heartbeat.sql",
    "03.01.00_50_post_add_heartbeat.sql",
    "03.02.00_01_pre_batch_defer_jobs.sql",
    "03.02.00_50_post_batch_defer_jobs.sql",
    "03.03.00_01_pre_priority_lock_fetch_job.sql",
    "03.04.00_01_pre_add_retry_failed_job_procedure.sql",
)


def upgrade() -> None:
    apply_sql_files(op.get_bind(), FILES)


def downgrade() -> None:
    pass  # the first revision drops the whole queue schema
