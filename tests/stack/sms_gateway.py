"""A test SMS gateway the stack's workers deliver to (`WALLET_SMS_GATEWAY_URL`): like a real one, it delivers a
message once per `Idempotency-Key` and acknowledges a repeat without delivering it again, but it counts every
request, so a resend is seen rather than hidden."""

from __future__ import annotations

import json
import re
import secrets
import threading
import time
from collections import Counter
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True)
class Delivered:
    key: str
    to: str
    body: str
    at: float


class SmsGateway(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.token = secrets.token_hex(16)  # the workers' WALLET_SMS_GATEWAY_TOKEN
        self.unauthorized = 0
        self._lock = threading.Lock()
        self.delivered: dict[str, Delivered] = {}
        self.requests: Counter[str] = Counter()  # POSTs per idempotency key, repeats included
        self.without_key = 0
        self._thread = threading.Thread(target=self.serve_forever, name="sms-gateway", daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/sms"

    def settings(self) -> dict[str, str]:
        """The workers' settings that send SMS here."""
        return {"WALLET_SMS_GATEWAY_URL": self.url, "WALLET_SMS_GATEWAY_TOKEN": self.token}

    def __enter__(self) -> SmsGateway:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown()
        self.server_close()

    def receive(self, key: str | None, payload: dict[str, Any]) -> None:
        with self._lock:
            if not key:
                self.without_key += 1
                return
            self.requests[key] += 1
            if key not in self.delivered:
                self.delivered[key] = Delivered(key, str(payload["to"]), str(payload["body"]), time.monotonic())

    def repeats(self) -> dict[str, int]:
        """Keys POSTed more than once, and how many times (each delivered once all the same)."""
        with self._lock:
            return {key: count for key, count in self.requests.items() if count > 1}

    def code(self, to: str, *, after: float, wait: float = 15.0) -> str | None:
        """The 6-digit code of the first SMS to `to` delivered after `after` (time.monotonic), waiting up to `wait`."""
        deadline = time.monotonic() + wait
        while True:
            with self._lock:
                found = [d for d in self.delivered.values() if d.to == to and d.at >= after]
            for message in sorted(found, key=lambda d: d.at):
                if match := re.search(r"\b(\d{6})\b", message.body):
                    return match.group(1)
            if time.monotonic() > deadline:
                return None
            time.sleep(0.05)


class _Handler(BaseHTTPRequestHandler):
    server: SmsGateway
    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:
        payload = json.loads(self.rfile.read(int(self.headers.get("Content-Length", "0"))) or b"{}")
        if self.headers.get("Authorization") != f"Bearer {self.server.token}":
            self.server.unauthorized += 1
            self.send_response(401)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        self.server.receive(self.headers.get("Idempotency-Key"), payload)
        self.send_response(202)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass
