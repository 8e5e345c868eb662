"""A database error's message names the statement but never its values: a logged fault carries no personal data."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import event, text
from sqlalchemy.exc import IntegrityError, OperationalError

from storage.db import create_db_engine


def test_a_failed_statement_does_not_repeat_its_values(tmp_path: Path) -> None:
    engine = create_db_engine(f"sqlite:///{tmp_path / 'x.db'}", pool_size=1)
    try:
        with engine.begin() as connection:
            connection.execute(text("CREATE TABLE person (national_id TEXT PRIMARY KEY)"))
            connection.execute(text("INSERT INTO person VALUES (:id)"), {"id": "048090001234"})
        with pytest.raises(IntegrityError) as failed, engine.begin() as connection:
            connection.execute(text("INSERT INTO person VALUES (:id)"), {"id": "048090001234"})
    finally:
        engine.dispose()
    assert "INSERT INTO person" in str(failed.value)
    assert "048090001234" not in str(failed.value)


def test_a_transaction_that_cannot_begin_fails_as_a_database_error(tmp_path: Path) -> None:
    """SQLite's BEGIN goes to the driver directly; when the write lock stays taken, the failure is still SQLAlchemy's
    OperationalError (which the API answers as 503 database_unavailable), not the driver's own exception."""
    path = tmp_path / "x.db"
    engine = create_db_engine(f"sqlite:///{path}", pool_size=1)
    event.listen(engine, "connect", lambda connection, _record: connection.execute("PRAGMA busy_timeout=0"))
    holder = sqlite3.connect(path, isolation_level=None)
    try:
        holder.execute("BEGIN IMMEDIATE")
        with pytest.raises(OperationalError) as failed, engine.begin():
            pass
    finally:
        holder.close()
        engine.dispose()
    assert isinstance(failed.value.orig, sqlite3.OperationalError)
