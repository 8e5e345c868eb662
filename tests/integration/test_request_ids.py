"""Every answer carries an `X-Request-ID`; every problem and every line logged while the request runs carries it too."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import structlog
from sqlalchemy import event

from api.deps import container_of
from api.logging import configure_logging
from tests.integration.conftest import Wallet


class Lines(logging.Handler):
    """The JSON lines the service writes, as the console would print them."""

    def __init__(self) -> None:
        super().__init__()
        self.lines: list[dict[str, Any]] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(json.loads(self.format(record)))


@pytest.fixture
def wallet(make_wallet: Callable[..., Wallet]) -> Wallet:
    """A wallet whose background loops stay quiet after their first pass, so the lines here are the requests'."""
    return make_wallet(outbox_interval_seconds=3600, gc_interval_seconds=3600, audit_checkpoint_seconds=3600)


@pytest.fixture
def logged(wallet: Wallet) -> Iterator[list[dict[str, Any]]]:
    configure_logging("debug", json=True)
    root = logging.getLogger()
    handler = Lines()
    handler.setFormatter(root.handlers[0].formatter)
    root.addHandler(handler)
    yield handler.lines
    root.removeHandler(handler)
    configure_logging(wallet.settings.log_level, json=True)


@pytest.fixture
def probe(wallet: Wallet) -> Iterator[None]:
    """A line logged by each SQL statement: statements run inside the handlers, in worker threads."""
    engine = container_of(wallet.app.state).engine
    log = structlog.get_logger("storage.probe")

    def statement(_conn: Any, _cursor: Any, sql: str, *_args: Any) -> None:
        log.info(
            "probe_statement",
            in_worker_thread=threading.current_thread() is not threading.main_thread(),
            sql=" ".join(sql.split()[:8]),
        )

    event.listen(engine, "before_cursor_execute", statement)
    yield
    event.remove(engine, "before_cursor_execute", statement)


class TestRequestIdHeader:
    def test_every_answer_carries_a_fresh_id(self, wallet: Wallet) -> None:
        first = wallet.client.get("/health")
        second = wallet.client.get("/health")
        assert len(first.headers["x-request-id"]) == 32
        assert first.headers["x-request-id"] != second.headers["x-request-id"]

    def test_an_unknown_path_carries_one_too(self, wallet: Wallet) -> None:
        answer = wallet.get("/no-such-route")
        assert answer.status_code == 404
        assert answer.json()["request_id"] == answer.headers["x-request-id"]

    def test_an_id_sent_by_an_untrusted_client_is_replaced(self, wallet: Wallet) -> None:
        answer = wallet.client.get("/health", headers={"X-Request-ID": "chosen-by-the-caller"})
        assert answer.headers["x-request-id"] != "chosen-by-the-caller"


class TestTrustedProxyId:
    def test_a_trusted_proxy_id_is_kept(self, make_wallet: Callable[..., Wallet]) -> None:
        wallet = make_wallet(trusted_proxies=["testclient"])
        answer = wallet.client.get("/health", headers={"X-Request-ID": "edge-1234abcd"})
        assert answer.headers["x-request-id"] == "edge-1234abcd"

    @pytest.mark.parametrize("sent", ["short", "with space in it", "x" * 65, "bad\u00e9char0000", "semi;colon0000"])
    def test_a_malformed_one_is_replaced(self, make_wallet: Callable[..., Wallet], sent: str) -> None:
        wallet = make_wallet(trusted_proxies=["testclient"])
        answer = wallet.client.get("/health", headers={"X-Request-ID": sent.encode()})
        assert answer.headers["x-request-id"] != sent
        assert len(answer.headers["x-request-id"]) == 32


class TestProblemsCarryTheId:
    def test_a_domain_problem(self, wallet: Wallet) -> None:
        answer = wallet.post("/auth/login", {"national_id": "001095000001", "pin": "000000"})
        assert answer.status_code == 401
        assert answer.headers["content-type"].startswith("application/problem+json")
        assert answer.json()["request_id"] == answer.headers["x-request-id"]
        assert {"type", "title", "status", "detail", "code", "instance"} <= answer.json().keys()

    def test_a_validation_problem(self, wallet: Wallet) -> None:
        answer = wallet.post("/auth/login", {"pin": 1})
        assert answer.status_code in {400, 422}
        assert answer.json()["request_id"] == answer.headers["x-request-id"]


class TestLogLinesCarryTheId:
    def test_lines_logged_inside_a_handler_thread_carry_the_request_id(
        self, wallet: Wallet, logged: list[dict[str, Any]], probe: None
    ) -> None:
        answer = wallet.post("/auth/login", {"national_id": "001095000001", "pin": "000000"})
        request_id = answer.headers["x-request-id"]

        # The outbox dispatcher polls the same database in the background, outside any request.
        inside = [
            line
            for line in logged
            if line["event"] == "probe_statement"
            and "notification_outbox" not in line["sql"]
            and not line["sql"].startswith("BEGIN")
        ]
        assert inside, logged
        assert any(line["in_worker_thread"] for line in inside)
        assert {line.get("request_id") for line in inside} == {request_id}
        [access] = [line for line in logged if line["event"] == "request"]
        assert access["request_id"] == request_id

    def test_two_requests_never_share_an_id(self, wallet: Wallet, logged: list[dict[str, Any]], probe: None) -> None:
        ids = {wallet.get("/me").headers["x-request-id"], wallet.get("/me").headers["x-request-id"]}
        access = [line for line in logged if line["event"] == "request"]
        assert {line["request_id"] for line in access} == ids
        assert len(ids) == 2

    def test_no_id_leaks_into_lines_logged_outside_requests(self, wallet: Wallet, logged: list[dict[str, Any]]) -> None:
        wallet.client.get("/health")
        structlog.get_logger("api.test").warning("outside_any_request")
        [outside] = [line for line in logged if line["event"] == "outside_any_request"]
        assert "request_id" not in outside

    def test_standard_library_lines_keep_their_fields(self, wallet: Wallet, logged: list[dict[str, Any]]) -> None:
        logging.getLogger("notify.dispatcher").warning("delivery", extra={"outbox_id": "o-1", "error": "Boom"})
        [line] = [line for line in logged if line["event"] == "delivery"]
        assert (line["outbox_id"], line["error"], line["level"]) == ("o-1", "Boom", "warning")
