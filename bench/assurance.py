"""Identity assurance: login → counter proofing → the first held paper visible (requests and time); the national
e-ID callback against a real OpenID Provider on loopback; and registration of a taken ID against a new one (the
answers must not tell them apart, in time either).

`python -m bench.assurance` (also run by `python -m bench`). A real uvicorn server (1 worker, SQLite, local blobs,
production Argon2 cost) over a temporary data directory; agencies and the officer are made with the `congdanso` CLI;
the provider is the tests' Node oidc-provider (`tests.oidc_provider`). Figures go to `bench/results.json`; nothing
here asserts a time: a run fails only when a request answers an error or a paper does not appear.
"""

from __future__ import annotations

import base64
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

from bench.foundation import PIN, Citizen, Wallet, wallet_server
from bench.harness import percentile, record
from bench.qr import _congdanso, officer_token
from tests.oidc_provider import OidcProvider

RUNS = 10  # measured proofing flows (one citizen each: a fresh login per run)
EID_RUNS = 30  # measured e-ID callbacks of each kind
REGISTER_RUNS = 40  # registrations of each kind, alternating
ISSUER = "STP-BENCH"
_FIRST = {"proofing": 500, "register": 700}


def _expect(response: httpx.Response, status: int) -> Any:
    if response.status_code != status:
        request = response.request
        raise RuntimeError(f"{request.method} {request.url.path} answered {response.status_code}: {response.text}")
    return response.json() if response.content else None


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _p50_ms(values: list[float]) -> float:
    return percentile(values, 50) * 1000


# -- (1) login → level-2 proofing → the held paper visible -----------------------------------------------------------


def issuer_token(wallet: Wallet, client: httpx.Client, data_dir: Path, code: str = ISSUER) -> str:
    """A new issuing agency (`documents:issue`) made with the CLI, and its client-credentials token."""
    args = ["agency", "create", "--code", code, "--name", "Sở Tư pháp (bench)", "--scopes", "documents:issue"]
    creds = _congdanso(data_dir, *args, "--json")
    form = {
        "grant_type": "client_credentials",
        "client_id": creds["client_id"],
        "client_secret": creds["client_secret"],
    }
    token: str = _expect(client.post(f"{wallet.api}/oauth/token", data=form), 200)["access_token"]
    return token


def push_result(wallet: Wallet, client: httpx.Client, issuer: str, national_id: str) -> str:
    fields = {
        "procedure_code": "1.001612",
        "title": "Giấy chứng nhận đăng ký hộ kinh doanh",
        "decision_number": "123/QĐ-UBND",
        "issue_date": "2026-11-20",
        "issued_by": "UBND quận Hải Châu",
        "summary": "Cấp giấy chứng nhận",
    }
    pdf = base64.b64encode(b"%PDF-1.7\n% bench result\n%%EOF\n").decode()
    body = {
        "national_id": national_id,
        "type": "tthc_result",
        "fields": fields,
        "file": {"filename": "kq.pdf", "content_type": "application/pdf", "content_base64": pdf},
    }
    paper_id: str = _expect(client.post(f"{wallet.api}/issuer/documents", json=body, headers=_bearer(issuer)), 201)[
        "id"
    ]
    return paper_id


@dataclass
class ProofingRun:
    requests: int = 0
    steps: dict[str, float] = field(default_factory=dict)

    @property
    def seconds(self) -> float:
        return sum(self.steps.values())


def proofing_flow(wallet: Wallet, officer: str, citizen: Citizen, paper_id: str) -> ProofingRun:
    """Login (PIN, then the SMS code) → QR → the officer's scan → proofing → the paper listed in the wallet."""
    run = ProofingRun()
    with httpx.Client(timeout=30) as client:

        def call(step: str, status: int, method: str, path: str, **kwargs: Any) -> Any:
            started = time.perf_counter()
            answer = _expect(client.request(method, f"{wallet.api}{path}", **kwargs), status)
            run.steps[step] = time.perf_counter() - started
            run.requests += 1
            return answer

        login = call("login", 202, "POST", "/auth/login", json={"national_id": citizen.national_id, "pin": PIN})
        code = wallet.outbox.code_for(citizen.e164)
        verify = {"challenge_id": login["challenge_id"], "code": code}
        token = call("otp", 200, "POST", "/auth/otp/verify", json=verify)["access_token"]
        qr = call("qr", 200, "GET", "/me/qr", headers=_bearer(token))["token"]
        scan = call("scan", 200, "POST", "/verify/qr", json={"token": qr}, headers=_bearer(officer))
        proof = {"presence_id": scan["presence_id"]}
        call("proofing", 201, "POST", "/identity/proofings", json=proof, headers=_bearer(officer))
        listed = call("papers", 200, "GET", "/documents", headers=_bearer(token))
    if [d["id"] for d in listed["items"]] != [paper_id]:
        raise RuntimeError(f"the held paper did not appear after proofing: {listed}")
    return run


