"""Database failures answer as the database being unavailable (503 with Retry-After), never as a 500, unless the
server itself reported a fault of ours."""

from __future__ import annotations

import psycopg
import pytest
from litestar import Litestar, get
from litestar.testing import TestClient
from sqlalchemy.exc import InternalError, OperationalError

from api.errors import exception_handlers


def _failing(exc: Exception) -> Litestar:
    @get("/fails", sync_to_thread=False)
    def fails() -> None:
        raise exc

    return Litestar(route_handlers=[fails], exception_handlers=exception_handlers())


class _ServerInternalError(psycopg.errors.InternalError_):
    sqlstate = "XX000"  # as PostgreSQL reports its own internal errors


@pytest.mark.parametrize(
    "exc",
    [
        # psycopg's own report when a connection's protocol state broke under a restarting server
        InternalError("BEGIN", {}, psycopg.InternalError("received 2 results from command 'BEGIN'")),
        OperationalError("SELECT 1", {}, psycopg.OperationalError("server closed the connection unexpectedly")),
    ],
)
def test_a_broken_connection_answers_503(exc: Exception) -> None:
    with TestClient(_failing(exc)) as client:
        answer = client.get("/fails")
    assert answer.status_code == 503
    assert answer.json()["code"] == "database_unavailable"
    assert answer.headers["retry-after"] == "30"


def test_an_internal_error_the_server_reports_stays_a_500() -> None:
    exc = InternalError("SELECT 1", {}, _ServerInternalError("could not open relation"))
    with TestClient(_failing(exc)) as client:
        answer = client.get("/fails")
    assert answer.status_code == 500
    assert answer.json()["code"] == "internal_error"
