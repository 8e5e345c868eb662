"""Schema migrations: tables are created only through Alembic revisions.

Four independent chains, each with its own version table so they can share one database:
`main` (the service's data), `throttle` (shared counters), `keystore` (wrapped citizen keys,
normally in a database of its own so backups of the main database hold no keys) and `jobs` (the
background job queue's tables, procrastinate's own schema, on PostgreSQL only: `storage.jobs_schema`)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, MetaData

Chain = Literal["main", "throttle", "keystore", "jobs"]
_HERE = Path(__file__).parent
_CHAINS: dict[Chain, tuple[Path, str]] = {
    "main": (_HERE / "migrations", "alembic_version"),
    "throttle": (_HERE / "migrations_throttle", "alembic_version_throttle"),
    "keystore": (_HERE / "migrations_keystore", "alembic_version_keystore"),
    "jobs": (_HERE / "migrations_jobs", "alembic_version_jobs"),
}


def _config(chain: Chain, metadata: MetaData | None) -> Config:
    scripts, version_table = _CHAINS[chain]
    config = Config()
    config.set_main_option("script_location", str(scripts))
    config.attributes["target_metadata"] = metadata
    config.attributes["version_table"] = version_table
    return config


def upgrade(engine: Engine, *, chain: Chain = "main", metadata: MetaData | None = None, revision: str = "head") -> None:
    """Bring one chain to `revision`; safe to run on every start."""
    config = _config(chain, metadata)
    if chain == "jobs":
        # A transaction per revision: procrastinate's files add enum values that a later file uses, which
        # PostgreSQL allows only once the values are committed.
        config.attributes["transaction_per_migration"] = True
        with engine.connect() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, revision)
        return
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def downgrade(engine: Engine, *, chain: Chain = "main", revision: str = "base") -> None:
    config = _config(chain, None)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, revision)


def current_revision(engine: Engine, *, chain: Chain = "main") -> str | None:
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"version_table": _CHAINS[chain][1]})
        return context.get_current_revision()


def head_revision(chain: Chain = "main") -> str | None:
    return ScriptDirectory.from_config(_config(chain, None)).get_current_head()
