"""On PostgreSQL every query the service makes can be served by an index, so no request's cost grows with the
number of citizens, papers or log entries.

The queries are the service's own, not a list kept by hand: every statement the app sends while the authorization
matrix's world is built through the API (sign-ups, papers and scans, a dossier, a consent and its pull, an issued
paper, a counter scan) and while every route is asked by every kind of caller (tests/integration/authz_matrix.py).
Each distinct statement is then planned again with sequential scans disabled: a plan that still reads a table
sequentially, or walks a whole index only to filter its rows, has no index to use. On a test database every table is
tiny, so the planner's own choice would prove nothing; with `enable_seqscan` off it picks an index whenever one can
serve the query. Not covered here: what only the command line and the periodic jobs run (the janitor, audit
checkpoints, expiry), and the e-ID login.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import sqlalchemy as sa
from litestar.testing import TestClient

from api.app import create_app
from api.cli import migrate
from api.policy import POLICY
from crypto.clock import FrozenClock
from tests.conftest import fresh_database
from tests.integration.authz_matrix import Matrix
from tests.integration.authz_world import build_world
from tests.integration.conftest import START, Wallet, settings_for

pytestmark = pytest.mark.postgres

# Tables whose size does not grow with use: a scan of them costs the same with a million citizens.
BOUNDED = {
    "agency": "one row per agency the operator registered",
}
# Partial indexes that hold only a bounded part of their table: reading one whole reads only that part.
BOUNDED_INDEXES = {
    "ix_access_log_unchained": "access-log entries not yet chained, each for the milliseconds until its chaining",
}
_PLANNED = ("select", "update", "delete", "with")


@dataclass(frozen=True)
class Statement:
    sql: str
    parameters: Any


@pytest.fixture(scope="module", params=[pytest.param("postgres", marks=pytest.mark.postgres)])
def statements(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """The distinct statements (with one set of their parameters) sent while the world is built and the matrix asked,
    and the URL of the database they ran on."""
    folder = tmp_path_factory.mktemp("plans")
    database = fresh_database(request, tmp_path_factory, migrated=True)
    url = next(database)
    settings = settings_for(folder, url, token_per_client_per_minute=1000)
    migrate(settings)
    seen: dict[str, Any] = {}
    database_name = sa.make_url(url).database

    def capture(conn: sa.Connection, _cursor: Any, sql: str, parameters: Any, _context: Any, executemany: bool) -> None:
        # The service's statements on this database: not the migrations' bookkeeping or the catalog reads.
        if conn.engine.url.database != database_name or not sql.lstrip().lower().startswith(_PLANNED):
            return
        if "alembic_version" in sql or "pg_catalog." in sql:
            return
        seen.setdefault(sql, parameters[0] if executemany and parameters else parameters)

    sa.event.listen(sa.engine.Engine, "before_cursor_execute", capture)
    try:
        app = create_app(settings, clock=FrozenClock(START))
        with TestClient(app) as client:
            world = build_world(Wallet(app, client, FrozenClock(START), settings))
            matrix = Matrix(world)
            for (method, path), rule in sorted(POLICY.items()):
                matrix.row(method, path, rule)
    finally:
        sa.event.remove(sa.engine.Engine, "before_cursor_execute", capture)
    yield {"url": url, "statements": seen}
    next(database, None)


def _scanned_tables(connection: sa.Connection, sql: str, parameters: Any) -> set[str]:
    """The tables the plan reads in full: a sequential scan, or an index walked end to end to filter its rows (what
    the planner picks when sequential scans are off and no index matches the condition)."""
    connection.exec_driver_sql("SET LOCAL enable_seqscan = off")
    plan = connection.exec_driver_sql(f"EXPLAIN (FORMAT JSON) {sql}", parameters).scalar_one()
    return set(_full_reads(plan[0]["Plan"], _partition_roots(connection)))


def _partition_roots(connection: sa.Connection) -> dict[str, str]:
    """Each partition, and each index of one, named by the partitioned table or index it belongs to (the monthly
    partitions of `storage.partitions`), so a plan reads in the names of the tables and indexes of the models."""
    rows = connection.exec_driver_sql(
        "SELECT relname, pg_partition_root(oid)::regclass::text FROM pg_class WHERE relispartition"
    )
    return {str(name): str(root) for name, root in rows}


def _full_reads(node: dict[str, Any], roots: dict[str, str]) -> Iterator[str]:
    kind = node["Node Type"]
    walked = kind in {"Index Scan", "Index Only Scan"} and "Index Cond" not in node and "Filter" in node
    if kind == "Seq Scan" or (walked and roots.get(node["Index Name"], node["Index Name"]) not in BOUNDED_INDEXES):
        yield roots.get(node["Relation Name"], node["Relation Name"])
    for child in node.get("Plans", []):
        yield from _full_reads(child, roots)


def test_the_capture_holds_the_service_s_queries(statements: dict[str, Any]) -> None:
    captured = " ".join(statements["statements"])
    assert len(statements["statements"]) > 80
    for table in ("document", "access_log", "auth_session", "consent", "application", "notification_outbox"):
        assert f"FROM {table}" in captured or f"UPDATE {table}" in captured, table


def _unindexed(connection: sa.Connection, statements: dict[str, Any]) -> dict[str, list[str]]:
    """Growing tables read in full, each with the statements that read it so."""
    unindexed: dict[str, list[str]] = {}
    for sql, parameters in statements.items():
        for table in _scanned_tables(connection, sql, parameters) - BOUNDED.keys():
            unindexed.setdefault(table, []).append(" ".join(sql.split())[:300])
    return unindexed


def test_every_query_can_use_an_index(statements: dict[str, Any]) -> None:
    engine = sa.create_engine(statements["url"], poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as connection, connection.begin():
            unindexed = _unindexed(connection, statements["statements"])
    finally:
        engine.dispose()
    report = [f"{table}: {len(queries)} queries, e.g. {queries[0]}" for table, queries in sorted(unindexed.items())]
    assert not unindexed, "growing tables read in full:\n" + "\n".join(report)


def test_a_query_whose_index_is_gone_is_caught(statements: dict[str, Any]) -> None:
    """Without the secondary indexes of `document` (dropped in a transaction rolled back), the wallet's list and the
    papers' other lookups read the table in full, and the check says so."""
    engine = sa.create_engine(statements["url"], poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as connection, connection.begin():
            indexes = connection.exec_driver_sql(
                "SELECT indexname FROM pg_indexes WHERE tablename = 'document' AND indexname NOT LIKE '%%pkey'"
            ).scalars()
            for name in list(indexes):
                connection.exec_driver_sql(f'DROP INDEX "{name}"')
            unindexed = _unindexed(connection, statements["statements"])
            connection.rollback()
    finally:
        engine.dispose()
    assert set(unindexed) == {"document"}
    assert any("citizen_id" in query for query in unindexed["document"])
