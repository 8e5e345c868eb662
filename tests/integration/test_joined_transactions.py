"""`storage.db.transaction` and a request's unit on a connection that holds the transaction, with a session joined to
it: what the session left pending commits with it, a failure leaves nothing, a counted failure keeps its changes, and
prebuilt statements run on that connection, inside the same transaction."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine, select, text
from sqlmodel import Session

from identity.models import Agency
from storage.db import connection_of, create_db_engine, end_joined, joined_session, read_only, transaction

NOW = datetime(2026, 12, 7, tzinfo=UTC)


class Counted(Exception):
    keeps_changes = True


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = create_db_engine(database_url, pool_size=2)
    yield engine
    engine.dispose()


def _agency(code: str) -> Agency:
    return Agency(
        code=code, name=f"Cơ quan {code}", client_id=f"client-{code}", secret_hash="-", scopes="", created_at=NOW
    )


def _codes(engine: Engine) -> set[str]:
    with read_only(engine).connect() as connection:
        return set(connection.execute(select(Agency.code)).scalars())  # type: ignore[call-overload]


def test_what_the_session_left_pending_commits(engine: Engine) -> None:
    with transaction(engine) as session:
        session.add(_agency("A-PENDING"))  # never flushed by the work itself
    assert "A-PENDING" in _codes(engine)


def _failing(engine: Engine, code: str, error: Exception) -> None:
    with transaction(engine) as session:
        session.add(_agency(code))
        session.flush()
        connection_of(session).execute(text("SELECT 1"))
        raise error


def test_a_failure_leaves_nothing(engine: Engine) -> None:
    with pytest.raises(RuntimeError):
        _failing(engine, "A-FLUSHED", RuntimeError("half-way"))
    assert "A-FLUSHED" not in _codes(engine)


def test_a_counted_failure_keeps_its_changes(engine: Engine) -> None:
    with pytest.raises(Counted):
        _failing(engine, "A-COUNTED", Counted())
    assert "A-COUNTED" in _codes(engine)


def test_a_failing_flush_at_the_end_rolls_everything_back(engine: Engine) -> None:
    with transaction(engine) as session:
        session.add(_agency("A-TWICE"))
    connection, session = joined_session(engine)
    session.add(_agency("A-BESIDE"))
    session.flush()
    session.add(_agency("A-TWICE"))  # a duplicate key, met only by the final flush
    with pytest.raises(Exception, match=r"(?i)unique|duplicate"):
        end_joined(session, connection, commit=True)
    assert "A-BESIDE" not in _codes(engine)
    assert connection.closed


def test_prebuilt_statements_run_in_the_sessions_transaction(engine: Engine) -> None:
    connection, session = joined_session(engine)
    try:
        session.add(_agency("A-SEEN"))
        session.flush()
        assert connection_of(session) is connection
        seen = connection_of(session).execute(select(Agency.code).where(Agency.code == "A-SEEN"))  # type: ignore[call-overload]
        assert seen.scalar_one() == "A-SEEN"  # the session's flushed row, not yet committed
        assert "A-SEEN" not in _codes(engine)
    finally:
        end_joined(session, connection, commit=False)
    assert "A-SEEN" not in _codes(engine)


def test_a_reading_connection_sees_what_was_committed(engine: Engine) -> None:
    with transaction(engine) as session:
        session.add(_agency("A-READ"))
    connection, session = joined_session(read_only(engine))
    try:
        assert session.get(Agency, "A-READ") is not None
        assert connection_of(session) is connection
    finally:
        end_joined(session, connection, commit=True)


def test_a_session_of_its_own_is_asked_for_its_connection(engine: Engine) -> None:
    with Session(engine) as session:
        assert connection_of(session) is session.connection()
