"""Schema migrations: tables are created only through Alembic revisions."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, MetaData

_SCRIPTS = Path(__file__).with_name("migrations")


def _config(metadata: MetaData | None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(_SCRIPTS))
    config.attributes["target_metadata"] = metadata
    return config


def upgrade(engine: Engine, *, metadata: MetaData | None = None, revision: str = "head") -> None:
    """Bring the database to `revision`; safe to run on every start and from several workers."""
    config = _config(metadata)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def head_revision() -> str | None:
    return ScriptDirectory.from_config(_config(None)).get_current_head()
