"""The job queue's schema as procrastinate ships it: its SQL delta files, applied by the `jobs` migration chain.

PostgreSQL only (the queue uses LISTEN/NOTIFY, `FOR UPDATE SKIP LOCKED` and PL/pgSQL); on SQLite the chain applies
nothing, since the embedded service runs its periodic work in-process."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from sqlalchemy import Connection

_OBJECTS = """
DO $$
DECLARE item record;
BEGIN
    FOR item IN SELECT p.oid::regprocedure AS signature, p.prokind FROM pg_proc p
        JOIN pg_namespace n ON n.oid = p.pronamespace
        WHERE n.nspname = current_schema() AND p.proname LIKE 'procrastinate\\_%'
    LOOP
        IF item.prokind = 'p' THEN
            EXECUTE 'DROP PROCEDURE IF EXISTS ' || item.signature || ' CASCADE';
        ELSE
            EXECUTE 'DROP FUNCTION IF EXISTS ' || item.signature || ' CASCADE';
        END IF;
    END LOOP;
END $$;
DROP TABLE IF EXISTS procrastinate_periodic_defers, procrastinate_events, procrastinate_jobs, procrastinate_workers
    CASCADE;
DROP TYPE IF EXISTS procrastinate_job_status, procrastinate_job_event_type, procrastinate_job_to_defer_v1 CASCADE;
"""


def migrations_folder() -> Path:
    import procrastinate.schema

    return Path(procrastinate.schema.SchemaManager.get_migrations_path())


def apply_sql_files(connection: Connection, names: Sequence[str]) -> None:
    """Run procrastinate's named SQL files in order, in the migration's transaction; nothing on SQLite."""
    if connection.dialect.name != "postgresql":
        return
    folder = migrations_folder()
    for name in names:
        _execute_script(connection, (folder / name).read_text(encoding="utf-8"))


def drop_schema(connection: Connection) -> None:
    if connection.dialect.name == "postgresql":
        _execute_script(connection, _OBJECTS)


def _execute_script(connection: Connection, script: str) -> None:
    # The driver's own connection: with no parameters psycopg sends the script as is (several statements, `%` and
    # `:name` untouched), where SQLAlchemy's text() would read `:name` as a bind parameter.
    driver = connection.connection.driver_connection
    if driver is None:
        raise RuntimeError("no driver connection")
    driver.execute(script)
