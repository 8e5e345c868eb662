"""Alembic migrations on both databases: empty to head, idempotent, identical to the models, reversible.

The three chains (`main`, `throttle`, `keystore`) each keep their own version table, so they are run
here on one shared database, as a PostgreSQL deployment does.
"""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Column, Engine, Integer, MetaData, Table, event, inspect
from sqlmodel import SQLModel

from api.cli import migrate
from storage.db import create_db_engine
from storage.keystore import keystore_metadata
from storage.migrate import Chain, current_revision, downgrade, head_revision, upgrade
from storage.partitions import UNIQUE_ONLY_ON_SQLITE, is_partition
from storage.throttle import throttle_metadata
from tests.integration.conftest import settings_for

DOMAIN_PACKAGES = ("identity", "notify", "wallet", "consent", "forms", "audit", "assurance")
CHAINS: tuple[Chain, ...] = ("main", "throttle", "keystore")
VERSION_TABLES = {"alembic_version", "alembic_version_throttle", "alembic_version_keystore"}
DDL_PREFIXES = ("CREATE", "ALTER", "DROP")


def models_metadata() -> MetaData:
    """Every table the code expects: the models of every domain package, the throttle and key store tables."""
    for package in DOMAIN_PACKAGES:
        if importlib.util.find_spec(package) is not None and importlib.util.find_spec(f"{package}.models"):
            importlib.import_module(f"{package}.models")
    combined = MetaData()
    for metadata in (SQLModel.metadata, throttle_metadata, keystore_metadata):
        for table in metadata.tables.values():
            table.to_metadata(combined)
    return combined


def upgrade_all(engine: Engine) -> None:
    for chain in CHAINS:
        upgrade(engine, chain=chain, metadata=SQLModel.metadata if chain == "main" else None)


def differences(engine: Engine, metadata: MetaData) -> list[Any]:
    def not_a_version_table(name: str | None, type_: str, _parent: Any) -> bool:
        return not (type_ == "table" and (name in VERSION_TABLES or is_partition(name)))

    with engine.connect() as connection:
        context = MigrationContext.configure(
            connection,
            opts={"compare_type": True, "compare_server_default": True, "include_name": not_a_version_table},
        )
        found = list(compare_metadata(context, metadata))
    if engine.dialect.name == "postgresql":  # monthly partitions: a unique index must hold the partition key there
        found = [d for d in found if not (d[0] in ("add_index", "remove_index") and d[1].name in UNIQUE_ONLY_ON_SQLITE)]
    return found


def tables(engine: Engine) -> set[str]:
    """The tables, partitions left out (PostgreSQL's monthly partitions, `storage.partitions`)."""
    return {name for name in inspect(engine).get_table_names() if not is_partition(name)}


@pytest.fixture
def engine(empty_database_url: str) -> Iterator[Engine]:
    engine = create_db_engine(empty_database_url, pool_size=1)
    yield engine
    engine.dispose()


class TestUpgradeFromEmpty:
    def test_an_empty_database_reaches_head_on_every_chain(self, engine: Engine) -> None:
        assert all(current_revision(engine, chain=chain) is None for chain in CHAINS)
        upgrade_all(engine)
        for chain in CHAINS:
            assert current_revision(engine, chain=chain) == head_revision(chain) is not None
        assert set(models_metadata().tables) | VERSION_TABLES == tables(engine)

    def test_running_them_again_is_a_no_op(self, engine: Engine) -> None:
        upgrade_all(engine)
        statements: list[str] = []

        def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
            statements.append(statement.strip().upper())

        event.listen(engine, "before_cursor_execute", record)
        try:
            upgrade_all(engine)
        finally:
            event.remove(engine, "before_cursor_execute", record)
        assert statements, "the second run should at least read the version tables"
        assert [s for s in statements if s.startswith(DDL_PREFIXES)] == []
        assert [s for s in statements if s.startswith(("INSERT", "UPDATE", "DELETE"))] == []
        for chain in CHAINS:
            assert current_revision(engine, chain=chain) == head_revision(chain)


class TestMigrationsMatchTheModels:
    def test_autogenerate_finds_no_difference(self, engine: Engine) -> None:
        upgrade_all(engine)
        assert differences(engine, models_metadata()) == []

    def test_the_comparison_would_see_a_missing_table(self, engine: Engine) -> None:
        # Guards the test above: a table only in the models must be reported.
        upgrade_all(engine)
        metadata = models_metadata()
        Table("not_migrated", metadata, Column("id", Integer, primary_key=True))
        found = differences(engine, metadata)
        assert [(d[0], d[1].name) for d in found] == [("add_table", "not_migrated")]


class TestDowngrade:
    def test_down_to_base_then_up_again(self, engine: Engine) -> None:
        upgrade_all(engine)
        for chain in reversed(CHAINS):
            downgrade(engine, chain=chain, revision="base")
            assert current_revision(engine, chain=chain) is None
        assert tables(engine) <= VERSION_TABLES
        upgrade_all(engine)
        for chain in CHAINS:
            assert current_revision(engine, chain=chain) == head_revision(chain)
        assert differences(engine, models_metadata()) == []

    def test_one_chain_goes_down_alone(self, engine: Engine) -> None:
        upgrade_all(engine)
        downgrade(engine, chain="throttle", revision="base")
        remaining = tables(engine)
        assert not {"throttle_window", "throttle_penalty"} & remaining
        assert {"citizen", "notification_outbox", "citizen_key"} <= remaining
        assert current_revision(engine, chain="main") == head_revision("main")


class TestDefaultLayout:
    """`congdanso migrate` with the default settings: keys and counters live outside the main database."""

    def test_the_main_database_holds_no_keys_and_no_counters(self, tmp_path: Path, database_url: str) -> None:
        settings = settings_for(tmp_path, database_url)
        migrate(settings)
        main = create_db_engine(settings.resolved_database_url, pool_size=1)
        keystore = create_db_engine(settings.resolved_keystore_url, pool_size=1)
        try:
            assert "citizen_key" not in tables(main)
            assert "citizen" in tables(main)
            assert tables(keystore) == {"citizen_key", "alembic_version_keystore"}
            if settings.resolved_throttle_url != settings.resolved_database_url:
                assert not {"throttle_window", "throttle_penalty"} & tables(main)
        finally:
            main.dispose()
            keystore.dispose()
