from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, MetaData, inspect
from sqlmodel import SQLModel

import notify.models  # noqa: F401 - registers the tables in SQLModel.metadata
import storage.migrate
from storage.migrate import current_revision, upgrade

TABLES = {"notification_outbox", "in_app_notice"}
NOTIFY = Path(__file__).parents[3] / "notify"


class TestMigration:
    def test_migration_matches_the_models(self, engine: Engine) -> None:
        metadata = MetaData()
        for name in TABLES:
            SQLModel.metadata.tables[name].to_metadata(metadata)

        def ours(name: str | None, type_: str, _parent: Any) -> bool:
            return type_ != "table" or name in TABLES

        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True, "include_name": ours})
            assert compare_metadata(context, metadata) == []

    def test_indexes(self, engine: Engine) -> None:
        inspector = inspect(engine)
        outbox = {ix["name"]: ix["column_names"] for ix in inspector.get_indexes("notification_outbox")}
        notices = {ix["name"]: ix["column_names"] for ix in inspector.get_indexes("in_app_notice")}
        assert outbox == {
            "ix_notification_outbox_recipient_id": ["recipient_id"],
            "ix_notification_outbox_due": ["status", "next_attempt_at"],
        }
        assert notices == {"ix_in_app_notice_recipient_id": ["recipient_id"]}

    def test_first_revision_upgrades_and_downgrades(self, tmp_path: Path) -> None:
        from storage.db import create_db_engine, sqlite_url

        engine = create_db_engine(sqlite_url(tmp_path / "fresh.db"))
        upgrade(engine, revision="20261124_01")
        assert current_revision(engine) == "20261124_01"
        assert set(inspect(engine).get_table_names()) >= TABLES

        config = Config()
        config.set_main_option("script_location", str(Path(storage.migrate.__file__).with_name("migrations")))
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.downgrade(config, "base")
        assert not TABLES & set(inspect(engine).get_table_names())
        engine.dispose()


class TestDependencyDirection:
    def test_notify_imports_only_crypto_storage_and_libraries(self) -> None:
        forbidden = {"api", "identity", "wallet", "consent", "tests"}
        for path in NOTIFY.glob("*.py"):
            for node in ast.walk(ast.parse(path.read_text())):
                names = []
                if isinstance(node, ast.Import):
                    names = [alias.name for alias in node.names]
                elif isinstance(node, ast.ImportFrom) and node.module:
                    names = [node.module]
                for name in names:
                    assert name.split(".")[0] not in forbidden, f"{path.name} imports {name}"

    def test_migration_does_not_import_the_domain(self) -> None:
        migration = Path(storage.migrate.__file__).parent / "migrations/versions/20261124_01_notify_outbox.py"
        tree = ast.parse(migration.read_text())
        modules = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
        modules |= {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
        assert modules <= {"collections.abc", "sqlalchemy", "alembic"}
