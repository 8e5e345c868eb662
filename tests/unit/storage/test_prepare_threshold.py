"""`?prepare_threshold=` in a PostgreSQL URL: psycopg's automatic prepared statements, off behind PgBouncer."""

from __future__ import annotations

import pytest
from sqlalchemy.engine import make_url

from storage.db import _prepare_threshold, create_db_engine
from tests.postgres import PostgresServer

BASE = "postgresql+psycopg://wallet:pw@127.0.0.1:6432/wallet"


class TestPrepareThreshold:
    @pytest.mark.parametrize(("query", "expected"), [("none", None), ("None", None), ("0", 0), ("7", 7)])
    def test_the_query_parameter_becomes_a_connect_argument(self, query: str, expected: int | None) -> None:
        url, connect_args = _prepare_threshold(make_url(f"{BASE}?prepare_threshold={query}&application_name=x"))
        assert connect_args == {"prepare_threshold": expected}
        assert "prepare_threshold" not in url.query and url.query["application_name"] == "x"

    def test_a_url_without_it_is_left_alone(self) -> None:
        url, connect_args = _prepare_threshold(make_url(BASE))
        assert connect_args == {} and url == make_url(BASE)

    @pytest.mark.postgres
    @pytest.mark.parametrize(("query", "prepared"), [("", 1), ("?prepare_threshold=none", 0)])
    def test_repeated_statements_are_prepared_only_without_it(
        self, postgres_server: PostgresServer, query: str, prepared: int
    ) -> None:
        engine = create_db_engine(postgres_server.url() + query, pool_size=1)
        try:
            with engine.connect() as connection:
                for _ in range(10):  # psycopg prepares a statement at its fifth run on a connection
                    connection.exec_driver_sql("SELECT 1")
                count = connection.exec_driver_sql("SELECT count(*) FROM pg_prepared_statements").scalar_one()
            assert count == prepared
        finally:
            engine.dispose()
