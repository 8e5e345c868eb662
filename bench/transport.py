"""The transport floor of the wallet's file figures: the same 10 MiB up and down, sent by the same clients, to a bare
Litestar app (`bench/transport_app.py`) that does no crypto, no database and no store work.

The upload posts the very multipart body the wallet's upload posts (httpx, `Content-Length` set) and the app reads
it to its end; the download is read by `bench.raw_http` as the wallet's is. What HTTP carries on these cores at best,
so a wallet figure can be read as a share of it: context, not a goal.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import httpx

from bench import raw_http
from bench.cpu import Costs, Meter
from bench.harness import ServerProcess
from bench.transport_app import FILE_BYTES


@dataclass(frozen=True)
class TransportFloor:
    client: httpx.Client
    base: str
    pid: int

    def trip(self, body: bytes, headers: dict[str, str], costs: Costs | None = None) -> tuple[float, float]:
        """(upload seconds, download seconds) of one `body` posted and `FILE_BYTES` streamed back; the app's and this
        process's CPU time of each go into `costs` if given."""
        meter = Meter(self.pid)
        meter.start()
        started = time.perf_counter()
        response = self.client.post(f"{self.base}/upload", content=body, headers=headers)
        stored = time.perf_counter()
        up_cpu = meter.stop()
        if response.status_code != 201 or response.json() != {"size": len(body)}:
            raise RuntimeError(f"the transport floor's upload answered {response.status_code}: {response.text}")
        size = 0

        def received(piece: bytes) -> None:
            nonlocal size
            size += len(piece)

        got = raw_http.get(f"{self.base}/download", {}, received)
        fetched = time.perf_counter()
        if costs is not None:
            costs.uploaded(up_cpu)
            costs.downloaded(meter.stop())
        if got.status != 200 or size != FILE_BYTES or got.headers.get("content-length") != str(size):
            raise RuntimeError(f"the transport floor's download answered {got.status} with {size} bytes")
        return stored - started, fetched - stored


@contextmanager
def transport_floor(client: httpx.Client) -> Iterator[TransportFloor]:
    """The bare app served as the wallet is (uvicorn, 1 worker, on 127.0.0.1)."""
    with ServerProcess("bench.transport_app:app") as server:
        yield TransportFloor(client, server.base_url, server.pid)
