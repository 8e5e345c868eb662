"""The wallet benchmark's requests: a citizen's API client, multipart forms built in memory, PDF-like payloads."""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx

from bench import raw_http
from bench.foundation import Citizen, Wallet
from bench.papers import diploma_fields as paper_fields

MIB = 1024 * 1024
MB = 1_000_000  # throughput unit
PDF_HEAD = b"%PDF-1.7\n"
BOUNDARY = "bench-wallet-7d1c0f"
HOLDER = {"full_name": "Nguyễn Văn An", "date_of_birth": "1995-03-02"}  # a diploma's holder (not checked)


def diploma_fields(n: int) -> dict[str, Any]:
    """Valid diploma fields (`bench.papers`), the serial number made unique."""
    return paper_fields(HOLDER, n)


@dataclass(frozen=True)
class Form:
    """A multipart/form-data body for `POST /documents` around one optional file: `head ‖ file ‖ tail`."""

    head: bytes
    tail: bytes
    content_type: str = f"multipart/form-data; boundary={BOUNDARY}"

    @staticmethod
    def diploma(n: int, *, filename: str | None) -> Form:
        fields = json.dumps(diploma_fields(n), ensure_ascii=False)
        head = _text_part("type", "diploma") + _text_part("fields", fields)
        if filename is None:
            return Form(head, f"--{BOUNDARY}--\r\n".encode())
        head += (
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="{filename}"\r\n'
            "Content-Type: application/pdf\r\n\r\n"
        ).encode()
        return Form(head, f"\r\n--{BOUNDARY}--\r\n".encode())

    def headers(self, token: str, file_size: int) -> dict[str, str]:
        return {
            "Authorization": f"Bearer {token}",
            "Content-Type": self.content_type,
            "Content-Length": str(len(self.head) + file_size + len(self.tail)),
        }


def _text_part(name: str, value: str) -> bytes:
    return f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()


def pdf_bytes(size: int, rng: random.Random) -> bytes:
    """`%PDF-1.7\\n` and random bytes: a PDF to the wallet's sniffing, incompressible to everything else."""
    return PDF_HEAD + rng.randbytes(size - len(PDF_HEAD))


def expect(response: httpx.Response, status: int) -> None:
    if response.status_code != status:
        request = response.request
        raise RuntimeError(
            f"{request.method} {request.url.path} answered {response.status_code}, not {status}: {response.text}"
        )


@dataclass
class Api:
    """One signed-up citizen's view of a wallet server."""

    client: httpx.Client
    base: str  # .../api/v1
    token: str

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def upload(self, form: Form, body: bytes | Iterator[bytes], size: int) -> tuple[str, str]:
        """POST `body` (the whole form, or its pieces as they are made) around a `size`-byte file; returns
        (document id, file id)."""
        response = self.client.post(f"{self.base}/documents", content=body, headers=form.headers(self.token, size))
        expect(response, 201)
        document = response.json()
        if [f["size"] for f in document["files"]] != [size]:
            raise RuntimeError(f"the document lists files {document['files']}, not one of {size} bytes")
        return document["id"], document["files"][0]["id"]

    def download(self, document_id: str, file_id: str, digest: Any = None) -> int:
        """Stream the file, hashing it into `digest` if given; returns its size. Read by `bench.raw_http`, not httpx,
        whose own reading would count as the server's time (that module says how much)."""
        size = 0

        def received(piece: bytes) -> None:
            nonlocal size
            size += len(piece)
            if digest is not None:
                digest.update(piece)

        url = f"{self.base}/documents/{document_id}/files/{file_id}"
        got = raw_http.get(url, self.auth, received)
        if got.status != 200:
            raise RuntimeError(f"GET {url} answered {got.status}, not 200: {got.error_body.decode(errors='replace')}")
        if got.headers.get("content-length") != str(size):
            raise RuntimeError(
                f"GET {url} gave {size} bytes, not its Content-Length {got.headers.get('content-length')}"
            )
        return size

    def delete(self, document_id: str) -> None:
        expect(self.client.delete(f"{self.base}/documents/{document_id}", headers=self.auth), 204)


def sign_up(wallet: Wallet, client: httpx.Client, n: int) -> Api:
    return Api(client, wallet.api, wallet.sign_up(client, Citizen(n)))


def new_client() -> httpx.Client:
    return httpx.Client(timeout=120.0, trust_env=False)
