"""The fixed key and claims of the bare `POST /jwt` baseline (`bench/baseline_app.py`), apart from the app itself so
the benchmark process can make tokens without building a Litestar app (which sets up logging on import)."""

import time

import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

# A fixed, public benchmark key: the server process and the benchmark derive the same one from this seed.
KEY = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
PUBLIC_KEY = KEY.public_key()
AUDIENCE = "bench-baseline"
ISSUER = "http://127.0.0.1/bench"


def signed_token(lifetime: int = 3600) -> str:
    """A compact JWS of the shape of a QR token, valid `lifetime` seconds, that `POST /jwt` accepts."""
    now = int(time.time())
    claims = {"sub": "bench-subject", "typ": "qr", "aud": AUDIENCE, "iss": ISSUER, "iat": now, "exp": now + lifetime}
    return jwt.encode(claims, KEY, algorithm="EdDSA", headers={"kid": "bench"})
