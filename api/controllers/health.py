"""Liveness with dependencies: the database and the blob store must both answer."""

from __future__ import annotations

from typing import Any

import anyio
from litestar import Response, get
from litestar.datastructures import State
from sqlalchemy import text

from api.deps import container_of
from storage.blobs import BlobStoreError


@get("/health", tags=["health"], security=[])
async def health(state: State) -> Response[dict[str, Any]]:
    container = container_of(state)
    checks = {"database": "ok", "storage": "ok"}

    def ping_database() -> None:
        with container.engine.connect() as connection:
            connection.execute(text("SELECT 1"))

    try:
        with anyio.fail_after(5):
            await anyio.to_thread.run_sync(ping_database)
    except Exception:  # any failure of the database means unhealthy, whatever its type
        checks["database"] = "unavailable"
    try:
        with anyio.fail_after(5):
            await container.blobs.check()
    except (BlobStoreError, TimeoutError, OSError):
        checks["storage"] = "unavailable"
    healthy = all(v == "ok" for v in checks.values())
    body = {"status": "ok" if healthy else "unavailable", "checks": checks}
    return Response(body, status_code=200 if healthy else 503)
