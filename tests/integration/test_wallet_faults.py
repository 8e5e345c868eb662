"""Faults half-way through an upload, against a real server process: storage down mid-upload,
database down after the blob write, the process killed between blob and metadata. Each must leave
nothing visible, and after the janitor, no orphan blob and no row pointing at a missing blob."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, text

from tests.factories import e164, last_code, registration
from tests.integration.wallet_helpers import diploma_fields
from tests.postgres import PostgresServer, free_port
from tests.seaweed import SeaweedServer

CONGDANSO = str(Path(sys.executable).with_name("congdanso"))
BOUNDARY = "cdsboundary7d1e"
PDF_HEAD = b"%PDF-1.7\n"


class Server:
    """`congdanso serve` in a process of its own, so it can be killed for real."""

    def __init__(self, data_dir: Path, **env: str) -> None:
        self.port = free_port()
        self.env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "WALLET_DATA_DIR": str(data_dir),
            "WALLET_PORT": str(self.port),
            "WALLET_LOG_LEVEL": "warning",
            "WALLET_ARGON2_TIME_COST": "1",
            "WALLET_ARGON2_MEMORY_KIB": "1024",
            **env,
        }
        self.data_dir = data_dir
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [CONGDANSO, "serve"], env=self.env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.url}/health", timeout=1).status_code in (200, 503):
                    return
            except httpx.HTTPError:
                time.sleep(0.2)
        raise RuntimeError("server did not start")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def kill(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(10)

    def cli(self, *args: str) -> dict[str, Any]:
        done = subprocess.run(
            [CONGDANSO, *args], env=self.env, capture_output=True, text=True, timeout=120, check=False
        )
        assert done.returncode == 0, done.stderr
        return dict(json.loads(done.stdout.strip().splitlines()[-1]))

    def citizen_token(self) -> str:
        data = registration()
        answer = httpx.post(f"{self.url}/api/v1/auth/register", json=data, timeout=10).json()
        code = last_code(self.data_dir / "outbox.jsonl", to=e164(data["phone"]))
        tokens = httpx.post(
            f"{self.url}/api/v1/auth/otp/verify", json={"challenge_id": answer["challenge_id"], "code": code}
        ).json()
        return str(tokens["access_token"])


def _send_upload(server: Server, token: str, size: int, *, midway: Callable[[], None], at: int) -> bytes:
    """POST /documents over a raw socket: the file streams in 256 KiB pieces, `midway()` runs once
    `at` bytes of it have gone, then the rest of the body follows (if the peer still listens)."""
    fields = json.dumps(diploma_fields(), ensure_ascii=False).encode()
    head = (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="scan.pdf"\r\n'
        "Content-Type: application/pdf\r\n\r\n"
    ).encode()
    tail = (
        (
            f'\r\n--{BOUNDARY}\r\nContent-Disposition: form-data; name="type"\r\n\r\ndiploma\r\n'
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="fields"\r\n\r\n'
        ).encode()
        + fields
        + f"\r\n--{BOUNDARY}--\r\n".encode()
    )
    length = len(head) + size + len(tail)
    request = (
        f"POST /api/v1/documents HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\n"
        f"Content-Type: multipart/form-data; boundary={BOUNDARY}\r\nContent-Length: {length}\r\n\r\n"
    ).encode()
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=30)
    try:
        sock.sendall(request + head + PDF_HEAD)
        sent, piece, fired = len(PDF_HEAD), b"0" * 262144, False
        while sent < size:
            chunk = piece[: min(len(piece), size - sent)]
            if not _try_send(sock, chunk):
                break
            sent += len(chunk)
            if not fired and sent >= at:
                fired = True
                midway()
        _try_send(sock, tail)
        return _read_response(sock)
    finally:
        sock.close()


def _try_send(sock: socket.socket, data: bytes) -> bool:
    try:
        sock.sendall(data)
    except OSError:
        return False
    return True


def _read_response(sock: socket.socket) -> bytes:
    received = b""
    try:
        while chunk := sock.recv(65536):
            received += chunk
            if b"\r\n\r\n" in received and len(received.split(b"\r\n\r\n", 1)[1]) > 0:
                break
    except OSError:
        pass
    return received


def _rows(database_url: str, query: str) -> int:
    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(text(query)).scalar_one())
    finally:
        engine.dispose()


def _local_blobs(data_dir: Path) -> list[Path]:
    root = data_dir / "blobs"
    return [p for p in root.rglob("*") if p.is_file() and ".tmp" not in p.parts] if root.exists() else []


def _no_dangling_rows(database_url: str) -> None:
    assert _rows(database_url, "SELECT count(*) FROM document") == 0
    assert _rows(database_url, "SELECT count(*) FROM document_file") == 0


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


class TestStorageDownMidUpload:
    def test_answers_503_stores_nothing_and_leaves_no_orphan(self, seaweed: SeaweedServer, data_dir: Path) -> None:
        bucket = f"faults-{uuid.uuid4().hex[:12]}"
        seaweed.create_bucket(bucket)
        server = Server(
            data_dir,
            WALLET_STORAGE_URL=seaweed.blob_store_url(bucket),
            WALLET_S3_ACCESS_KEY=seaweed.access_key,
            WALLET_S3_SECRET_KEY=seaweed.secret_key,
        )
        server.start()
        try:
            token = server.citizen_token()
            raw = _send_upload(server, token, 20 * 1024 * 1024, midway=seaweed.kill, at=10 * 1024 * 1024)
            assert raw.startswith(b"HTTP/1.1 503"), raw[:300]
            assert b"storage_unavailable" in raw
            seaweed.start()
            listing = httpx.get(f"{server.url}/api/v1/documents", headers={"Authorization": f"Bearer {token}"})
            assert listing.json()["items"] == []
            report = server.cli("storage", "gc", "--grace-seconds", "0")
            assert report["pending_removed"] == 0  # the failed upload cleared its own record
            objects = list(seaweed.client().list_objects(bucket, recursive=True))
            assert objects == []
            _no_dangling_rows(f"sqlite:///{data_dir / 'wallet.db'}")
        finally:
            if not seaweed.running:
                seaweed.start()
            server.kill()


class TestDatabaseDownAfterBlobWrite:
    def test_orphan_is_collected_once_the_database_is_back(
        self, postgres_server: PostgresServer, data_dir: Path
    ) -> None:
        name = f"faults_{uuid.uuid4().hex[:10]}"
        url = postgres_server.create_database(name)
        server = Server(data_dir, WALLET_DATABASE_URL=url)
        server.start()
        try:
            token = server.citizen_token()
            # The file completes (blob written, pending record committed), then the database goes away.
            raw = _upload_then(server, token, postgres_server.stop)
            assert raw.startswith(b"HTTP/1.1 503"), raw[:300]
            postgres_server.start()
            server.cli("storage", "gc", "--grace-seconds", "0")
            assert _local_blobs(data_dir) == []
            _no_dangling_rows(url)
            assert _rows(url, "SELECT count(*) FROM pending_blob") == 0
        finally:
            if not postgres_server.running:
                postgres_server.start()
            server.kill()


class TestKilledBetweenBlobAndMetadata:
    def test_janitor_removes_the_blob_of_the_uncommitted_upload(self, data_dir: Path) -> None:
        server = Server(data_dir)
        server.start()
        try:
            token = server.citizen_token()
            _upload_then(server, token, server.kill)
            db = f"sqlite:///{data_dir / 'wallet.db'}"
            assert len(_local_blobs(data_dir)) == 1  # the blob made it, its metadata did not
            assert _rows(db, "SELECT count(*) FROM pending_blob") == 1
            report = server.cli("storage", "gc", "--grace-seconds", "0")
            assert report["pending_removed"] == 1
            assert _local_blobs(data_dir) == []
            assert _rows(db, "SELECT count(*) FROM pending_blob") == 0
            _no_dangling_rows(db)
        finally:
            server.kill()


def _upload_then(server: Server, token: str, fault: Callable[[], None]) -> bytes:
    """Send a whole file part, wait until its blob is stored, run `fault`, then send the rest."""
    fields = json.dumps(diploma_fields(), ensure_ascii=False).encode()
    body_file = PDF_HEAD + b"1" * (512 * 1024)
    first = (
        (f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="scan.pdf"\r\n\r\n').encode()
        + body_file
        + f'\r\n--{BOUNDARY}\r\nContent-Disposition: form-data; name="type"\r\n\r\n'.encode()
    )
    rest = (
        (f'diploma\r\n--{BOUNDARY}\r\nContent-Disposition: form-data; name="fields"\r\n\r\n').encode()
        + fields
        + f"\r\n--{BOUNDARY}--\r\n".encode()
    )
    request = (
        f"POST /api/v1/documents HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\n"
        f"Content-Type: multipart/form-data; boundary={BOUNDARY}\r\nContent-Length: {len(first) + len(rest)}\r\n\r\n"
    ).encode()
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=30)
    try:
        sock.sendall(request + first)
        _wait_for_pending_blob(server)
        fault()
        _try_send(sock, rest)
        return _read_response(sock)
    finally:
        sock.close()


def _wait_for_pending_blob(server: Server) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if _local_blobs(server.data_dir):
            return
        time.sleep(0.05)
    raise AssertionError("the blob was never written")
