"""`congdanso serve` serves the metrics on a listener of its own, on loopback, and not to anonymous callers of the
API's port."""

from __future__ import annotations

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from api.gauges import OUTBOX_LAG, UNSIGNED_TAIL
from tests.serve_process import ServeProcess

DB_GAUGES = {OUTBOX_LAG, UNSIGNED_TAIL}


def health_requests(metrics_text: str) -> float:
    total = 0.0
    for family in text_string_to_metric_families(metrics_text):  # raises on anything not Prometheus text
        for sample in family.samples:
            if sample.name.endswith("requests_total") and sample.labels.get("path") == "/health":
                total += sample.value
    return total


@pytest.mark.parametrize("workers", ["1", "2"])
def test_metrics_are_read_on_their_own_loopback_port(workers: str) -> None:
    with ServeProcess(metrics=True, WALLET_WORKERS=workers) as server:
        for _ in range(6):
            assert httpx.get(f"{server.base_url}/health", timeout=10).status_code == 200
        scrape = httpx.get(f"http://127.0.0.1:{server.metrics_port}/metrics", timeout=10)
        assert scrape.status_code == 200
        # every worker's requests are in the one scrape (the waits for health count too)
        assert health_requests(scrape.text) >= 6
        # the database's gauges, read once by the listener whatever the number of workers
        gauges = [s for f in text_string_to_metric_families(scrape.text) for s in f.samples if s.name in DB_GAUGES]
        assert sorted((sample.name, sample.value) for sample in gauges) == [(UNSIGNED_TAIL, 0.0), (OUTBOX_LAG, 0.0)]


def test_no_metrics_listener_unless_configured() -> None:
    with ServeProcess() as server:
        assert server.metrics_port is None
        answer = httpx.get(f"{server.base_url}/metrics", timeout=10)
        assert answer.status_code == 401, "the API's /metrics must not answer anonymous callers"
