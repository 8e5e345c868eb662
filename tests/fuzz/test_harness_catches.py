"""The test of the test: a route added without a policy entry stops the app at start-up, and the same route given a
public entry to start anyway, answering what its schema does not say, is what the fuzzing reports."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from litestar import Litestar, Response, get

from api.app import create_app
from api.cli import migrate
from api.policy import POLICY, PolicyError, Rule
from api.settings import Settings
from tests.fuzz.harness import Callers, Campaign
from tests.web.server import free_port

LEAK = "/api/v1/debug/citizens"


@get(LEAK, sync_to_thread=False)
def leak() -> Response[dict[str, int]]:
    """Declares a count; answers every citizen's ID with a status nobody documented."""
    return Response({"citizens": ["001095012345"]}, status_code=206)  # type: ignore[arg-type]


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    settings = Settings(data_dir=tmp_path, env="dev")
    migrate(settings)
    return settings


def test_a_route_without_a_policy_entry_stops_the_app(settings: Settings) -> None:
    with pytest.raises(PolicyError, match=f"GET {LEAK}"):
        create_app(settings, extra_routes=[leak])


@pytest.fixture
def leaky_server(settings: Settings) -> Iterator[str]:
    policy = POLICY.with_rules({("GET", LEAK): Rule(frozenset({"anonymous"}))})
    app: Litestar = create_app(settings, extra_routes=[leak], policy=policy)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    base_url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "the leaky app did not start"
        time.sleep(0.05)
    assert httpx.get(f"{base_url}/health").status_code == 200
    yield base_url
    server.should_exit = True
    thread.join(timeout=10)


def test_the_fuzzing_reports_a_public_route_answering_off_its_schema(leaky_server: str) -> None:
    campaign = Campaign(leaky_server, Callers({}), examples=3, paths=f"^{LEAK}$")
    figures = campaign.run(stateful=False)
    assert figures.operations == 1
    found: list[Any] = [f for f in figures.findings if f.operation == f"GET {LEAK}"]
    assert found, figures.summary()
    assert any("UndefinedStatusCode" in f.message for f in found), [str(f) for f in found]
