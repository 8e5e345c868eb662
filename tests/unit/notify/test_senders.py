from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import Engine
from sqlmodel import Session

from crypto.clock import FrozenClock
from notify.dispatcher import OutboxDispatcher
from notify.models import OutboxMessage
from notify.senders import OutgoingMessage, SendError, SmsGatewaySender, SmtpSender
from tests.postgres import free_port
from tests.unit.notify.conftest import START, enqueue

pytestmark = pytest.mark.anyio

SUBJECT = "Kết quả hồ sơ: Cấp đổi căn cước"
BODY = "Hồ sơ của ông/bà Nguyễn Văn Ân đã được duyệt.\nTrân trọng."


class Mailbox:
    """An aiosmtpd handler keeping every message it receives."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.envelopes: list[tuple[str, list[str]]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 - aiosmtpd hook name
        self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        self.messages.append(message_from_bytes(envelope.original_content, policy=policy.default))
        return "250 OK"


@pytest.fixture
def smtp_server() -> Iterator[tuple[Mailbox, int]]:
    mailbox = Mailbox()
    port = free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield mailbox, port
    controller.stop()


class Gateway(ThreadingHTTPServer):
    """A local SMS gateway: records each POST and answers with `status`."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), GatewayHandler)
        self.status = 202
        self.requests: list[tuple[dict[str, str], dict[str, Any]]] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/sms"


class GatewayHandler(BaseHTTPRequestHandler):
    server: Gateway

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.server.requests.append((dict(self.headers.items()), body))
        self.send_response(self.server.status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def gateway() -> Iterator[Gateway]:
    server = Gateway()
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join()


def outbox_row(engine: Engine, message_id: str) -> OutboxMessage:
    with Session(engine) as session:
        return session.get_one(OutboxMessage, message_id)


class TestSmtpSender:
    async def test_a_local_server_receives_the_vietnamese_email(
        self, engine: Engine, key: bytes, clock: FrozenClock, smtp_server: tuple[Mailbox, int]
    ) -> None:
        mailbox, port = smtp_server
        [message_id] = enqueue(engine, key, clock, channel="email", to="an@example.vn", subject=SUBJECT, body=BODY)
        sender = SmtpSender("127.0.0.1", port, sender="Công Dân Số <no-reply@congdanso.vn>", timeout=5)

        assert await OutboxDispatcher(engine, {"email": sender}, key=key, clock=clock).dispatch() == 1

        [email] = mailbox.messages
        assert email["Subject"] == SUBJECT
        assert email["Message-ID"] == f"<{message_id}@congdanso>"
        assert email["To"] == "an@example.vn"
        assert email.get_content().replace("\r\n", "\n").rstrip("\n") == BODY  # CRLF on the wire
        assert mailbox.envelopes == [("no-reply@congdanso.vn", ["an@example.vn"])]

    async def test_a_retry_builds_the_same_email(self, clock: FrozenClock) -> None:
        sender = SmtpSender("127.0.0.1", 25, sender="no-reply@congdanso.vn")
        message = OutgoingMessage("0193-id", "email", "an@example.vn", SUBJECT, BODY, START)

        assert sender.build(message).as_bytes() == sender.build(message).as_bytes()

    async def test_an_unreachable_server_is_a_send_error(self) -> None:
        sender = SmtpSender("127.0.0.1", free_port(), sender="no-reply@congdanso.vn", timeout=2)
        with pytest.raises(SendError):
            await sender.send(OutgoingMessage("id", "email", "an@example.vn", "s", "b", START))


class TestSmsGatewaySender:
    async def test_posts_with_bearer_and_idempotency_key(
        self, engine: Engine, key: bytes, clock: FrozenClock, gateway: Gateway
    ) -> None:
        [message_id] = enqueue(engine, key, clock, body="Mã OTP: 482913")
        async with httpx.AsyncClient(timeout=5) as client:
            sender = SmsGatewaySender(gateway.url, "gateway-token", client)
            assert await OutboxDispatcher(engine, {"sms": sender}, key=key, clock=clock).dispatch() == 1

        [(headers, body)] = gateway.requests
        assert body == {"id": message_id, "to": "+84901234567", "body": "Mã OTP: 482913"}
        assert headers["Authorization"] == "Bearer gateway-token"
        assert headers["Idempotency-Key"] == message_id
        assert "gateway-token" not in repr(sender)

    async def test_a_gateway_without_a_token_gets_no_authorization(self, gateway: Gateway) -> None:
        async with httpx.AsyncClient(timeout=5) as client:
            await SmsGatewaySender(gateway.url, "", client).send(
                OutgoingMessage("k", "sms", "+84901234567", None, "b", START)
            )
        [(headers, _body)] = gateway.requests
        assert "Authorization" not in headers and headers["Idempotency-Key"] == "k"

    async def test_a_failing_gateway_reschedules_then_delivers(
        self, engine: Engine, key: bytes, clock: FrozenClock, gateway: Gateway
    ) -> None:
        [message_id] = enqueue(engine, key, clock)
        async with httpx.AsyncClient(timeout=5) as client:
            dispatcher = OutboxDispatcher(
                engine, {"sms": SmsGatewaySender(gateway.url, "t", client)}, key=key, clock=clock
            )
            gateway.status = 500
            assert await dispatcher.dispatch() == 0
            failed = outbox_row(engine, message_id)
            assert (failed.status, failed.attempts, failed.last_error, failed.lease_until) == (
                "pending",
                1,
                "SendError",
                None,
            )
            assert failed.next_attempt_at == clock.now() + timedelta(seconds=10)

            gateway.status = 200
            assert await dispatcher.dispatch() == 0  # not due yet
            clock.advance(timedelta(seconds=10))
            assert await dispatcher.dispatch() == 1

        assert outbox_row(engine, message_id).status == "sent"
        assert [headers["Idempotency-Key"] for headers, _ in gateway.requests] == [message_id, message_id]

    async def test_gives_up_after_max_attempts(
        self, engine: Engine, key: bytes, clock: FrozenClock, gateway: Gateway
    ) -> None:
        [message_id] = enqueue(engine, key, clock)
        gateway.status = 503
        async with httpx.AsyncClient(timeout=5) as client:
            sender = SmsGatewaySender(gateway.url, "t", client)
            dispatcher = OutboxDispatcher(engine, {"sms": sender}, key=key, clock=clock, max_attempts=3)
            for attempt in range(1, 4):
                assert await dispatcher.dispatch() == 0
                assert outbox_row(engine, message_id).attempts == attempt
                clock.advance(timedelta(hours=2))
            gateway.status = 200
            assert await dispatcher.dispatch() == 0

        dead = outbox_row(engine, message_id)
        assert (dead.status, dead.attempts, dead.sent_at) == ("dead", 3, None)
        assert len(gateway.requests) == 3

    async def test_backoff_doubles_up_to_an_hour(self, engine: Engine, key: bytes, clock: FrozenClock) -> None:
        dispatcher = OutboxDispatcher(engine, {}, key=key, clock=clock)
        assert [dispatcher.backoff(n).total_seconds() for n in (1, 2, 3, 4, 10, 50)] == [
            10,
            20,
            40,
            80,
            3600,
            3600,
        ]

    async def test_an_unreachable_gateway_is_a_send_error(self) -> None:
        async with httpx.AsyncClient(timeout=2) as client:
            sender = SmsGatewaySender(f"http://127.0.0.1:{free_port()}/sms", "t", client)
            with pytest.raises(SendError):
                await sender.send(OutgoingMessage("id", "sms", "+8490", None, "b", START))
