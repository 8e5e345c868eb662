"""A database error's message names the statement but never its values: a logged fault carries no personal data."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

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
