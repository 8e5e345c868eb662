"""Fixtures for the blob store contract: every test runs once per backend (`local`, `s3`).

The SeaweedFS server starts once per session, and only if an s3 test is selected
(`pytest -m "not s3"` runs the local backend alone, without starting it).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from storage.blobs import BlobStore, blob_store_from_url
from tests.seaweed import SeaweedServer


@pytest.fixture(scope="session")
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def bucket(seaweed: SeaweedServer) -> Iterator[str]:
    """A fresh, empty bucket, removed after the test."""
    name = f"contract-{uuid.uuid4().hex[:16]}"
    seaweed.create_bucket(name)
    yield name
    if seaweed.running:
        # SeaweedFS deletes a non-empty bucket along with its objects (s3.allowDeleteBucketNotEmpty).
        seaweed.client().remove_bucket(name)


@pytest.fixture
def s3_store(seaweed: SeaweedServer, bucket: str) -> BlobStore:
    """An S3 blob store over a fresh bucket, built through the URL factory."""
    url = seaweed.blob_store_url(bucket)
    return blob_store_from_url(url, access_key=seaweed.access_key, secret_key=seaweed.secret_key)


@pytest.fixture
def blob_root(tmp_path: Path) -> Path:
    return tmp_path / "blobs"


@pytest.fixture(params=["local", pytest.param("s3", marks=pytest.mark.s3)])
def backend(request: pytest.FixtureRequest) -> str:
    name: str = request.param
    return name


@pytest.fixture
def blob_store(backend: str, blob_root: Path, request: pytest.FixtureRequest) -> BlobStore:
    """The store under test: a fresh folder (`local`) or a fresh bucket (`s3`)."""
    if backend == "local":
        return blob_store_from_url(blob_root.as_uri())
    store: BlobStore = request.getfixturevalue("s3_store")
    return store


@pytest.fixture
def leftovers(backend: str, blob_root: Path, request: pytest.FixtureRequest) -> Callable[[], list[str]]:
    """What a failed put could leave behind: temporary files (local) or pending multipart uploads (s3)."""
    if backend == "local":
        return lambda: sorted(path.name for path in (blob_root / ".tmp").glob("*"))
    seaweed: SeaweedServer = request.getfixturevalue("seaweed")
    bucket: str = request.getfixturevalue("bucket")

    def pending_uploads() -> list[str]:
        uploads = seaweed.client()._list_multipart_uploads(bucket).uploads
        return sorted(f"{upload.object_name} {upload.upload_id}" for upload in uploads)

    return pending_uploads
