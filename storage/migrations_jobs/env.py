"""Alembic environment of this chain (see storage.migration_env)."""

from storage.migration_env import run_migrations

run_migrations()
