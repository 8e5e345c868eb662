from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import OperationalError

from tests.postgres import PostgresServer

pytestmark = pytest.mark.postgres


@pytest.fixture(scope="module")
def pg() -> Iterator[PostgresServer]:
    with PostgresServer() as server:
        yield server


class TestPostgresServer:
    def test_select_one_through_sqlalchemy(self, pg: PostgresServer) -> None:
        url = pg.create_database("smoke")
        engine = sa.create_engine(url)
        try:
            with engine.connect() as conn:
                assert conn.execute(sa.text("SELECT 1")).scalar_one() == 1
        finally:
            engine.dispose()
        pg.drop_database("smoke")

    def test_stop_and_start_keep_the_data(self, pg: PostgresServer) -> None:
        engine = sa.create_engine(pg.create_database("fault"), pool_pre_ping=True)
        try:
            with engine.begin() as conn:
                conn.execute(sa.text("CREATE TABLE t (n int)"))
                conn.execute(sa.text("INSERT INTO t VALUES (7)"))
            pg.stop()
            with pytest.raises(OperationalError), engine.connect() as conn:
                conn.execute(sa.text("SELECT 1"))
            pg.start()
            with engine.connect() as conn:
                assert conn.execute(sa.text("SELECT n FROM t")).scalar_one() == 7
        finally:
            engine.dispose()
        pg.drop_database("fault")

    def test_url_names_the_database(self, pg: PostgresServer) -> None:
        assert pg.url("abc") == f"postgresql+psycopg://postgres:{pg.password}@127.0.0.1:{pg.port}/abc"
