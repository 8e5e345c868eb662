"""The production topology on this machine (`make stack-up`): PostgreSQL behind PgBouncer in transaction mode, a
SeaweedFS cluster, two app workers behind HAProxy; everything through the load balancer, real processes only."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import time
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from api.container import build_container
from api.settings import Settings
from jobs.metrics import FAILED, OLDEST_QUEUED
from stack.layout import State
from stack.processes import started_at
from tests.integration.jobs_helpers import queue_message, sent_with
from tests.integration.wallet_helpers import cccd_fields, png_bytes
from tests.stack.conftest import RunningStack
from tests.stack.e2e import QUICK, run_e2e

# Up (~16 s), the flows and the end-to-end slice (~10 s), down (~20 s: the filer waits 15 s for its gRPC streams):
# about a minute and a quarter here.
pytestmark = [pytest.mark.stack, pytest.mark.timeout(300)]
EXPECTED = {"postgres", "pgbouncer", "weed-master", "weed-volume-1", "weed-volume-2", "weed-filer", "weed-s3"}
EXPECTED |= {"app-1", "app-2", "jobs", "haproxy"}


class TestStack:
    def test_serves_through_the_balancer_survives_a_killed_worker_and_stops_clean(
        self, running_stack: RunningStack
    ) -> None:
        status = running_stack.status()
        assert set(status) == EXPECTED
        assert all(row["health"] == "up" for row in status.values()), status
        assert_commands_act_on_the_stack(running_stack, status)
        assert_the_job_worker_sends_the_outbox(running_stack)
        assert_the_balancer_bounds_request_heads(running_stack)
        # A slice of the integration tests over HTTP through the balancer (the whole set: make test-stack-e2e).
        e2e = run_e2e(running_stack, *QUICK)
        report = e2e.stdout[-3000:] + e2e.stderr[-2000:]
        assert e2e.returncode == 0 and re.search(rf"\b{len(QUICK)} passed", e2e.stdout), report
        with running_stack.api() as api:
            token = a_citizen_with_a_paper(running_stack, api)
            os.kill(status["app-2"]["pid"], signal.SIGKILL)
            # At once, before any health check noticed: the balancer sends each GET the dead worker fails on again,
            # to the live one; every answer is a success.
            answers = [api.get("/me", headers=bearer(token)).status_code for _ in range(40)]
            assert answers == [200] * 40
        after = wait_for(lambda: running_stack.status()["app-2"], lambda row: row["balancer"].startswith("DOWN"))
        assert after["health"] == "down"
        listed = running_stack.run("status", "--json")  # as an operator's script reads it: degraded, exit 1
        assert listed.returncode == 1
        assert {row["name"]: row["health"] for row in json.loads(listed.stdout)}["app-2"] == "down"
        restarted = running_stack.run("start", "app-2")  # one process again, the rest untouched
        assert restarted.returncode == 0, restarted.stderr
        assert running_stack.status()["app-2"]["health"] == "up"
        assert running_stack.run("start", "app-2").returncode == 2  # it runs already: a clear refusal
        pids = [row["pid"] for row in running_stack.status().values()]
        stopped = running_stack.run("down")
        assert stopped.returncode == 0, stopped.stderr
        assert [pid for pid in pids if started_at(pid) is not None] == []
        assert (running_stack.data_dir / "settings.env").exists()  # the data stays
        assert (running_stack.layout.pg_root / "data" / "PG_VERSION").exists()


def assert_commands_act_on_the_stack(running: RunningStack, status: dict[str, dict[str, Any]]) -> None:
    """`settings.env` in the data folder points every command at the stack: the database through PgBouncer, with
    psycopg's prepared statements off (transaction pooling), and the S3 gateway."""
    settings = Settings(data_dir=running.data_dir)
    assert f":{status['pgbouncer']['port']}/wallet?prepare_threshold=none" in settings.resolved_database_url
    assert f"endpoint=127.0.0.1:{status['weed-s3']['port']}" in settings.resolved_storage_url
    created = running.congdanso("agency", "create", "--code", "STACK", "--name", "Stack agency", "--json")
    assert created.returncode == 0, created.stderr


def assert_the_balancer_bounds_request_heads(running: RunningStack) -> None:
    """A request head within the app's 16 KB bound is served; one over HAProxy's buffer (16 KB) is refused there
    (400) before a worker reads it, however long it is; both workers stay up."""
    with running.api() as api:
        assert api.get("/document-types", headers={"X-Padding": "a" * 12_000}).status_code == 200
        assert api.get("/document-types", headers={"X-Padding": "a" * 64_000}).status_code == 400
        assert api.get("/document-types", headers={"X-Padding": "a" * 16_000_000}).status_code == 400
    assert all(running.status()[name]["health"] == "up" for name in ("app-1", "app-2"))


def assert_the_job_worker_sends_the_outbox(running: RunningStack) -> None:
    """The app workers run no periodic work here (WALLET_BACKGROUND=external): a message left in the outbox is sent
    by the `jobs` process's periodic dispatch, once."""
    container = build_container(Settings(data_dir=running.data_dir))
    try:
        message = queue_message(container, "từ hàng đợi công việc")
    finally:
        asyncio.run(container.aclose())
    outbox = running.data_dir / "outbox.jsonl"
    assert wait_for(lambda: len(sent_with(outbox, message)), lambda sent: sent > 0) == 1
    time.sleep(2.5)  # another tick of the dispatch job: nothing is sent twice
    assert len(sent_with(outbox, message)) == 1
    # The queue's gauges, for the alert rules (deploy/prometheus/), on each worker's metrics listener.
    port = State.load(running.layout).ports["app-1.metrics"]
    scraped = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10).text
    samples = {s.name: s.value for family in text_string_to_metric_families(scraped) for s in family.samples}
    assert samples[FAILED] == 0 and samples[OLDEST_QUEUED] >= 0


def a_citizen_with_a_paper(running: RunningStack, api: httpx.Client) -> str:
    """Sign up, log in again, store a CCCD with its scan and read both back, each through the load balancer (the
    requests alternate between workers; the same statements run dozens of times over PgBouncer's connections)."""
    data, token = running.sign_up(api)
    login = api.post("/auth/login", json={"national_id": data["national_id"], "pin": data["pin"]})
    assert login.status_code == 202, login.text
    scan = png_bytes("stack")
    stored = api.post(
        "/documents",
        data={"type": "cccd", "fields": json.dumps(cccd_fields(data), ensure_ascii=False)},
        files={"file": ("cccd.png", scan, "image/png")},
        headers=bearer(token),
    )
    assert stored.status_code == 201, stored.text
    paper = stored.json()
    for _ in range(10):
        assert api.get(f"/documents/{paper['id']}", headers=bearer(token)).status_code == 200
        got = api.get(f"/documents/{paper['id']}/files/{paper['files'][0]['id']}", headers=bearer(token))
        assert got.status_code == 200 and got.content == scan
    return token


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def wait_for(read: Any, done: Any, timeout: float = 15) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = read()
        if done(value) or time.monotonic() > deadline:
            return value
        time.sleep(0.3)
