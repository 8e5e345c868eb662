"""The bare Litestar app (`bench.baseline_app:app`) that authenticated endpoints are compared against."""

from litestar import Litestar, get


@get("/plain")
async def plain() -> dict[str, bool]:
    return {"ok": True}


@get("/health")
async def health() -> dict[str, str]:
    return {"status": "ok"}


app = Litestar([plain, health])
