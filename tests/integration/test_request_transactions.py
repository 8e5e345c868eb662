"""What one request costs the databases, counted at the driver: a read is one transaction on the main database
(its caller's session row read once, in it) and, once the citizen's key is cached, nothing on the key store; a
counter scan reads in one transaction (its officer's row once) and writes its two rows in another, short one."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import anyio.to_thread
import pytest
import structlog
from sqlalchemy import Engine, event

from storage.db import is_sqlite
from tests.integration.conftest import Wallet


@dataclass
class Transactions:
    """The statements of each transaction an engine ran, in order (`begin` to `commit` or `rollback`)."""

    done: list[list[str]] = field(default_factory=list)

    def with_table(self, table: str) -> list[list[str]]:
        return [t for t in self.done if any(f" {table} " in f"{s} " for s in t)]

    def writes_to(self, table: str) -> bool:
        return any(s.startswith(("INSERT INTO " + table, "UPDATE " + table)) for t in self.done for s in t)


@contextmanager
def counted(engine: Engine) -> Iterator[Transactions]:
    seen = Transactions()
    open_ones: dict[int, list[str]] = {}

    def begin(conn: Any) -> None:
        open_ones[id(conn)] = []

    def statement(conn: Any, _cursor: Any, sql: str, *_args: Any) -> None:
        if not sql.startswith("BEGIN"):
            open_ones.setdefault(id(conn), []).append(" ".join(sql.split()))

    def end(conn: Any) -> None:
        seen.done.append(open_ones.pop(id(conn), []))

    listeners: list[tuple[str, Callable[..., None]]] = [
        ("begin", begin),
        ("before_cursor_execute", statement),
        ("commit", end),
        ("rollback", end),
    ]
    for name, listener in listeners:
        event.listen(engine, name, listener)
    try:
        yield seen
    finally:
        for name, listener in listeners:
            event.remove(engine, name, listener)


def test_a_citizens_read_is_one_transaction_with_one_session_lookup(wallet: Wallet) -> None:
    _data, tokens = wallet.register()
    token = tokens["access_token"]
    container = wallet.app.state.container
    assert wallet.get("/me", token).status_code == 200  # the key is cached from here on

    with counted(container.engine) as main, counted(container.keystore_engine) as keystore:
        answer = wallet.get("/me", token)

    assert answer.status_code == 200
    [checked] = main.with_table("auth_session")  # one session lookup...
    assert sum(" auth_session " in f"{s} " for s in checked) == 1
    assert main.with_table("citizen") == [checked]  # ...in the one transaction that also reads the profile
    assert [t for t in keystore.done if t] == []


def test_a_counter_scan_reads_in_one_transaction_and_writes_in_a_short_other(wallet: Wallet) -> None:
    _data, tokens = wallet.register()
    officer = wallet.counter_officer()
    qr = wallet.get("/me/qr", tokens["access_token"]).json()["token"]
    container = wallet.app.state.container

    with counted(container.engine) as reads, counted(container.scans.engine) as writes:
        scan = wallet.post("/verify/qr", {"token": qr}, officer)

    assert scan.status_code == 200 and scan.json()["valid"]
    [checked] = reads.with_table("auth_session")
    assert reads.with_table("officer") == [checked] and reads.with_table("citizen") == [checked]
    assert sum(" officer " in f"{s} " for s in checked) == 1  # the login check's read serves the scan too
    assert not reads.writes_to("presence") and not reads.writes_to("access_log")
    [written] = writes.with_table("presence")
    assert writes.with_table("access_log")[0] is written


def test_a_citizens_read_on_sqlite_runs_on_the_event_loop(wallet: Wallet, monkeypatch: pytest.MonkeyPatch) -> None:
    """On SQLite the caller check and the read run on the event loop (a WAL read costs less than the thread hops);
    on PostgreSQL, where each statement is a round trip, they go to worker threads."""
    _data, tokens = wallet.register()
    token = tokens["access_token"]
    assert wallet.get("/me", token).status_code == 200  # the key is cached from here on
    hops: list[str] = []
    run_sync = anyio.to_thread.run_sync

    async def counting(func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        # Only the requests' own hops: the outbox dispatcher, janitor and chain tasks poll on their own schedule.
        if "request_id" in structlog.contextvars.get_contextvars():
            hops.append(getattr(func, "__qualname__", repr(func)))
        return await run_sync(func, *args, **kwargs)

    monkeypatch.setattr(anyio.to_thread, "run_sync", counting)
    for path in ("/me", "/me/qr", "/documents"):
        assert wallet.get(path, token).status_code == 200, path

    expected = 0 if is_sqlite(wallet.app.state.container.engine) else 3 * 3  # the check, the read, the end
    # A unit no handler took ends after its answer is sent: give such an end a moment to be counted (or, on SQLite,
    # to show up as a hop it should not be).
    deadline = time.monotonic() + 1.0
    while len(hops) < max(expected, 1) and time.monotonic() < deadline:
        time.sleep(0.01)
    if expected == 0:
        assert hops == []
    else:
        assert len(hops) >= expected
