"""The public signing keys, for verifying QR tokens and attestations offline."""

from __future__ import annotations

from litestar import get
from litestar.datastructures import CacheControlHeader, State

from api.deps import container_of
from crypto.jwks import JWKS_MAX_AGE_SECONDS, JwkSet, public_key_set


@get(
    "/.well-known/jwks.json",
    tags=["keys"],
    security=[],
    cache_control=CacheControlHeader(public=True, max_age=JWKS_MAX_AGE_SECONDS),
    summary="Public signing keys (JWKS)",
)
async def jwks(state: State) -> JwkSet:
    """Every Ed25519 key still valid for verification, including one that does not sign yet."""
    container = container_of(state)
    return public_key_set(container.keyring(), now=container.clock.now())
