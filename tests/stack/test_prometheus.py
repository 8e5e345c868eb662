"""deploy/prometheus/ as Prometheus's own tool reads it (`promtool`, from Debian's prometheus package: `make
system-deps`): the scrape configuration and the rules are valid, every alert fires and stays quiet where tests.yml
says, and every metric the rules read is one the service (a real `congdanso serve`) or HAProxy (the stack's template,
a real haproxy) exports."""

from __future__ import annotations

import re
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from api.gauges import OUTBOX_LAG, UNSIGNED_TAIL
from jobs.metrics import FAILED, OLDEST_QUEUED
from stack.configs import haproxy_config, prometheus_config
from tests.serve_process import ServeProcess
from tests.web.server import free_port

PROMETHEUS = Path(__file__).resolve().parents[2] / "deploy" / "prometheus"
# The job queue's gauges exist only on PostgreSQL (the queue's database): this service runs on SQLite, so they must
# be absent here; tests/stack/test_stack.py reads them off a stack's worker.
POSTGRES_ONLY = {FAILED, OLDEST_QUEUED}
GENERATED = {"up"}  # made by Prometheus itself for each target
_PROMQL_WORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "bool", "and", "or", "unless"}
_PROMQL_WORDS |= {"offset"}


@pytest.fixture(scope="module")
def promtool() -> str:
    found = shutil.which("promtool")
    if found is None:
        pytest.skip("promtool is not installed (make system-deps)")
    return found


def run(promtool: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([promtool, *args], cwd=PROMETHEUS, capture_output=True, text=True, check=False, timeout=60)


class TestPromtool:
    def test_the_scrape_config_and_its_rules_are_valid(self, promtool: str) -> None:
        checked = run(promtool, "check", "config", "prometheus.yml")
        assert checked.returncode == 0, checked.stdout + checked.stderr
        assert "1 rule files found" in checked.stdout

    def test_the_config_a_local_stack_writes_is_valid(self, promtool: str, tmp_path: Path) -> None:
        text = prometheus_config(
            workers=["127.0.0.1:40001", "127.0.0.1:40002"],
            balancer="127.0.0.1:40003",
            rules=str(PROMETHEUS / "alerts.yml"),
        )
        (tmp_path / "prometheus.yml").write_text(text)
        checked = run(promtool, "check", "config", str(tmp_path / "prometheus.yml"))
        assert checked.returncode == 0, checked.stdout + checked.stderr

    def test_the_rules_are_valid(self, promtool: str) -> None:
        checked = run(promtool, "check", "rules", "alerts.yml")
        assert checked.returncode == 0, checked.stdout + checked.stderr

    def test_each_alert_fires_and_stays_quiet_as_tests_yml_says(self, promtool: str) -> None:
        tested = run(promtool, "test", "rules", "tests.yml")
        assert tested.returncode == 0, tested.stdout + tested.stderr
        tests = yaml.safe_load((PROMETHEUS / "tests.yml").read_text())["tests"]
        cases = [case for test in tests for case in test["alert_rule_test"]]
        for alert in alert_names():
            assert any(c["alertname"] == alert and c["exp_alerts"] for c in cases), f"{alert} never shown firing"
            assert any(c["alertname"] == alert and not c["exp_alerts"] for c in cases), f"{alert} never shown quiet"


def alert_names() -> list[str]:
    return [rule["alert"] for group in rules()["groups"] for rule in group["rules"]]


def rules() -> dict[str, list[dict[str, list[dict[str, str]]]]]:
    loaded: dict[str, list[dict[str, list[dict[str, str]]]]] = yaml.safe_load((PROMETHEUS / "alerts.yml").read_text())
    return loaded


def metric_names(expr: str) -> set[str]:
    """The metric names a rule's expression reads: label matchers, ranges, grouping clauses and function calls
    taken out, what is left of identifiers are metrics."""
    bare = re.sub(r'"[^"]*"', "", expr)
    bare = re.sub(r"\{[^}]*\}|\[[^\]]*\]|\b(by|without|on|ignoring)\s*\([^)]*\)", " ", bare)
    names = re.findall(r"\b([a-zA-Z_:][a-zA-Z0-9_:]*)\b(?!\s*\()", bare)
    return {name for name in names if name not in _PROMQL_WORDS}


def used_metrics() -> set[str]:
    return {name for group in rules()["groups"] for rule in group["rules"] for name in metric_names(rule["expr"])}


def sample_names(text: str) -> dict[str, float]:
    return {sample.name: sample.value for family in text_string_to_metric_families(text) for sample in family.samples}


@pytest.fixture(scope="module")
def service() -> Iterator[ServeProcess]:
    with ServeProcess(metrics=True) as server:
        yield server


@pytest.fixture(scope="module")
def balancer(tmp_path_factory: pytest.TempPathFactory, service: ServeProcess) -> Iterator[str]:
    """HAProxy from the stack's template in front of the service; yields its exporter's URL."""
    haproxy = shutil.which("haproxy", path="/usr/sbin:/usr/bin")
    if haproxy is None:
        pytest.skip("haproxy is not installed (make system-deps)")
    folder = tmp_path_factory.mktemp("haproxy")
    front, metrics = free_port(), free_port()
    config = haproxy_config(
        bind=f"127.0.0.1:{front}",
        servers=[f"127.0.0.1:{service.port}"],
        socket=folder / "admin.sock",
        metrics_bind=f"127.0.0.1:{metrics}",
    )
    (folder / "haproxy.cfg").write_text(config)
    log = (folder / "haproxy.log").open("wb")
    process = subprocess.Popen([haproxy, "-db", "-f", str(folder / "haproxy.cfg")], stdout=log, stderr=log)
    try:
        url = f"http://127.0.0.1:{metrics}/metrics"
        for _ in range(50):
            try:
                if httpx.get(f"http://127.0.0.1:{front}/health", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)
        log.close()


class TestExportedMetrics:
    def test_every_metric_the_rules_read_is_exported(self, service: ServeProcess, balancer: str) -> None:
        for _ in range(3):
            assert httpx.get(f"{service.base_url}/health", timeout=10).status_code == 200
        exported = sample_names(httpx.get(f"http://127.0.0.1:{service.metrics_port}/metrics", timeout=10).text)
        exported |= sample_names(httpx.get(balancer, timeout=10).text)
        used = used_metrics()
        assert {OUTBOX_LAG, UNSIGNED_TAIL, "congdanso_requests_total", "haproxy_frontend_http_requests_total"} <= used
        assert used >= POSTGRES_ONLY
        assert used - POSTGRES_ONLY - GENERATED - set(exported) == set()
        assert POSTGRES_ONLY & set(exported) == set()
