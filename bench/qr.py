"""QR identity: offline verification of a QR token with pyjwt and the JWKS against raw Ed25519 verification of the
same bytes, the identity QR's SVG drawn in process, `POST /api/v1/verify/qr` with 1 and 2 uvicorn workers, and
`GET /api/v1/me/qr`.

`python -m bench.qr` (also run by `python -m bench`). Servers are real uvicorn processes on 127.0.0.1 over one
temporary data directory (`bench.foundation.wallet_server`); the citizen signs up through the real register → outbox
→ OTP flow, the agency and its officer are made with the `congdanso` CLI on that data directory, and the officer
logs in by phone + PIN + the OTP from the outbox. Every ratio compares two figures measured in this run.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from bench.foundation import PIN, Citizen, Wallet, wallet_server
from bench.harness import CLI, REPO_ROOT, LoadResult, load, record
from identity import qr as identity_qr

try:  # the service's own compact-JWS verifier; absent from earlier commits, whose run records pyjwt and raw only
    from crypto.compact_jws import JwksVerifier
except ImportError:  # pragma: no cover - depends on the commit measured
    JwksVerifier = None  # type: ignore[assignment,misc]

QR_AUDIENCE = "congdanso-qr"  # identity.qr.QR_AUDIENCE, as a scanner knows it (not imported: it holds the JWKS only)

# (a) offline verification, in this process
OFFLINE_BATCH = 2000  # verifications per timed batch
OFFLINE_ROUNDS = 7  # batches of each kind, alternating, after one warm-up batch each

# (b) POST /verify/qr and (c) GET /me/qr
CONCURRENCY = 16
DURATION = 5.0
WARMUP = 1.0
LATENCY_DURATION = 3.0  # GET /me/qr, one connection
LATENCY_WARMUP = 0.5
MAX_REQUESTS = 10_000_000

AGENCY = "BENCH-QR"
OFFICER_PHONE = "0981234567"
OFFICER_E164 = "+84981234567"


def _expect(response: httpx.Response, status: int) -> Any:
    if response.status_code != status:
        request = response.request
        raise RuntimeError(
            f"{request.method} {request.url.path} answered {response.status_code}, not {status}: {response.text}"
        )
    return response.json()


def _b64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


# -- setup -----------------------------------------------------------------------------------------------------------


def _congdanso(data_dir: Path, *args: str) -> dict[str, Any]:
    """The operator's CLI on the benchmark's data directory; returns its JSON answer."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "WALLET_ENV": "dev",
        "WALLET_DATA_DIR": str(data_dir),
        "WALLET_LOG_LEVEL": "warning",
    }
    done = subprocess.run(
        [*CLI, *args], cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=120, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"congdanso {' '.join(args)} failed: {done.stderr}")
    answer: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return answer


def officer_token(wallet: Wallet, client: httpx.Client, data_dir: Path) -> str:
    """An agency and its officer made with the CLI, then the officer's login: phone + PIN, OTP from the outbox."""
    _congdanso(data_dir, "agency", "create", "--code", AGENCY, "--name", "Bộ phận một cửa (bench)", "--json")
    officer = ["--phone", OFFICER_PHONE, "--name", "Cán bộ Bench", "--agency", AGENCY, "--pin", PIN]
    _congdanso(data_dir, "officer", "create", *officer, "--json")
    challenge = _expect(client.post(f"{wallet.api}/auth/login", json={"phone": OFFICER_PHONE, "pin": PIN}), 202)
    code = wallet.outbox.code_for(OFFICER_E164)
    verify = {"challenge_id": challenge["challenge_id"], "code": code}
    token: str = _expect(client.post(f"{wallet.api}/auth/otp/verify", json=verify), 200)["access_token"]
    return token


def proof_at_counter(wallet: Wallet, client: httpx.Client, officer: str, citizen_token: str) -> None:
    """Identity level 2, as at a one-stop counter: the officer scans the citizen's QR and confirms the card."""
    scan = _expect(
        client.post(
            f"{wallet.api}/verify/qr",
            json={"token": fresh_qr(wallet, client, citizen_token)},
            headers={"Authorization": f"Bearer {officer}"},
        ),
        200,
    )
    proofing = {"presence_id": scan["presence_id"]}
    _expect(
        client.post(f"{wallet.api}/identity/proofings", json=proofing, headers={"Authorization": f"Bearer {officer}"}),
        201,
    )


def fresh_qr(wallet: Wallet, client: httpx.Client, citizen_token: str) -> str:
    """A QR token from `GET /me/qr` (valid 5 minutes: fetched again before each measurement)."""
    answer = _expect(client.get(f"{wallet.api}/me/qr", headers={"Authorization": f"Bearer {citizen_token}"}), 200)
    token: str = answer["token"]
    return token


