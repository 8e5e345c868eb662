"""Shared fixtures: a real database per test (SQLite file, and PostgreSQL started by the test setup)."""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from api.logging import configure_logging
from storage.db import create_db_engine
from storage.migrate import upgrade
from tests import log_audit
from tests.oidc_provider import TEST_CLIENT_REDIRECT_URI, OidcProvider
from tests.postgres import PostgresServer
from tests.seaweed import SeaweedServer

if TYPE_CHECKING:
    from tests.softhsm import SoftHsm

_AUDIT_ROOT = pytest.StashKey[Path]()


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--no-postgres", action="store_true", help="run database tests on SQLite only")


def pytest_configure(config: pytest.Config) -> None:
    """The controller points every process of the run (workers inherit its environment, as do the servers they
    start) at one folder for log copies and test citizens' markers; each process logs there from the start."""
    if not hasattr(config, "workerinput") and log_audit.MARKERS_DIR_ENV not in os.environ:
        root = Path(tempfile.mkdtemp(prefix="cds-log-audit-"))
        config.stash[_AUDIT_ROOT] = root
        log_audit.start(root)
    configure_logging("critical")


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Fail the run if any process logged a test citizen's data or a secret."""
    root = session.config.stash.get(_AUDIT_ROOT, None)
    if root is None:
        return
    findings = log_audit.audit(root)
    if findings:
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        lines = [f"personal data or a secret in {len(findings)} log line(s):", *map(str, findings[:20])]
        if reporter is not None:
            reporter.write_sep("=", "log audit failed", red=True)
            reporter.write_line("\n".join(lines))
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
    else:
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres_server(request: pytest.FixtureRequest) -> Iterator[PostgresServer]:
    with PostgresServer() as server:
        yield server


@pytest.fixture(scope="session")
def softhsm() -> Iterator[SoftHsm]:
    """SoftHSM2 for this test process (each test makes its own token); skipped only where it is not installed."""
    from tests.softhsm import SoftHsm, find_library

    if find_library() is None:
        pytest.skip("SoftHSM2's PKCS#11 library is not installed (`make system-deps` installs Debian's softhsm2)")
    hsm = SoftHsm()
    yield hsm
    hsm.remove()


@pytest.fixture(scope="session")
def seaweed() -> Iterator[SeaweedServer]:
    """A real S3 server (SeaweedFS), started once per session and only if a test asks for it."""
    with SeaweedServer() as server:
        yield server


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def _database_params() -> list[object]:
    if os.environ.get("WALLET_TEST_BASE_URL"):  # end-to-end mode: the stack's database, run once (integration/conftest)
        return ["stack"]
    return ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite database with the main chain migrated once; each test starts from a copy (the migrations still run on
    every test run, here and in `tests/integration/test_migrations.py`). On SQLite the throttle counters and the keys
    live in files of their own, migrated by each test's settings."""
    path = tmp_path_factory.mktemp("template") / "wallet.db"
    engine = create_db_engine(f"sqlite:///{path}")
    upgrade(engine, chain="main")
    engine.dispose()
    return path


@pytest.fixture(scope="session")
def postgres_template(postgres_server: PostgresServer) -> str:
    """A PostgreSQL database migrated once (the main, throttle and job queue chains share it there), the template of
    every test's database (`CREATE DATABASE … TEMPLATE`)."""
    name = f"t_template_{uuid.uuid4().hex[:8]}"
    engine = create_db_engine(postgres_server.create_database(name), pool_size=1)
    for chain in ("main", "throttle", "jobs"):
        upgrade(engine, chain=chain)
    engine.dispose()
    return name


def fresh_database(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, *, migrated: bool
) -> Iterator[str]:
    """A database of its own for one test: SQLite in a temp folder or a new PostgreSQL database; `migrated` starts
    it from the migrated template (fast), otherwise it is empty."""
    if request.param == "stack":
        yield "stack"  # the stack's own database, reached through its API only
        return
    if request.param == "sqlite":
        path = tmp_path_factory.mktemp("db") / "wallet.db"
        if migrated:
            shutil.copyfile(request.getfixturevalue("sqlite_template"), path)
        yield f"sqlite:///{path}"
        return
    if request.config.getoption("--no-postgres"):
        pytest.skip("PostgreSQL disabled with --no-postgres")
    server: PostgresServer = request.getfixturevalue("postgres_server")
    name = f"t_{uuid.uuid4().hex[:12]}"
    template = request.getfixturevalue("postgres_template") if migrated else None
    url = server.create_database(name, template=template)
    yield url
    server.drop_database(name)


@pytest.fixture(params=_database_params())
def database_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The URL of a database of the current schema (the migrated template's copy), SQLite or PostgreSQL."""
    yield from fresh_database(request, tmp_path_factory, migrated=True)


@pytest.fixture(params=_database_params())
def empty_database_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The URL of an empty database (for the migration tests themselves)."""
    yield from fresh_database(request, tmp_path_factory, migrated=False)


@pytest.fixture(scope="session")
def oidc_provider() -> Iterator[OidcProvider]:
    """A real OpenID Provider (Node oidc-provider behind a tampering proxy), started once per session if asked.

    Shared by every test: set `tamper` only through `oidc_provider.tampering(mode)`, which restores it.
    """
    with OidcProvider(extra_redirect_uris=[TEST_CLIENT_REDIRECT_URI]) as provider:
        yield provider
