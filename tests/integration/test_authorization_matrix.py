"""Every route of the policy table × every kind of caller × another owner's ids (tests/integration/authz_matrix.py),
and the matrix's own test: a route left out of the table stops the app, and a route that leaks is caught."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from litestar import Litestar, get
from litestar.datastructures import State
from litestar.testing import TestClient

from api.app import create_app
from api.cli import migrate
from api.deps import container_of
from api.policy import POLICY, PolicyError, Rule
from crypto.clock import FrozenClock
from storage.db import transaction
from tests.conftest import _database_params, fresh_database
from tests.integration.authz_matrix import Matrix
from tests.integration.authz_world import World, build_world
from tests.integration.conftest import START, Wallet, settings_for
from wallet.models import Document

ROUTES = sorted((key, rule) for key, rule in POLICY.items())


@pytest.fixture(scope="module", params=_database_params())
def world(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    """One world for the whole matrix, on SQLite and on PostgreSQL (the ownership rules are queries)."""
    folder = tmp_path_factory.mktemp("matrix")
    database = fresh_database(request, tmp_path_factory, migrated=True)
    settings = settings_for(folder, next(database), token_per_client_per_minute=1000)
    migrate(settings)
    app = create_app(settings, clock=FrozenClock(START))
    with TestClient(app) as client:
        yield build_world(Wallet(app, client, FrozenClock(START), settings))
    next(database, None)  # drops a PostgreSQL database


@pytest.fixture(scope="module")
def matrix(world: World) -> Matrix:
    return Matrix(world)


@pytest.mark.parametrize(("key", "rule"), ROUTES, ids=[f"{m} {p}" for (m, p), _ in ROUTES])
def test_route(matrix: Matrix, key: tuple[str, str], rule: Rule) -> None:
    method, path = key
    wrong = matrix.row(method, path, rule)
    assert not wrong, "\n".join(str(cell) for cell in wrong)


def test_the_matrix_covers_every_route_of_the_app(world: World) -> None:
    served = {(m, r.path_format) for r in world.wallet.app.routes for m in r.methods if m not in ("HEAD", "OPTIONS")}
    assert served == {key for key, _ in ROUTES}
    assert len(served) > 150


LEAK = "/api/v1/leak/{document_id}"


@get("/api/v1/leak/{document_id:str}", sync_to_thread=True)
def leak(document_id: str, state: State) -> dict[str, Any]:
    """A deliberately careless route: any signed-in citizen reads any paper's type by its id."""
    container = container_of(state)
    with transaction(container.engine) as session:
        document = session.get(Document, document_id)
        return {"type": document.type if document else None}


class TestTheMatrixItself:
    def test_a_route_without_a_policy_entry_stops_the_app(self, world: World) -> None:
        with pytest.raises(PolicyError, match=re.escape("GET /api/v1/leak/{document_id}")):
            create_app(world.wallet.settings, extra_routes=[leak])

    def test_a_route_that_leaks_another_citizens_paper_is_caught(self, world: World) -> None:
        citizens_only = Rule(frozenset({"citizen"}))
        policy = POLICY.with_rules({("GET", LEAK): citizens_only})
        settings, clock = world.wallet.settings, world.wallet.clock
        app: Litestar = create_app(settings, clock=clock, extra_routes=[leak], policy=policy)
        with TestClient(app) as client:
            doctored = World(**{**vars(world), "wallet": Wallet(app, client, clock, settings)})
            wrong = Matrix(doctored).row("GET", LEAK, citizens_only)
        assert [(cell.caller, cell.expected, cell.status) for cell in wrong] == [("another citizen", "404", 200)], [
            str(cell) for cell in wrong
        ]
