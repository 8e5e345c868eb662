"""Blob storage: the `BlobStore` protocol and its backends (a local folder, an S3 bucket)."""

from storage.blobs.base import (
    BlobInfo,
    BlobNotFound,
    BlobStore,
    BlobStoreError,
    BlobStoreUnavailable,
    validate_key,
    validate_prefix,
)
from storage.blobs.factory import blob_store_from_url
from storage.blobs.local import LocalBlobStore
from storage.blobs.s3 import S3BlobStore, minio_client

__all__ = [
    "BlobInfo",
    "BlobNotFound",
    "BlobStore",
    "BlobStoreError",
    "BlobStoreUnavailable",
    "LocalBlobStore",
    "S3BlobStore",
    "blob_store_from_url",
    "minio_client",
    "validate_key",
    "validate_prefix",
]