def check_scan(wallet: Wallet, client: httpx.Client, officer: str, qr: str) -> None:
    headers = {"Authorization": f"Bearer {officer}"}
    answer = _expect(client.post(f"{wallet.api}/verify/qr", json={"token": qr}, headers=headers), 200)
    if answer.get("valid") is not True:
        raise RuntimeError(f"the officer's scan of a fresh QR token answered {answer}")


# -- (a) offline verification ----------------------------------------------------------------------------------------


def _per_second(fn: Callable[[], object], rounds: list[float]) -> None:
    started = time.perf_counter()
    for _ in range(OFFLINE_BATCH):
        fn()
    rounds.append(OFFLINE_BATCH / (time.perf_counter() - started))


def offline_verification(token: str, jwks: dict[str, Any], issuer: str) -> dict[str, float]:
    """What a scanner holding the JWKS does with one token: pick the key by `kid`, then `jwt.decode` (signature,
    `alg`, `exp`, `aud`, `iss`), and, where it exists, the service's `crypto.compact_jws.JwksVerifier` (the same
    checks plus `typ`, `sub`, `jti`, `iat`); against `Ed25519PublicKey.verify` of the same signing input with the
    same key object, nothing else. Batches of each alternate; medians of `OFFLINE_ROUNDS`."""
    key_set = jwt.PyJWKSet.from_dict(jwks)
    signing_input, _, signature_b64 = token.rpartition(".")
    message, signature = signing_input.encode(), _b64url(signature_b64)
    public_key = key_set[jwt.get_unverified_header(token)["kid"]].key
    if not isinstance(public_key, Ed25519PublicKey):
        raise RuntimeError(f"the JWKS key is a {type(public_key).__name__}, not Ed25519")

    def with_pyjwt() -> object:
        kid = jwt.get_unverified_header(token)["kid"]
        return jwt.decode(token, key_set[kid].key, algorithms=["EdDSA"], audience=QR_AUDIENCE, issuer=issuer)

    def raw() -> None:
        public_key.verify(signature, message)

    claims = with_pyjwt()
    if not isinstance(claims, dict) or claims.get("typ") != "qr":
        raise RuntimeError(f"the QR token decoded to {claims!r}")
    kinds: dict[str, Callable[[], object]] = {"pyjwt": with_pyjwt, "raw": raw}
    if JwksVerifier is not None:
        kinds["compact"] = _compact_verification(token, jwks, issuer, claims)
    rounds: dict[str, list[float]] = {name: [] for name in kinds}
    for n in range(1 + OFFLINE_ROUNDS):
        for name, fn in kinds.items():
            _per_second(fn, rounds[name])
        if n == 0:
            for measured in rounds.values():
                measured.clear()
    rate = {name: statistics.median(measured) for name, measured in rounds.items()}
    compact = f", compact JWS {rate['compact']:.0f}/s" if "compact" in rate else ""
    print(f"  pyjwt {rate['pyjwt']:.0f}/s{compact}, raw Ed25519 {rate['raw']:.0f}/s over a {len(token)}-char token")
    figures = {
        "qr_token_chars": len(token),
        "qr_offline_pyjwt_verify_per_s": rate["pyjwt"],
        "qr_offline_raw_ed25519_verify_per_s": rate["raw"],
        "qr_offline_pyjwt_vs_raw_ratio": rate["pyjwt"] / rate["raw"],
    }
    if "compact" in rate:
        figures["qr_offline_compact_verify_per_s"] = rate["compact"]
        figures["qr_offline_compact_vs_raw_ratio"] = rate["compact"] / rate["raw"]
    return figures


def _compact_verification(
    token: str, jwks: dict[str, Any], issuer: str, expected: dict[str, Any]
) -> Callable[[], object]:
    """The service's offline verifier over the same JWKS, checked to read the token as pyjwt does first."""
    verifier = JwksVerifier.from_jwks(jwks)

    def with_compact() -> object:  # the clock read per token, as pyjwt reads it inside `decode`
        return verifier.verify(token, typ="qr", audience=QR_AUDIENCE, issuer=issuer, now=datetime.now(UTC))

    if with_compact() != expected:
        raise RuntimeError("the compact verifier and pyjwt read the QR token differently")
    return with_compact


# -- (d) the identity QR's drawing, in this process --------------------------------------------------------------------

RENDER_BATCH = 200  # renders per timed batch
RENDER_ROUNDS = 7  # batches, after one warm-up batch


