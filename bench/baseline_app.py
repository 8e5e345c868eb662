"""The bare Litestar app (`bench.baseline_app:app`) that authenticated endpoints are compared against.

`GET /plain` answers a constant; `POST /jwt` reads a JSON body `{"token"}` and verifies it as an EdDSA JWT with pyjwt
against one fixed key (signature, `alg`, `exp`, `aud`, `iss`; `bench/baseline_jwt.py`), the least a scan endpoint
must do before any database work.
"""

from typing import Any

import jwt
from litestar import Litestar, get, post

from bench.baseline_jwt import AUDIENCE, ISSUER, PUBLIC_KEY


@get("/plain")
async def plain() -> dict[str, bool]:
    return {"ok": True}


@post("/jwt", status_code=200)
async def verify_jwt(data: dict[str, str]) -> dict[str, Any]:
    claims = jwt.decode(data["token"], PUBLIC_KEY, algorithms=["EdDSA"], audience=AUDIENCE, issuer=ISSUER)
    return {"valid": True, "sub": claims["sub"], "exp": claims["exp"]}


@get("/health")
async def health() -> dict[str, str]:
    return {"status": "ok"}


app = Litestar([plain, verify_jwt, health])
