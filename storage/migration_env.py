"""The body of every Alembic env.py: run on the connection handed over by `storage.migrate`."""

from __future__ import annotations

from alembic import context


def run_migrations() -> None:
    config = context.config
    connection = config.attributes.get("connection")
    if connection is None:
        raise RuntimeError("run migrations through storage.migrate, which supplies the connection")
    context.configure(
        connection=connection,
        target_metadata=config.attributes.get("target_metadata"),
        render_as_batch=connection.dialect.name == "sqlite",
        version_table=config.attributes.get("version_table", "alembic_version"),
        compare_type=True,
        transaction_per_migration=config.attributes.get("transaction_per_migration", False),
    )
    with context.begin_transaction():
        context.run_migrations()