def bench_proofing() -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="bench-assurance-") as tmp, wallet_server(data_dir=Path(tmp)) as wallet:
        data_dir = Path(tmp)
        with httpx.Client(timeout=30) as setup:
            officer = officer_token(wallet, setup, data_dir)
            issuer = issuer_token(wallet, setup, data_dir)
            people = []
            for n in range(_FIRST["proofing"], _FIRST["proofing"] + RUNS + 1):
                citizen = Citizen(n)
                wallet.sign_up(setup, citizen)
                people.append((citizen, push_result(wallet, setup, issuer, citizen.national_id)))
        runs = [proofing_flow(wallet, officer, citizen, paper) for citizen, paper in people]
    measured = runs[1:]  # the first warms the server up
    results = {
        "assurance.proofing_flow.requests": float(measured[0].requests),
        "assurance.proofing_flow.p50_ms": _p50_ms([r.seconds for r in measured]),
        "assurance.proofing_flow.max_ms": max(r.seconds for r in measured) * 1000,
    }
    for step in measured[0].steps:
        results[f"assurance.proofing_flow.{step}_p50_ms"] = _p50_ms([r.steps[step] for r in measured])
    return results


# -- (2) the e-ID callback against the provider --------------------------------------------------------------------


def eid_callbacks(wallet: Wallet, op: OidcProvider, claims_of: Callable[[int], dict[str, str]]) -> list[float]:
    durations = []
    for n in range(EID_RUNS + 1):
        with httpx.Client(timeout=30) as browser:  # a fresh browser each time: its own binding cookie
            start = browser.get(f"{wallet.api}/auth/eid/start", follow_redirects=False)
            _expect_redirect(start)
            callback = urlsplit(op.login(start.headers["location"], claims_of(n)))
            started = time.perf_counter()
            answer = browser.get(f"{wallet.server.base_url}{callback.path}?{callback.query}", follow_redirects=False)
            elapsed = time.perf_counter() - started
            _expect(answer, 200)
        if n:  # the first fetches the provider's metadata and keys
            durations.append(elapsed)
    return durations


def _expect_redirect(response: httpx.Response) -> None:
    if response.status_code != 303:
        raise RuntimeError(f"GET /auth/eid/start answered {response.status_code}: {response.text}")


def bench_eid() -> dict[str, float]:
    with OidcProvider() as op:
        env = {"WALLET_EID_ISSUER": op.issuer, "WALLET_EID_CLIENT_ID": op.client_id}
        env["WALLET_EID_CLIENT_SECRET"] = op.client_secret
        with wallet_server(env) as wallet:
            first = eid_callbacks(wallet, op, lambda n: _eid_person(9000 + n))
            returning = eid_callbacks(wallet, op, lambda _n: _eid_person(9000))
            discovery = _discovery_baseline(op)
    return {
        "assurance.eid_callback.new_account_p50_ms": _p50_ms(first),
        "assurance.eid_callback.returning_p50_ms": _p50_ms(returning),
        "assurance.eid_callback.returning_p99_ms": percentile(returning, 99) * 1000,
        "assurance.eid_callback.provider_discovery_p50_ms": discovery,
    }


def _eid_person(n: int) -> dict[str, str]:
    citizen = Citizen(n)
    return {
        "personal_id": citizen.national_id,
        "identity_level": "2",
        "name": "Nguyễn Văn Bền",
        "birthdate": "1990-05-17",
        "phone_number": citizen.e164,
    }


def _discovery_baseline(op: OidcProvider) -> float:
    """A plain GET of the provider's discovery document through the same proxy: the loopback floor per call."""
    with httpx.Client(timeout=30) as client:
        client.get(op.discovery_url)
        durations = []
        for _ in range(EID_RUNS):
            started = time.perf_counter()
            client.get(op.discovery_url).raise_for_status()
            durations.append(time.perf_counter() - started)
    return _p50_ms(durations)


# -- (3) registering a taken ID vs a new one ----------------------------------------------------------------------


def bench_registration() -> dict[str, float]:
    fresh: list[float] = []
    taken: list[float] = []
    with wallet_server() as wallet, httpx.Client(timeout=30) as client:
        owner = Citizen(_FIRST["register"])
        wallet.sign_up(client, owner)
        for n in range(REGISTER_RUNS + 1):
            newcomer = Citizen(_FIRST["register"] + 1 + n)
            impostor = Citizen(_FIRST["register"] + 1000 + n).registration() | {"national_id": owner.national_id}
            for body, into in ((newcomer.registration(), fresh), (impostor, taken)):
                started = time.perf_counter()
                _expect(client.post(f"{wallet.api}/auth/register", json=body), 202)
                if n:
                    into.append(time.perf_counter() - started)
    return {
        "assurance.register.new_id_p50_ms": _p50_ms(fresh),
        "assurance.register.taken_id_p50_ms": _p50_ms(taken),
        "assurance.register.taken_over_new_p50": percentile(taken, 50) / percentile(fresh, 50),
    }


def main() -> None:
    record(bench_proofing())
    record(bench_eid())
    record(bench_registration())


if __name__ == "__main__":
    main()
