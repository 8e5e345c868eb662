"""Peers: issuing and verifying signed papers against ACA-Py 1.7, and attestation verification against the OpenWallet
Foundation's `sd-jwt` library with key binding, both measured on this kind of machine.

`python -m bench.peers` (also run by `python -m bench`; about a minute). One wallet server, 1 uvicorn worker, over a
temporary data directory: citizens sign up through the real register → outbox → OTP flow and are raised to identity
level 2 at a counter (an officer made with the CLI scans their QR), as citizens who receive agencies' papers are (below
it a paper is held and the citizen told by SMS); an agency with the scope `documents:issue` is made with the
`congdanso` CLI and takes its token from `POST /oauth/token`. ACA-Py's figures are constants measured on this kind of
machine (it is not installed here); the `sd-jwt` library is, and runs in this process in the same run as the
service's verifier.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import jwt
from jwcrypto.jwk import JWK
from sd_jwt.common import SDObj
from sd_jwt.holder import SDJWTHolder
from sd_jwt.issuer import SDJWTIssuer
from sd_jwt.verifier import SDJWTVerifier

from api.settings import Settings
from bench.assurance import issuer_token
from bench.foundation import Citizen, Wallet, wallet_server
from bench.harness import LoadResult, load, record
from bench.qr import _expect, officer_token, proof_at_counter
from crypto.clock import SystemClock
from crypto.keyring import load_keyring
from crypto.tokens import TokenSigner

try:  # the service's offline verifier over its JWKS; absent from earlier commits
    from crypto.compact_jws import JwksVerifier
except ImportError:  # pragma: no cover - depends on the commit measured
    JwksVerifier = None  # type: ignore[assignment,misc]

ACAPY_ISSUES_PER_S = 63.0  # ACA-Py 1.7, credential issuance over its admin API, measured on this kind of machine
ACAPY_VERIFIES_PER_S = 57.0  # ACA-Py 1.7, presentation verification, same machine kind

ATTESTATION_TYP = "attestation"  # wallet.attestations, as a relying party knows them
VERIFY_AUDIENCE = "congdanso-verify"

CONCURRENCY = 16
DURATION = 5.0
WARMUP = 1.0
MAX_REQUESTS = 10_000_000
CITIZENS = 8  # papers go to several citizens in turn, as an agency's do (each citizen's count is locked per insert)
BATCH = 400  # in-process verifications per timed batch
ROUNDS = 7  # batches of each kind, alternating, after one warm-up batch each

AGENCY = "BENCH-PEERS"
FIELDS = {
    "procedure_code": "1.001612",
    "title": "Giấy chứng nhận đăng ký hộ kinh doanh",
    "decision_number": "123/QĐ-UBND",
    "issue_date": "2026-11-20",
    "issued_by": "UBND quận Hải Châu",
    "summary": "Cấp giấy chứng nhận đăng ký hộ kinh doanh",
}


def issue_request(wallet: Wallet, agency: str, national_id: str) -> httpx.Request:
    body = {"national_id": national_id, "type": "tthc_result", "fields": FIELDS}
    return httpx.Request(
        "POST", f"{wallet.api}/issuer/documents", json=body, headers={"Authorization": f"Bearer {agency}"}
    )


def _measured(target: str | Callable[[int], httpx.Request], label: str) -> LoadResult:
    asyncio.run(load(target, concurrency=CONCURRENCY, duration=WARMUP, max_requests=MAX_REQUESTS))
    result = asyncio.run(load(target, concurrency=CONCURRENCY, duration=DURATION, max_requests=MAX_REQUESTS))
    print(f"  {label}: {result}")
    if result.errors:  # recorded as `_errors` (a stall shows as the client's 30 s timeout in p99), not hidden
        print(f"  WARNING: {result.errors} of {result.requests} requests of {label} did not answer 2xx")
    return result


def issue_and_verify_load(wallet: Wallet, client: httpx.Client, agency: str, national_ids: list[str]) -> str:
    """`POST /issuer/documents` to the citizens in turn, then `GET /verify/documents` of one paper's token; returns
    that token (checked valid before and after the load)."""
    requests = [issue_request(wallet, agency, national_id) for national_id in national_ids]
    # a request of its own: one that went through httpx's client is not sent again as it was
    first = _expect(client.send(issue_request(wallet, agency, national_ids[0])), 201)
    token: str = first["verification"]["token"]
    issued = _measured(lambda n: requests[n % len(requests)], "POST /issuer/documents")
    url = str(httpx.URL(f"{wallet.api}/verify/documents", params={"token": token}))
    _check_valid(client, url)
    verified = _measured(url, "GET /verify/documents")
    _check_valid(client, url)
    record(
        {
            "peers_issue_rps": issued.rps,
            "peers_issue_p99_ms": issued.p99_ms,
            "peers_issue_vs_acapy": issued.rps / ACAPY_ISSUES_PER_S,
            "peers_issue_errors": issued.errors,
            "peers_verify_rps": verified.rps,
            "peers_verify_p99_ms": verified.p99_ms,
            "peers_verify_vs_acapy": verified.rps / ACAPY_VERIFIES_PER_S,
            "peers_verify_errors": verified.errors,
        }
    )
    return token


def _check_valid(client: httpx.Client, url: str) -> None:
    answer = _expect(client.get(url), 200)
    if answer.get("valid") is not True:
        raise RuntimeError(f"the issued paper's verification answered {answer}")


# -- in process --------------------------------------------------------------------------------------------------------


def _rates(kinds: dict[str, Callable[[], object]]) -> dict[str, float]:
    rounds: dict[str, list[float]] = {name: [] for name in kinds}
    for n in range(1 + ROUNDS):
        for name, fn in kinds.items():
            started = time.perf_counter()
            for _ in range(BATCH):
                fn()
            if n:
                rounds[name].append(BATCH / (time.perf_counter() - started))
    return {name: statistics.median(measured) for name, measured in rounds.items()}


def service_verifiers(token: str, data_dir: Path, jwks: dict[str, Any]) -> dict[str, Callable[[], object]]:
    """The service's own check of an attestation (`TokenSigner.verify` over the server's keyring, as
    `GET /verify/documents` runs it before its database lookup) and, where it exists, what a relying party holding
    the JWKS runs offline (`JwksVerifier`)."""
    ring = load_keyring(Settings(data_dir=data_dir, env="dev").resolved_keyring_file)
    issuer = str(jwt.decode(token, options={"verify_signature": False})["iss"])
    signer = TokenSigner(lambda: ring, issuer=issuer, clock=SystemClock())

    def by_signer() -> object:
        return signer.verify(token, typ=ATTESTATION_TYP, audience=VERIFY_AUDIENCE)

    kinds: dict[str, Callable[[], object]] = {"signer": by_signer}
    if JwksVerifier is not None:
        verifier = JwksVerifier.from_jwks(jwks)
        clock = SystemClock()

        def by_jwks() -> object:
            return verifier.verify(token, typ=ATTESTATION_TYP, audience=VERIFY_AUDIENCE, issuer=issuer, now=clock.now())

        if by_jwks() != by_signer():
            raise RuntimeError("the JWKS verifier and the service read the attestation differently")
        kinds["jwks"] = by_jwks
    return kinds


def owf_sd_jwt_verifier(claims: dict[str, Any]) -> Callable[[], object]:
    """An SD-JWT of the attestation's claims with the library's defaults (ES256; KB-JWT verification accepts no
    other algorithm in this version): the paper's own claims selectively disclosable, all disclosed, key-bound to the
    holder. One verification: the issuer's signature, every disclosure's digest, the KB-JWT's signature, `aud`,
    `nonce` and `sd_hash`, then the disclosed payload."""
    issuer_key, holder_key = JWK.generate(kty="EC", crv="P-256"), JWK.generate(kty="EC", crv="P-256")
    registered = {"iss", "iat", "exp", "sub", "aud", "typ", "jti"}
    user_claims: dict[Any, Any] = {k: v for k, v in claims.items() if k in registered}
    user_claims.update({SDObj(k): v for k, v in claims.items() if k not in registered})
    issued = SDJWTIssuer(user_claims, issuer_key, holder_key).sd_jwt_issuance
    holder = SDJWTHolder(issued)
    disclose = {k: True for k in claims if k not in registered}
    holder.create_presentation(disclose, nonce="bench-nonce", aud="https://rp.example", holder_key=holder_key)
    presentation = holder.sd_jwt_presentation
    public = JWK.from_json(issuer_key.export_public())

    def verify() -> object:
        verifier = SDJWTVerifier(
            presentation, lambda _iss, _header: public, expected_aud="https://rp.example", expected_nonce="bench-nonce"
        )
        return verifier.get_verified_payload()

    disclosed = verify()
    if not isinstance(disclosed, dict) or any(disclosed.get(k) != v for k, v in claims.items()):
        raise RuntimeError("the sd-jwt library did not give back the attestation's claims")
    print(f"  sd-jwt presentation of {len(presentation)} characters, {presentation.count('~') - 1} disclosures")
    return verify


def attestation_rates(token: str, data_dir: Path, jwks: dict[str, Any]) -> None:
    claims = jwt.decode(token, options={"verify_signature": False})
    kinds = {**service_verifiers(token, data_dir, jwks), "owf": owf_sd_jwt_verifier(claims)}
    rates = _rates(kinds)
    print("  " + ", ".join(f"{name} {rate:.0f}/s" for name, rate in rates.items()) + f" ({len(token)}-char JWS)")
    figures = {
        "peers_attestation_verify_per_s": rates["signer"],
        "peers_owf_sdjwt_kb_verify_per_s": rates["owf"],
        "peers_attestation_vs_owf": rates["signer"] / rates["owf"],
    }
    if "jwks" in rates:
        figures["peers_attestation_jwks_verify_per_s"] = rates["jwks"]
        figures["peers_attestation_jwks_vs_owf"] = rates["jwks"] / rates["owf"]
    record(figures)


def main() -> None:
    print(f"peers: {os.cpu_count()} CPUs, load average {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    with tempfile.TemporaryDirectory(prefix="bench-peers-") as tmp:
        data_dir = Path(tmp)
        extra = {"WALLET_MAX_DOCUMENTS": "1000000"}  # the load issues thousands of papers: measure, not the cap
        with wallet_server(extra, data_dir=data_dir) as wallet, httpx.Client(timeout=30.0, trust_env=False) as client:
            citizens = [Citizen(500 + n) for n in range(CITIZENS)]
            officer = officer_token(wallet, client, data_dir)
            for citizen in citizens:
                # at identity level 2, as a citizen who receives an agency's papers is (below it they are held)
                proof_at_counter(wallet, client, officer, wallet.sign_up(client, citizen))
            agency = issuer_token(wallet, client, data_dir, code=AGENCY)
            print(f"peers: {CONCURRENCY} connections, {DURATION:g} s (+{WARMUP:g} s warm-up), 1 worker")
            token = issue_and_verify_load(wallet, client, agency, [c.national_id for c in citizens])
            jwks = _expect(client.get(f"{wallet.server.base_url}/.well-known/jwks.json"), 200)
        print(f"peers: attestation verification in process, {ROUNDS} × {BATCH} of each (+1 warm-up), alternating")
        attestation_rates(token, data_dir, jwks)


if __name__ == "__main__":
    main()
