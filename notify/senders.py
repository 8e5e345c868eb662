"""Delivery backends behind one `Sender` protocol.

Delivery is at-least-once: a worker may die after sending and before recording it, and the
message is then sent again once its lease runs out. Every sender therefore passes the outbox
id along so receivers can deduplicate: the SMS gateway's `Idempotency-Key` header, the email's
`Message-ID`, the `id` of the development file line.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path
from typing import Protocol

import aiosmtplib
import anyio.to_thread
import httpx
from pydantic import SecretStr

from crypto.clock import Clock

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class OutgoingMessage:
    """One opened outbox row on its way out; `id` doubles as the idempotency key."""

    id: str
    channel: str
    to: str
    subject: str | None
    body: str
    created_at: datetime

    def __repr__(self) -> str:  # never print contact details or codes
        return f"OutgoingMessage(id={self.id!r}, channel={self.channel!r})"


class SendError(Exception):
    """A delivery failed; the dispatcher retries it later."""


class Sender(Protocol):
    """Delivers one message or raises SendError."""

    async def send(self, message: OutgoingMessage) -> None: ...


def rfc3339(moment: datetime) -> str:
    """RFC 3339 UTC with a "Z", e.g. 2026-11-24T08:00:00.123Z."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class DevOutboxFileSender:
    """Development sender: appends each message as one JSON line to a file (mode 0600).

    Appends hold an exclusive `flock`, so threads and processes sharing the file never
    interleave lines; each line is fsynced before `send` returns.
    """

    def __init__(self, path: Path, clock: Clock) -> None:
        self._path = path
        self._clock = clock

    def __repr__(self) -> str:
        return f"DevOutboxFileSender({str(self._path)!r})"

    async def send(self, message: OutgoingMessage) -> None:
        line = {
            "id": message.id,
            "channel": message.channel,
            "to": message.to,
            "subject": message.subject,
            "body": message.body,
            "sent_at": rfc3339(self._clock.now()),
        }
        data = (json.dumps(line, ensure_ascii=False) + "\n").encode()
        try:
            await anyio.to_thread.run_sync(self._append, data)
        except OSError as exc:
            raise SendError(type(exc).__name__) from exc

    def _append(self, data: bytes) -> None:
        self._path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self._path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            os.fsync(fd)
        finally:
            os.close(fd)  # closing releases the lock


class SmsGatewaySender:
    """POSTs `{"id","to","body"}` to an SMS gateway; the `Idempotency-Key` header dedupes retries."""

    def __init__(self, url: str, token: SecretStr | str, client: httpx.AsyncClient) -> None:
        self._url = url
        self._token = token if isinstance(token, SecretStr) else SecretStr(token)
        self._client = client

    def __repr__(self) -> str:
        return f"SmsGatewaySender({self._url!r}, token=<hidden>)"

    async def send(self, message: OutgoingMessage) -> None:
        headers = {"Idempotency-Key": message.id}
        if token := self._token.get_secret_value():  # a gateway on a private network may take none
            headers["Authorization"] = f"Bearer {token}"
        payload = {"id": message.id, "to": message.to, "body": message.body}
        try:
            response = await self._client.post(self._url, json=payload, headers=headers)
        except httpx.HTTPError as exc:
            raise SendError(type(exc).__name__) from exc
        if not response.is_success:
            raise SendError(f"HTTP {response.status_code}")


class BothSenders:
    """Delivers through `first`, then `second`; a failure of either fails the message, which is then sent again to
    both (each deduplicates on the outbox id)."""

    def __init__(self, first: Sender, second: Sender) -> None:
        self._first = first
        self._second = second

    def __repr__(self) -> str:
        return f"BothSenders({self._first!r}, {self._second!r})"

    async def send(self, message: OutgoingMessage) -> None:
        await self._first.send(message)
        await self._second.send(message)


class SmtpSender:
    """Sends email through an SMTP server; the Message-ID `<outbox id@congdanso>` marks retries."""

    def __init__(
        self,
        host: str,
        port: int,
        *,
        sender: str,
        username: str | None = None,
        password: SecretStr | str | None = None,
        use_tls: bool = False,
        start_tls: bool = False,
        timeout: float = 10,
    ) -> None:
        self._host = host
        self._port = port
        self._sender = sender
        self._username = username
        self._password = SecretStr(password) if isinstance(password, str) else password
        self._use_tls = use_tls
        self._start_tls = start_tls
        self._timeout = timeout

    def __repr__(self) -> str:
        return f"SmtpSender({self._host!r}, {self._port}, sender={self._sender!r})"

    async def send(self, message: OutgoingMessage) -> None:
        password = self._password.get_secret_value() if self._password else None
        try:
            await aiosmtplib.send(
                self.build(message),
                hostname=self._host,
                port=self._port,
                username=self._username,
                password=password,
                use_tls=self._use_tls,
                start_tls=self._start_tls,
                timeout=self._timeout,
            )
        except (aiosmtplib.SMTPException, OSError) as exc:
            raise SendError(type(exc).__name__) from exc

    def build(self, message: OutgoingMessage) -> EmailMessage:
        """The email for `message`: identical on every retry (same Message-ID and Date)."""
        email = EmailMessage()
        email["From"] = self._sender
        email["To"] = message.to
        email["Subject"] = message.subject or ""
        email["Message-ID"] = f"<{message.id}@congdanso>"
        email["Date"] = format_datetime(message.created_at.astimezone(UTC))
        email.set_content(message.body)
        return email


class LoggingSender:
    """Logs that a message went out (id and channel only, never content); for tests and dry runs."""

    async def send(self, message: OutgoingMessage) -> None:
        logger.info("notification delivered", extra={"outbox_id": message.id, "channel": message.channel})


class InAppSender:
    """In-app delivery: the `InAppNotice` row was written with the outbox row, so nothing is left to do."""

    async def send(self, message: OutgoingMessage) -> None:
        return None
