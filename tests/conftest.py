"""Shared fixtures: a real database per test (SQLite file, and PostgreSQL started by the test setup)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from tests.oidc_provider import TEST_CLIENT_REDIRECT_URI, OidcProvider
from tests.postgres import PostgresServer
from tests.seaweed import SeaweedServer


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--no-postgres", action="store_true", help="run database tests on SQLite only")


@pytest.fixture(scope="session")
def postgres_server(request: pytest.FixtureRequest) -> Iterator[PostgresServer]:
    with PostgresServer() as server:
        yield server


@pytest.fixture(scope="session")
def seaweed() -> Iterator[SeaweedServer]:
    """A real S3 server (SeaweedFS), started once per session and only if a test asks for it."""
    with SeaweedServer() as server:
        yield server


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def _database_params() -> list[object]:
    return ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


@pytest.fixture(params=_database_params())
def database_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The URL of a fresh, empty database: SQLite in a temp folder, or a new PostgreSQL database."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path_factory.mktemp('db') / 'wallet.db'}"
        return
    if request.config.getoption("--no-postgres"):
        pytest.skip("PostgreSQL disabled with --no-postgres")
    server: PostgresServer = request.getfixturevalue("postgres_server")
    name = f"t_{uuid.uuid4().hex[:12]}"
    url = server.create_database(name)
    yield url
    server.drop_database(name)


@pytest.fixture(scope="session")
def oidc_provider() -> Iterator[OidcProvider]:
    """A real OpenID Provider (Node oidc-provider behind a tampering proxy), started once per session if asked.

    Shared by every test: set `tamper` only through `oidc_provider.tampering(mode)`, which restores it.
    """
    with OidcProvider(extra_redirect_uris=[TEST_CLIENT_REDIRECT_URI]) as provider:
        yield provider
