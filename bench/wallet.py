"""The citizen's wallet: files through the API against the bare blob store, memory with a large file, the STREAM
cipher against bare AES-256-GCM, and listing a wallet of 1,000 papers.

`python -m bench.wallet` (also run by `python -m bench`). Servers are real uvicorn processes on 127.0.0.1 over
temporary data directories (`bench.foundation.wallet_server`), citizens are signed up through the real
register → outbox → OTP flow, and the S3 figures use a throwaway SeaweedFS (`tests.seaweed.SeaweedServer`).
Throughput is in MB/s with MB = 10**6 bytes; every ratio compares two figures measured in this run.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import random
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from bench.cpu import Costs, Meter
from bench.foundation import wallet_server
from bench.harness import load, percentile, record
from bench.transport import TransportFloor, transport_floor
from bench.wallet_cipher import CRYPTO_BYTES, CRYPTO_REPEAT, cipher_throughput, open_pieces
from bench.wallet_requests import MB, MIB, PDF_HEAD, Api, Form, expect, new_client, pdf_bytes, sign_up
from crypto.aead import Context
from crypto.stream import StreamEncryptor
from storage.blobs import BlobStore, blob_store_from_url
from tests.seaweed import SeaweedServer

# (a) 10 MiB files through the API against put + get on the same store
FILE_BYTES = 10 * MIB
ROUND_TRIPS = 8
WARMUP_TRIPS = 1
STORE_CHUNK = MIB  # chunk size of the bare put, as the store reads by default
S3_BUCKET = "wallet-bench"

# (b) one 200 MiB file up and down, server memory
BIG_BYTES = 200 * MIB
BIG_MAX_FILE_MB = 256
UPLOAD_CHUNK = MIB

# (d) listing a wallet of 1,000 papers
DOCUMENTS = 1000
CREATE_CONCURRENCY = 4
CREATE_TIMEOUT = 150.0  # seconds: bounds the creation load; it takes ~10-20 s
LIST_LIMIT = 50
LIST_WARMUP = 0.5
LIST_DURATION = 3.0
PAGE_ALL_LIMIT = 200
PAGE_ALL_REPEAT = 5


# -- (a) file round trips: API against the bare store ----------------------------------------------------------------


@dataclass
class Trips:
    up: list[float] = field(default_factory=list)
    down: list[float] = field(default_factory=list)

    def add(self, up: float, down: float) -> None:
        self.up.append(up)
        self.down.append(down)

    def rates(self, nbytes: int) -> tuple[float, float, float]:
        """(upload, download, round trip) MB/s over all trips: bytes moved / time taken."""
        up, down = sum(self.up), sum(self.down)
        trips = len(self.up)
        return nbytes * trips / up / MB, nbytes * trips / down / MB, 2 * nbytes * trips / (up + down) / MB


async def _store_trip(store: BlobStore, key: str, chunks: list[bytes], expected: bytes | None) -> tuple[float, float]:
    async def source() -> AsyncIterator[bytes]:
        for chunk in chunks:
            yield chunk

    started = time.perf_counter()
    await store.put(key, source())
    stored = time.perf_counter()
    received: list[bytes] = []
    size = 0
    async for chunk in store.get(key):  # read to the end, which closes the stream
        size += len(chunk)
        if expected is not None:
            received.append(chunk)
    fetched = time.perf_counter()
    await store.delete(key)
    if size != sum(map(len, chunks)) or (expected is not None and b"".join(received) != expected):
        raise RuntimeError(f"the store gave back {size} bytes that differ from what was put")
    return stored - started, fetched - stored


async def _in_process_trip(store: BlobStore, key: str, chunks: list[bytes], data: bytes) -> tuple[float, float]:
    """What an upload and a download cannot avoid, without HTTP: (seal + put, open) of the same bytes, the seal fed
    the file's chunks and the open the sealed stream in `STORE_CHUNK` pieces from memory."""
    key_bytes = os.urandom(32)
    context = Context("file", citizen="c-bench", document="d-bench", version=1, file=key.rpartition("/")[2])
    encryptor = StreamEncryptor(key_bytes, context=context)
    sealed: list[bytes] = [encryptor.header()]

    async def sealing() -> AsyncIterator[bytes]:
        yield encryptor.header()
        for chunk in chunks:
            piece = encryptor.update(chunk)
            sealed.append(piece)
            yield piece
        last = encryptor.finalize()
        sealed.append(last)
        yield last

    started = time.perf_counter()
    await store.put(key, sealing())
    stored = time.perf_counter()
    await store.delete(key)
    stream = b"".join(sealed)
    pieces = [stream[i : i + STORE_CHUNK] for i in range(0, len(stream), STORE_CHUNK)]
    started_open = time.perf_counter()
    plain = open_pieces(key_bytes, context, pieces)
    opened = time.perf_counter()
    if sum(map(len, plain)) != len(data):
        raise RuntimeError("STREAM opened to a different size")
    return stored - started, opened - started_open


