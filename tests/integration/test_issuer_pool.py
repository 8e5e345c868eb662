"""Issuing and verifying when the database pool is all but taken, as under load when every other connection is held
by a request waiting for SQLite's write lock: each step of a request must need only one connection at a time, or
the writer holding the lock waits for a second one that only its own commit could free (a stall until the busy
timeout, then an error). On SQLite and PostgreSQL."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager

from sqlalchemy import Engine

from api.deps import container_of
from tests.integration.conftest import Wallet
from tests.integration.test_issuer import Issuing, issuing  # noqa: F401  (the fixture)

# Far under the pool's and SQLite's 30 s timeouts: an answer that takes this long waited for a connection.
PROMPT_S = 10.0


@contextmanager
def pool_all_but_one(engine: Engine) -> Iterator[None]:
    """Hold every connection of the engine's pool but one, as requests queued on the write lock would."""
    pool = engine.pool
    capacity = pool.size() + pool._max_overflow  # type: ignore[attr-defined]  # QueuePool's bound, no public getter
    with ExitStack() as held:
        for _ in range(capacity - 1):
            held.enter_context(engine.connect())
        yield


def _container_engine(wallet: Wallet) -> Engine:
    return container_of(wallet.app.state).engine


def test_issuing_needs_one_connection_at_a_time(issuing: Issuing) -> None:  # noqa: F811
    with pool_all_but_one(_container_engine(issuing.wallet)):
        started = time.monotonic()
        answer = issuing.issue()
        elapsed = time.monotonic() - started
    assert answer.status_code == 201, answer.text
    assert elapsed < PROMPT_S


def test_verifying_needs_one_connection_at_a_time(issuing: Issuing) -> None:  # noqa: F811
    token = issuing.issued()["verification"]["token"]
    with pool_all_but_one(_container_engine(issuing.wallet)):
        started = time.monotonic()
        answer = issuing.verify(token)
        elapsed = time.monotonic() - started
    assert answer.status_code == 200, answer.text
    assert answer.json()["valid"] is True
    assert answer.json()["document"]["issuer"]["name"] == "Sở Tư pháp Đà Nẵng"
    assert elapsed < PROMPT_S
