"""The body of every Alembic env.py: run on the connection handed over by `storage.migrate`."""

from __future__ import annotations

from typing import Any

from alembic import context

from storage.partitions import is_partition


def _not_a_partition(name: str | None, type_: str, _parent: Any) -> bool:
    # PostgreSQL's monthly partitions are made by the migrations and `ensure_partitions`, never by the models.
    return not (type_ == "table" and is_partition(name))


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
        include_name=_not_a_partition,
    )
    with context.begin_transaction():
        context.run_migrations()