def _api_trip(
    api: Api, form: Form, data: bytes, body: bytes, *, check: bool, meter: Meter, costs: Costs
) -> tuple[float, float]:
    """(upload, download) seconds; the server's and this process's CPU time of each go into `costs`."""
    meter.start()
    started = time.perf_counter()
    document_id, file_id = api.upload(form, body, len(data))
    stored = time.perf_counter()
    costs.uploaded(meter.stop())
    digest = hashlib.sha256() if check else None
    size = api.download(document_id, file_id, digest)
    fetched = time.perf_counter()
    costs.downloaded(meter.stop())
    api.delete(document_id)
    if size != len(data) or (digest is not None and digest.digest() != hashlib.sha256(data).digest()):
        raise RuntimeError(f"the API gave back {size} bytes that differ from the upload")
    return stored - started, fetched - stored


def file_round_trips(
    prefix: str, api: Api, server_pid: int, store: BlobStore, floor: TransportFloor
) -> dict[str, float]:
    """`ROUND_TRIPS` uploads + downloads of a 10 MiB PDF through the API, interleaved with as many put + get of
    the same bytes on the store the server uses, as many in-process seal + put and STREAM opens of them, and as many
    trips of the same body to the bare transport app (`bench.transport`); the first of each (content checked) is
    not measured. The CPU time the wallet server (`server_pid`), the transport app and this process (the client)
    spend on each measured upload and download is read around it (`bench.cpu`)."""
    data = pdf_bytes(FILE_BYTES, random.Random(prefix))
    chunks = [data[i : i + STORE_CHUNK] for i in range(0, len(data), STORE_CHUNK)]
    form = Form.diploma(1, filename="scan.pdf")
    body = form.head + data + form.tail
    through_api, bare, in_process, transport = Trips(), Trips(), Trips(), Trips()
    api_costs, transport_costs, warm_up_costs = Costs(), Costs(), Costs()
    meter = Meter(server_pid)
    floor_headers = {"Content-Type": form.content_type, "Content-Length": str(len(body))}
    with asyncio.Runner() as runner:
        for trip in range(WARMUP_TRIPS + ROUND_TRIPS):
            warm_up = trip < WARMUP_TRIPS
            costs = (warm_up_costs, warm_up_costs) if warm_up else (api_costs, transport_costs)
            api_times = _api_trip(api, form, data, body, check=warm_up, meter=meter, costs=costs[0])
            store_times = runner.run(_store_trip(store, f"bench/raw-{trip}", chunks, data if warm_up else None))
            floor_times = runner.run(_in_process_trip(store, f"bench/sealed-{trip}", chunks, data))
            transport_times = floor.trip(body, floor_headers, costs[1])
            if not warm_up:
                through_api.add(*api_times)
                bare.add(*store_times)
                in_process.add(*floor_times)
                transport.add(*transport_times)
    api_up, api_down, api_trip = through_api.rates(FILE_BYTES)
    put, get, store_trip = bare.rates(FILE_BYTES)
    seal_put, stream_open, _ = in_process.rates(FILE_BYTES)
    http_up, http_down, _ = transport.rates(FILE_BYTES)
    # The file store's run names the floor plainly; the S3 run measures its own, interleaved with its trips.
    floor_prefix = "wallet_transport" if prefix == "wallet_file" else f"{prefix}_transport"
    cpu = api_costs.figures(f"{prefix}_api", FILE_BYTES) | transport_costs.figures(floor_prefix, FILE_BYTES)
    return (
        cpu
        | _cpu_bounds(prefix, cpu, seal_put, stream_open)
        | {
            f"{floor_prefix}_upload_mb_s": http_up,
            f"{floor_prefix}_download_mb_s": http_down,
            f"{prefix}_api_upload_vs_transport": api_up / http_up,
            f"{prefix}_api_download_vs_transport": api_down / http_down,
            f"{prefix}_seal_put_mb_s": seal_put,
            f"{prefix}_stream_open_mb_s": stream_open,
            f"{prefix}_api_upload_vs_seal_put_ratio": api_up / seal_put,
            f"{prefix}_api_download_vs_stream_open_ratio": api_down / stream_open,
            f"{prefix}_api_upload_mb_s": api_up,
            f"{prefix}_api_download_mb_s": api_down,
            f"{prefix}_api_roundtrip_mb_s": api_trip,
            f"{prefix}_store_put_mb_s": put,
            f"{prefix}_store_get_mb_s": get,
            f"{prefix}_store_roundtrip_mb_s": store_trip,
            f"{prefix}_api_vs_store_ratio": api_trip / store_trip,
            f"{prefix}_api_upload_vs_put_ratio": api_up / put,
            f"{prefix}_api_download_vs_get_ratio": api_down / get,
        }
    )


