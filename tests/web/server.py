"""The service as a real server process for the browser tests: uvicorn on a free 127.0.0.1 port over a temporary data
directory (SQLite, local blobs, the dev outbox), cheap PIN hashing and per-address limits out of the way."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from api.cli import migrate
from api.settings import Settings
from tests.factories import CODE_WAIT, e164, sms_codes
from tests.log_audit import record_marker

REPO = Path(__file__).resolve().parents[2]
HIGH = "100000"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class WebServer:
    def __init__(self, **settings: str) -> None:
        self.data_dir = Path(tempfile.mkdtemp(prefix="cds-web-"))
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.env = {
            "WALLET_ENV": "dev",
            "WALLET_DATA_DIR": str(self.data_dir),
            "WALLET_PUBLIC_URL": self.base_url,
            "WALLET_LOG_LEVEL": "warning",
            "WALLET_ARGON2_TIME_COST": "1",
            "WALLET_ARGON2_MEMORY_KIB": "1024",
            "WALLET_REGISTER_PER_IP_PER_MINUTE": HIGH,
            "WALLET_REGISTER_SMS_PER_IP_PER_HOUR": HIGH,
            "WALLET_LOGIN_PER_IP_PER_MINUTE": HIGH,
            **settings,
        }
        self._process: subprocess.Popen[bytes] | None = None
        self._given: dict[str, int] = {}  # phone → the outbox line of the code `code_for` gave last
        self._log = self.data_dir.parent / f"{self.data_dir.name}.log"

    @property
    def outbox(self) -> Path:
        return self.data_dir / "outbox.jsonl"

    def code_for(self, phone: str) -> str:
        """The newest SMS code sent to `phone` (read from the dev outbox).

        A code this method gave before is given again only after `CODE_WAIT` seconds without a newer one: when the
        app's periodic dispatcher claims a request's SMS, it writes it a moment after the request answered, and the
        newest line is then still the previous code."""
        to = e164(phone)
        deadline = time.monotonic() + CODE_WAIT
        while True:
            codes = sms_codes(self.outbox, to=to)
            if codes and (codes[-1][0] > self._given.get(to, -1) or time.monotonic() > deadline):
                self._given[to] = codes[-1][0]
                record_marker("OTP code", codes[-1][1])
                return codes[-1][1]
            if time.monotonic() > deadline:
                raise AssertionError(f"no OTP sent to {to} in the outbox")
            time.sleep(0.05)

    def api(self) -> httpx.Client:
        return httpx.Client(base_url=f"{self.base_url}/api/v1", timeout=30)

    def __enter__(self) -> WebServer:
        migrate(Settings(data_dir=self.data_dir, env="dev"))
        command = [sys.executable, "-m", "uvicorn", "api.app:app_factory", "--factory"]
        command += ["--host", "127.0.0.1", "--port", str(self.port), "--log-level", "warning"]
        env = {k: v for k, v in os.environ.items() if not k.startswith("WALLET_")} | self.env
        with self._log.open("wb") as log:
            self._process = subprocess.Popen(command, cwd=REPO, env=env, stdout=log, stderr=log, start_new_session=True)
        self._wait_healthy()
        return self

    def _wait_healthy(self) -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self._process is not None and self._process.poll() is not None:
                break
            try:
                if httpx.get(f"{self.base_url}/health", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"the web server did not start:\n{self._log.read_text(errors='replace')[-3000:]}")

    def stop(self) -> None:
        if self._process is not None and self._process.poll() is None:
            os.killpg(self._process.pid, signal.SIGTERM)
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self._process.pid, signal.SIGKILL)
                self._process.wait()

    def __exit__(self, *exc: object) -> None:
        self.stop()
        shutil.rmtree(self.data_dir, ignore_errors=True)
        if os.environ.get("CDS_KEEP_WEB_LOG") != "1":  # kept to read a server traceback after a failed test
            self._log.unlink(missing_ok=True)

    def log_tail(self) -> str:
        return self._log.read_text(errors="replace")[-3000:] if self._log.exists() else ""
