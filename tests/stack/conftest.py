"""A whole stack (`python -m stack up`) in a temporary data folder, stopped and deleted afterwards."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from stack.layout import Layout
from stack.status import status
from stack.supervisor import destroy
from tests.factories import e164, last_code, registration
from tests.web.server import REPO, free_port

WORKERS = 2
# Cheap PIN hashing and per-address limits out of the way: every request comes from 127.0.0.1.
APP_ENV = {
    "WALLET_ARGON2_TIME_COST": "1",
    "WALLET_ARGON2_MEMORY_KIB": "1024",
    "WALLET_REGISTER_PER_IP_PER_MINUTE": "100000",
    "WALLET_REGISTER_SMS_PER_IP_PER_HOUR": "100000",
    "WALLET_LOGIN_PER_IP_PER_MINUTE": "100000",
    "WALLET_LOG_LEVEL": "warning",
}


@dataclass
class RunningStack:
    data_dir: Path
    port: int
    extra_env: dict[str, str] = field(default_factory=dict)  # more WALLET_* settings for every process

    @property
    def layout(self) -> Layout:
        return Layout.of(self.data_dir)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def env(self) -> dict[str, str]:
        inherited = {k: v for k, v in os.environ.items() if not k.startswith("WALLET_")}
        return inherited | APP_ENV | self.extra_env | {"WALLET_DATA_DIR": str(self.data_dir)}

    def run(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        """`python -m stack ARGS` as an operator runs it."""
        command = [sys.executable, "-m", "stack", *args]
        return subprocess.run(
            command, check=False, cwd=REPO, env=self.env(), capture_output=True, text=True, timeout=timeout
        )

    def congdanso(self, *args: str) -> subprocess.CompletedProcess[str]:
        command = [str(Path(sys.executable).parent / "congdanso"), *args]
        return subprocess.run(
            command, check=False, cwd=REPO, env=self.env(), capture_output=True, text=True, timeout=60
        )

    def status(self) -> dict[str, dict[str, Any]]:
        """What `stack status --json` prints (read in this process: a poll every few hundred milliseconds)."""
        return {row.name: asdict(row) for row in status(self.layout)}

    def api(self) -> httpx.Client:
        return httpx.Client(base_url=f"{self.base_url}/api/v1", timeout=30)

    def sign_up(self, client: httpx.Client) -> tuple[dict[str, Any], str]:
        """The real flow: register, the SMS code from the dev outbox every worker appends to, verify it."""
        data = registration()
        answer = client.post("/auth/register", json=data)
        assert answer.status_code == 202, answer.text
        code = last_code(self.data_dir / "outbox.jsonl", to=e164(data["phone"]), wait=10)
        tokens = client.post("/auth/otp/verify", json={"challenge_id": answer.json()["challenge_id"], "code": code})
        assert tokens.status_code == 200, tokens.text
        return data, str(tokens.json()["access_token"])


@pytest.fixture
def running_stack() -> Iterator[RunningStack]:
    running = RunningStack(Path(tempfile.mkdtemp(prefix="cds-stack-")) / "data", free_port())
    answer = running.run("up", "--workers", str(WORKERS), "--port", str(running.port))
    try:
        assert answer.returncode == 0, answer.stdout + answer.stderr
        yield running
    finally:
        if running.layout.state_file.exists():  # `up` may have failed before it wrote anything
            destroy(running.layout)
        shutil.rmtree(running.data_dir.parent, ignore_errors=True)
