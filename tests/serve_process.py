"""`congdanso serve` itself as a real process (uvicorn as the command configures it, not as the tests would), on free
127.0.0.1 ports over a temporary data directory: for the bounds only the real server applies and the second
listener it opens."""

from __future__ import annotations

import os
import subprocess
import sys

from tests.web.server import REPO, WebServer, free_port


class ServeProcess(WebServer):
    def __init__(self, *, metrics: bool = False, **settings: str) -> None:
        super().__init__(**settings)
        self.env |= {"WALLET_HOST": "127.0.0.1", "WALLET_PORT": str(self.port)}
        self.metrics_port = free_port() if metrics else None
        if self.metrics_port is not None:
            self.env["WALLET_METRICS_PORT"] = str(self.metrics_port)

    def __enter__(self) -> ServeProcess:
        command = [sys.executable, "-m", "api.cli", "serve"]
        env = {k: v for k, v in os.environ.items() if not k.startswith("WALLET_")} | self.env
        with self._log.open("wb") as log:
            self._process = subprocess.Popen(command, cwd=REPO, env=env, stdout=log, stderr=log, start_new_session=True)
        self._wait_healthy()
        return self