def render_rate(token: str) -> dict[str, float]:
    """Renders/s of the SVG `GET /me/qr` serves for a token of the service (from `GET /me/qr`), nothing else: the
    function the service calls (`identity.qr.identity_qr_svg`; `qr_svg` where it does not exist yet, so the same
    benchmark runs on earlier commits). Median of `RENDER_ROUNDS` batches."""
    draw: Callable[[str], str] = getattr(identity_qr, "identity_qr_svg", identity_qr.qr_svg)
    rounds: list[float] = []
    for n in range(1 + RENDER_ROUNDS):
        started = time.perf_counter()
        for _ in range(RENDER_BATCH):
            draw(token)
        if n:
            rounds.append(RENDER_BATCH / (time.perf_counter() - started))
    rate = statistics.median(rounds)
    print(f"  {draw.__name__}: {rate:.0f} renders/s of a {len(token)}-character token")
    return {"qr_render_per_s": rate}


# -- (b), (c) HTTP ---------------------------------------------------------------------------------------------------


def _measured(url: str, *, concurrency: int, duration: float, warmup: float, **request: Any) -> LoadResult:
    asyncio.run(load(url, concurrency=concurrency, duration=warmup, max_requests=MAX_REQUESTS, **request))
    result = asyncio.run(load(url, concurrency=concurrency, duration=duration, max_requests=MAX_REQUESTS, **request))
    print(f"  {request.get('method', 'GET')} {url}: {result}")
    if result.errors:
        raise RuntimeError(f"{result.errors} of {result.requests} requests to {url} failed")
    return result


def verify_load(wallet: Wallet, client: httpx.Client, citizen: str, officer: str, workers: int) -> dict[str, float]:
    qr = fresh_qr(wallet, client, citizen)
    check_scan(wallet, client, officer, qr)
    result = _measured(
        f"{wallet.api}/verify/qr",
        concurrency=CONCURRENCY,
        duration=DURATION,
        warmup=WARMUP,
        method="POST",
        json={"token": qr},
        headers={"Authorization": f"Bearer {officer}"},
    )
    check_scan(wallet, client, officer, qr)  # still a valid scan at the end: the load measured real verifications
    prefix = f"qr_verify_{workers}w"
    return {f"{prefix}_rps": result.rps, f"{prefix}_p50_ms": result.p50_ms, f"{prefix}_p99_ms": result.p99_ms}


def me_qr_load(wallet: Wallet, citizen: str) -> dict[str, float]:
    url, headers = f"{wallet.api}/me/qr", {"Authorization": f"Bearer {citizen}"}
    latency = _measured(url, concurrency=1, duration=LATENCY_DURATION, warmup=LATENCY_WARMUP, headers=headers)
    throughput = _measured(url, concurrency=CONCURRENCY, duration=DURATION, warmup=WARMUP, headers=headers)
    return {
        "qr_me_qr_p50_ms": latency.p50_ms,
        "qr_me_qr_p99_ms": latency.p99_ms,
        "qr_me_qr_rps": throughput.rps,
        "qr_me_qr_16c_p99_ms": throughput.p99_ms,
    }


def main() -> None:
    print(f"qr: {os.cpu_count()} CPUs, load average {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    with tempfile.TemporaryDirectory(prefix="bench-qr-") as tmp:
        data_dir = Path(tmp)
        with wallet_server(data_dir=data_dir) as wallet, httpx.Client(timeout=30.0, trust_env=False) as client:
            citizen = wallet.sign_up(client, Citizen(1))
            officer = officer_token(wallet, client, data_dir)
            jwks = _expect(client.get(f"{wallet.server.base_url}/.well-known/jwks.json"), 200)
            issuer = jwt.decode(citizen, options={"verify_signature": False})["iss"]
            print(f"qr: offline verification, {OFFLINE_ROUNDS} × {OFFLINE_BATCH} of each (+1 warm-up), alternating")
            record(offline_verification(fresh_qr(wallet, client, citizen), jwks, issuer))
            print(f"qr: the identity QR's SVG, {RENDER_ROUNDS} × {RENDER_BATCH} renders (+1 warm-up)")
            record(render_rate(fresh_qr(wallet, client, citizen)))
            print(f"qr: POST /verify/qr, 1 worker, {CONCURRENCY} connections, {DURATION:g} s (+{WARMUP:g} s warm-up)")
            record(verify_load(wallet, client, citizen, officer, workers=1))
            print(f"qr: GET /me/qr, 1 connection {LATENCY_DURATION:g} s, then {CONCURRENCY} connections")
            record(me_qr_load(wallet, citizen))
        with (
            wallet_server(data_dir=data_dir, workers=2) as wallet,
            httpx.Client(timeout=30.0, trust_env=False) as client,
        ):
            print("qr: POST /verify/qr likewise, 2 workers over the same data")
            record(verify_load(wallet, client, citizen, officer, workers=2))


if __name__ == "__main__":
    main()
