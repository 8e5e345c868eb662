"""The dispatcher's log lines, as the service renders them: which message failed and how, never what it said or to
whom."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Engine

from api.logging import configure_logging
from crypto.clock import FrozenClock
from notify.dispatcher import OutboxDispatcher
from notify.senders import OutgoingMessage
from tests.unit.notify.conftest import enqueue

pytestmark = pytest.mark.anyio


class RefusingGateway(Exception):
    pass


class RefusingSender:
    async def send(self, message: OutgoingMessage) -> None:
        raise RefusingGateway(f"gateway refused {message.to}: {message.body}")  # a careless error message


class Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.lines: list[dict[str, Any]] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(json.loads(self.format(record)))


@pytest.fixture
def logged() -> Iterator[list[dict[str, Any]]]:
    configure_logging("info", json=True)
    root = logging.getLogger()
    handler = Lines()
    handler.setFormatter(root.handlers[0].formatter)
    root.addHandler(handler)
    yield handler.lines
    root.removeHandler(handler)


class TestDeliveryFailureLines:
    async def test_a_failure_names_the_outbox_id_and_the_error_class(
        self, engine: Engine, key: bytes, clock: FrozenClock, logged: list[dict[str, Any]]
    ) -> None:
        [message_id] = enqueue(engine, key, clock)
        dispatcher = OutboxDispatcher(engine, {"sms": RefusingSender()}, key=key, clock=clock)

        assert await dispatcher.dispatch() == 0

        [line] = [line for line in logged if line["event"] == "notification delivery failed"]
        assert (line["outbox_id"], line["channel"], line["error"], line["level"]) == (
            message_id,
            "sms",
            "RefusingGateway",
            "warning",
        )
        assert line["attempt"] == 1
        text = json.dumps(logged, ensure_ascii=False)
        assert "+84901234567" not in text
        assert "123456" not in text

    async def test_giving_up_names_the_outbox_id_the_attempts_and_the_last_error(
        self, engine: Engine, key: bytes, clock: FrozenClock, logged: list[dict[str, Any]]
    ) -> None:
        [message_id] = enqueue(engine, key, clock)
        dispatcher = OutboxDispatcher(engine, {"sms": RefusingSender()}, key=key, clock=clock, max_attempts=1)

        await dispatcher.dispatch()

        [line] = [line for line in logged if line["event"] == "notification given up"]
        assert (line["outbox_id"], line["attempts"], line["error"], line["level"]) == (
            message_id,
            1,
            "RefusingGateway",
            "error",
        )
