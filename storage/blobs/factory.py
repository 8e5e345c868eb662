"""Build a blob store from a URL, so the choice of backend is one setting."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

from storage.blobs.base import BlobStore
from storage.blobs.local import LocalBlobStore
from storage.blobs.s3 import S3BlobStore, minio_client

_BUCKET = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
_ENDPOINT = re.compile(r"[A-Za-z0-9.-]+(:\d{1,5})?|\[[0-9A-Fa-f:.]+\](:\d{1,5})?")
_S3_PARAMS = frozenset({"endpoint", "secure", "region"})
_BOOLEANS = {"true": True, "1": True, "yes": True, "false": False, "0": False, "no": False}
_EXAMPLES = "file:///var/lib/congdanso/blobs or s3://BUCKET?endpoint=HOST:PORT&secure=false"


def blob_store_from_url(url: str, *, access_key: str | None = None, secret_key: str | None = None) -> BlobStore:
    """The blob store a URL names; no I/O happens until the store is used.

    - `file:///abs/path` → LocalBlobStore rooted at /abs/path (the keys are ignored).
    - `s3://BUCKET?endpoint=HOST:PORT[&secure=false][&region=…]` → S3BlobStore; `secure` defaults
      to true, `region` to us-east-1; both keys are required.

    Raises ValueError with a readable message for anything else.
    """
    parts = urlsplit(url)
    if parts.scheme == "file":
        return _local(url)
    if parts.scheme == "s3":
        return _s3(url, access_key=access_key, secret_key=secret_key)
    raise ValueError(f"unsupported blob store URL {_redact(url)!r}: expected {_EXAMPLES}")


def _local(url: str) -> LocalBlobStore:
    parts = urlsplit(url)
    if parts.netloc not in {"", "localhost"} or parts.query or parts.fragment:
        raise ValueError(f"blob store URL {url!r} must be file:///absolute/path (no host, query or fragment)")
    path = Path(unquote(parts.path))
    if not path.is_absolute() or path == Path("/"):
        raise ValueError(f"blob store URL {url!r} must name an absolute folder other than /")
    return LocalBlobStore(path)


def _s3(url: str, *, access_key: str | None, secret_key: str | None) -> S3BlobStore:
    parts = urlsplit(url)
    shown = _redact(url)
    if parts.username or parts.password:
        raise ValueError(f"blob store URL {shown!r}: pass the S3 keys as settings, not in the URL")
    if not _BUCKET.fullmatch(parts.netloc):
        raise ValueError(f"blob store URL {shown!r}: {parts.netloc!r} is not a valid S3 bucket name")
    if parts.path not in {"", "/"} or parts.fragment:
        raise ValueError(f"blob store URL {shown!r}: expected s3://BUCKET?endpoint=HOST:PORT, without a path")
    params = _query(parts.query, shown)
    endpoint = params.get("endpoint", "")
    if not _ENDPOINT.fullmatch(endpoint):
        raise ValueError(f"blob store URL {shown!r}: endpoint=HOST:PORT is required, got {endpoint!r}")
    secure = _BOOLEANS.get(params.get("secure", "true").lower())
    if secure is None:
        raise ValueError(f"blob store URL {shown!r}: secure must be true or false")
    if not access_key or not secret_key:
        raise ValueError("an S3 blob store needs both access_key and secret_key")
    client = minio_client(
        endpoint,
        access_key=access_key,
        secret_key=secret_key,
        secure=secure,
        region=params.get("region", "us-east-1"),
    )
    return S3BlobStore(client, parts.netloc)


def _query(query: str, shown: str) -> dict[str, str]:
    parsed = parse_qs(query, keep_blank_values=True, strict_parsing=False)
    unknown = set(parsed) - _S3_PARAMS
    if unknown:
        known = ", ".join(sorted(_S3_PARAMS))
        raise ValueError(f"blob store URL {shown!r}: unknown parameter(s) {sorted(unknown)}; known: {known}")
    repeated = [name for name, values in parsed.items() if len(values) > 1]
    if repeated:
        raise ValueError(f"blob store URL {shown!r}: parameter(s) given twice: {sorted(repeated)}")
    return {name: values[0] for name, values in parsed.items()}


def _redact(url: str) -> str:
    """The URL without any user:password part, for error messages."""
    parts = urlsplit(url)
    if parts.password is None and parts.username is None:
        return url
    host = parts.netloc.rpartition("@")[2]
    return parts._replace(netloc=f"***@{host}").geturl()
