"""`GET /me` at the floor of this stack (`bench.stack_floor_app:app`): what an authenticated read of a citizen's
profile cannot skip, on the framework and database layer the service is built on, and nothing of the service.

One handler, no middleware: the bearer token verified as an EdDSA JWT with pyjwt (signature, `alg`, `exp`, `aud`,
`iss`), a SQLite read transaction through SQLAlchemy Core of two rows by primary key (the login row and the sealed
profile, as a reading unit reads them, on the event loop), the profile's AES-GCM open, and a small JSON answer.
`bench.fast_paths` measures it beside the bare app; with the wallet's own floor (its middleware and guard, the gap
between `GET /.well-known/jwks.json` and the bare `GET /plain`) added, it is the best `GET /me` could do here with
every piece of the service's own work removed. The database file is made by `bench.floors.stack_floor_database` and
named by `BENCH_STACK_FLOOR_DB`.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path
from typing import Any

import jwt
import sqlalchemy as sa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from litestar import Litestar, Request, get

from bench.baseline_jwt import AUDIENCE, ISSUER, PUBLIC_KEY
from bench.floors import (
    BY_ID,
    STACK_FLOOR_AAD,
    STACK_FLOOR_DB_ENV,
    STACK_FLOOR_KEY,
    STACK_FLOOR_LOGIN,
    STACK_FLOOR_NONCE,
    STACK_FLOOR_PROFILE,
    sqlite_engine,
)

_AEAD = AESGCM(STACK_FLOOR_KEY)


@functools.cache
def _engine() -> sa.Engine:
    return sqlite_engine(Path(os.environ[STACK_FLOOR_DB_ENV]))


@get("/me")
async def me(request: Request[Any, Any, Any]) -> dict[str, object]:
    token = request.headers.get("authorization", "").removeprefix("Bearer ")
    claims = jwt.decode(token, PUBLIC_KEY, algorithms=["EdDSA"], audience=AUDIENCE, issuer=ISSUER)
    with _engine().connect() as connection, connection.begin():
        login = connection.execute(BY_ID, {"id": STACK_FLOOR_LOGIN}).one()
        profile = connection.execute(BY_ID, {"id": STACK_FLOOR_PROFILE}).one()
    opened = _AEAD.decrypt(STACK_FLOOR_NONCE, profile.sealed, STACK_FLOOR_AAD)
    return {"sub": claims["sub"], "login": login.id, "profile_bytes": len(opened)}


@get("/health")
async def health() -> dict[str, str]:
    return {"status": "ok"}


app = Litestar([me, health])