def _cpu_bounds(prefix: str, cpu: dict[str, float], seal_put: float, stream_open: float) -> dict[str, float]:
    """What the two cores could carry at best if server and client spent on a transfer only the CPU they did and
    never waited (MB/s: 10 MiB over half their summed CPU time), and that bound over the in-process figure the API
    ratio is read against: below the ratio's goal, no change to waiting alone reaches it."""
    figures: dict[str, float] = {}
    for way, in_process in (("upload", seal_put), ("download", stream_open)):
        spent_ms = (
            cpu[f"{prefix}_api_{way}_server_cpu_ms_per_10mib"] + cpu[f"{prefix}_api_{way}_client_cpu_ms_per_10mib"]
        )
        bound = 10 * MIB / (spent_ms / 1000 / 2) / MB
        figures[f"{prefix}_api_{way}_cpu_bound_mb_s"] = bound
        figures[f"{prefix}_api_{way}_cpu_bound_vs_in_process"] = bound / in_process
    return figures


# -- (b) one 200 MiB file, server memory -----------------------------------------------------------------------------


def _big_body(form: Form, digest: Any) -> Iterator[bytes]:
    """The form around `BIG_BYTES` of PDF in 1 MiB chunks, made as they are sent (one random MiB, each chunk
    numbered); the file's bytes go through `digest`."""
    yield form.head
    block = random.Random("big").randbytes(UPLOAD_CHUNK)
    for n in range(BIG_BYTES // UPLOAD_CHUNK):
        head = PDF_HEAD if n == 0 else n.to_bytes(len(PDF_HEAD), "big")
        chunk = head + block[len(PDF_HEAD) :]
        digest.update(chunk)
        yield chunk
    yield form.tail


def big_file(data_dir: Path, token: str) -> dict[str, float]:
    """A fresh server over `data_dir` (its citizen signed up on an earlier server: no PIN hash in this process),
    its startup peak set aside, then one `BIG_BYTES` upload streamed from a generator and its streamed download.

    The startup peak is left out because the server computes a dummy Argon2id hash (64 MiB) while it starts
    (`crypto.passwords.PinHasher`): that spike is the PIN policy, not file handling, and would hide it."""
    with (
        wallet_server({"WALLET_MAX_FILE_MB": str(BIG_MAX_FILE_MB)}, data_dir=data_dir) as wallet,
        new_client() as client,
    ):
        server = wallet.server
        start_rss, startup_peak = server.rss_mb(), server.peak_rss_mb()
        server.reset_peak_rss()
        api = Api(client, wallet.api, token)
        sent = hashlib.sha256()
        started = time.perf_counter()
        form = Form.diploma(2, filename="big.pdf")
        document_id, file_id = api.upload(form, _big_body(form, sent), BIG_BYTES)
        uploaded = time.perf_counter()
        upload_peak = server.peak_rss_mb()
        received = hashlib.sha256()
        size = api.download(document_id, file_id, received)
        downloaded = time.perf_counter()
        peak, end_rss = server.peak_rss_mb(), server.rss_mb()
        if size != BIG_BYTES or received.digest() != sent.digest():
            raise RuntimeError(f"the {BIG_BYTES}-byte file came back as {size} different bytes")
        api.delete(document_id)
    print(
        f"  server RSS {start_rss:.1f} MiB after start (startup peak {startup_peak:.1f}, then reset); peak "
        f"{upload_peak:.1f} MiB by the end of the upload, {peak:.1f} by the end of the download; {end_rss:.1f} after"
    )
    return {
        "wallet_big_file_server_start_rss_mb": start_rss,
        "wallet_big_file_server_startup_peak_rss_mb": startup_peak,
        "wallet_big_file_server_peak_rss_mb": peak,
        "wallet_big_file_server_peak_growth_mb": peak - start_rss,
        "wallet_big_file_upload_mb_s": BIG_BYTES / (uploaded - started) / MB,
        "wallet_big_file_download_mb_s": BIG_BYTES / (downloaded - uploaded) / MB,
    }


# -- (d) listing 1,000 papers ----------------------------------------------------------------------------------------


def _fill(api: Api) -> float:
    """Create `DOCUMENTS` diplomas without files from `CREATE_CONCURRENCY` connections; returns documents/s."""

    def request(n: int) -> httpx.Request:
        form = Form.diploma(1000 + n, filename=None)
        return httpx.Request(
            "POST", f"{api.base}/documents", content=form.head + form.tail, headers=form.headers(api.token, 0)
        )

    result = asyncio.run(load(request, concurrency=CREATE_CONCURRENCY, duration=CREATE_TIMEOUT, max_requests=DOCUMENTS))
    print(f"  POST /documents (no file): {result}")
    if result.errors or result.requests != DOCUMENTS:
        raise RuntimeError(f"{result.errors} of {result.requests} document creations failed (wanted {DOCUMENTS})")
    return result.rps


def _page_through(api: Api) -> tuple[float, int]:
    """Follow `next_cursor` with limit=200 from the first page to the last; returns (seconds, documents seen)."""
    seen: set[str] = set()
    cursor: str | None = None
    started = time.perf_counter()
    while True:
        params = {"limit": str(PAGE_ALL_LIMIT), **({"cursor": cursor} if cursor else {})}
        response = api.client.get(f"{api.base}/documents", params=params, headers=api.auth)
        expect(response, 200)
        page = response.json()
        seen.update(item["id"] for item in page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            return time.perf_counter() - started, len(seen)


def listing(api: Api) -> dict[str, float]:
    create_rps = _fill(api)
    url = f"{api.base}/documents?limit={LIST_LIMIT}"
    first = api.client.get(url, headers=api.auth)
    expect(first, 200)
    if len(first.json()["items"]) != LIST_LIMIT or first.json()["next_cursor"] is None:
        raise RuntimeError(f"the first page of {DOCUMENTS} documents is not {LIST_LIMIT} items and a cursor")
    asyncio.run(load(url, concurrency=1, duration=LIST_WARMUP, max_requests=10_000, headers=api.auth))
    result = asyncio.run(load(url, concurrency=1, duration=LIST_DURATION, max_requests=10_000, headers=api.auth))
    print(f"  GET /documents?limit={LIST_LIMIT}: {result}")
    if result.errors:
        raise RuntimeError(f"{result.errors} of {result.requests} list requests failed")
    walks = []
    for _ in range(1 + PAGE_ALL_REPEAT):
        seconds, count = _page_through(api)
        if count != DOCUMENTS:
            raise RuntimeError(f"paging through the wallet saw {count} documents, not {DOCUMENTS}")
        walks.append(seconds * 1000)
    return {
        "wallet_create_doc_rps": create_rps,
        "wallet_list_50_p50_ms": result.p50_ms,
        "wallet_list_50_p99_ms": result.p99_ms,
        "wallet_list_50_rps": result.rps,
        "wallet_page_all_1000_by_200_ms": percentile(walks[1:], 50),
    }


# -- main ------------------------------------------------------------------------------------------------------------


def local_store_figures() -> None:
    """(a) on the default file store, (d) beside it, then (b) on a fresh server over the same data directory."""
    with tempfile.TemporaryDirectory(prefix="bench-wallet-") as tmp:
        data_dir = Path(tmp)
        with wallet_server(data_dir=data_dir) as wallet, new_client() as client, transport_floor(client) as floor:
            api = sign_up(wallet, client, 1)
            print(f"wallet: {ROUND_TRIPS} × 10 MiB up + down, file store (+{WARMUP_TRIPS} warm-up)")
            store = blob_store_from_url(f"file://{(data_dir / 'blobs').resolve()}")
            record(file_round_trips("wallet_file", api, wallet.server.pid, store, floor))
            print(f"wallet: {DOCUMENTS} documents in one wallet, then GET /documents")
            record(listing(sign_up(wallet, client, 2)))
            peak = wallet.server.peak_rss_mb()
            print(f"  server peak RSS after two sign-ups (Argon2id, 64 MiB each) and the above: {peak:.1f} MiB")
        print(f"wallet: one {BIG_BYTES // MIB} MiB file up + down, fresh server, WALLET_MAX_FILE_MB={BIG_MAX_FILE_MB}")
        record(big_file(data_dir, api.token))


def s3_store_figures() -> None:
    with SeaweedServer() as s3:
        s3.create_bucket(S3_BUCKET)
        url = s3.blob_store_url(S3_BUCKET)
        env = {"WALLET_STORAGE_URL": url, "WALLET_S3_ACCESS_KEY": s3.access_key, "WALLET_S3_SECRET_KEY": s3.secret_key}
        with wallet_server(env) as wallet, new_client() as client, transport_floor(client) as floor:
            api = sign_up(wallet, client, 1)
            print(f"wallet: {ROUND_TRIPS} × 10 MiB up + down, S3 store (SeaweedFS, +{WARMUP_TRIPS} warm-up)")
            store = blob_store_from_url(url, access_key=s3.access_key, secret_key=s3.secret_key)
            record(file_round_trips("wallet_s3", api, wallet.server.pid, store, floor))


def _load_average() -> str:
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


def main() -> None:
    # The machine may be shared: its load says how far to trust absolute figures (ratios are interleaved).
    print(f"wallet: {os.cpu_count()} CPUs, load average {_load_average()}")
    print(f"wallet: STREAM vs bare AES-256-GCM, {CRYPTO_BYTES // MIB} MiB × {CRYPTO_REPEAT} (+1 warm-up)")
    record(cipher_throughput())
    local_store_figures()
    s3_store_figures()
    print(f"wallet: load average {_load_average()} at the end")


if __name__ == "__main__":
    main()
