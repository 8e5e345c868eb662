"""`make bench-scale`'s request flows on the seeded stack: sign-in, the counter's QR scan, an agency's consent pull
and the statistics over a year of dossiers. Every request goes through the load balancer; every account is made
the way an operator or a citizen makes it (the CLI on the stack's data folder, the real login with the SMS code
from the dev outbox). `bench/scale.py` runs them; bench/README.md says what each figure means."""

from __future__ import annotations

import asyncio
import statistics
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx

from bench.foundation import OutboxReader
from bench.harness import LoadResult, load, percentile
from bench.qr import _congdanso, _expect
from seed.people import profile
from seed.service import SEED_PIN

SIGNIN_CLIENTS = 8  # sign-ins in flight at once
SIGNIN_SECONDS = 10.0
SCAN_CONNECTIONS = 16
PULL_CONNECTIONS = 16
CONSENTS = 16  # citizens who share their papers with the agency
DURATION = 5.0
WARMUP = 1.0
STATS_LOADS = 5  # after one unmeasured
OFFICER_PHONE, OFFICER_E164, OFFICER_PIN = "0981230001", "+84981230001", "135791"
PURPOSE = "Cấp hộ chiếu phổ thông (đo hiệu năng)"
VIETNAM = ZoneInfo("Asia/Ho_Chi_Minh")
TYPES = ["diploma", "health_insurance", "residence"]  # every type a seeded citizen holds (seed.people)


@dataclass
class Site:
    """The seeded stack as the flows reach it: the load balancer, the stack's data folder, a client on the API and
    the citizens signed in (their numbers and access tokens, in the same order)."""

    base_url: str
    data_dir: Path
    client: httpx.Client  # base_url: the API (`/api/v1`)
    outbox: OutboxReader
    numbers: list[int]
    tokens: list[str]

    @property
    def api(self) -> str:
        return f"{self.base_url}/api/v1"


def sign_in(client: httpx.Client, outbox: OutboxReader, n: int) -> str:
    """Seeded citizen number `n` signs in as a person does: national ID and PIN, then the SMS code."""
    holder = profile(n)
    challenge = _expect(client.post("/auth/login", json={"national_id": holder.national_id, "pin": SEED_PIN}), 202)
    code = outbox.code_for(str(holder.phone))
    answer = {"challenge_id": challenge["challenge_id"], "code": code}
    return str(_expect(client.post("/auth/otp/verify", json=answer), 200)["access_token"])


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def checked(result: LoadResult, what: str) -> LoadResult:
    print(f"scale: {what}: {result}", flush=True)
    if result.errors:
        raise RuntimeError(f"{result.errors} of {result.requests} {what} failed under load")
    return result


def measured_load(requests: list[httpx.Request], connections: int, what: str) -> LoadResult:
    """`requests` in turn at `connections`, 1 s unmeasured then `DURATION` measured; any failure stops the run."""

    def nth(n: int) -> httpx.Request:
        return requests[n % len(requests)]

    asyncio.run(load(nth, concurrency=connections, duration=WARMUP, max_requests=10**7))
    return checked(asyncio.run(load(nth, concurrency=connections, duration=DURATION, max_requests=10**7)), what)


def figures_of(prefix: str, result: LoadResult) -> dict[str, float]:
    return {f"{prefix}_rps": result.rps, f"{prefix}_p50_ms": result.p50_ms, f"{prefix}_p99_ms": result.p99_ms}


# -- sign-in ---------------------------------------------------------------------------------------------------------


def signin_throughput(site: Site, numbers: Iterator[int]) -> dict[str, float]:
    """`SIGNIN_CLIENTS` threads sign citizens in, each citizen once (the OTP-send limit is per phone), for
    `SIGNIN_SECONDS`: whole sign-ins per second and the latency of one (login, code, verify)."""
    lock, stop, times = threading.Lock(), threading.Event(), []

    def next_number() -> int | None:
        with lock:
            return next(numbers, None)

    def client_loop() -> None:
        with httpx.Client(base_url=site.api, timeout=30, trust_env=False) as client:
            while not stop.is_set() and (n := next_number()) is not None:
                began = time.perf_counter()
                sign_in(client, site.outbox, n)
                with lock:
                    times.append(time.perf_counter() - began)

    with ThreadPoolExecutor(SIGNIN_CLIENTS) as pool:
        began = time.perf_counter()
        running = [pool.submit(client_loop) for _ in range(SIGNIN_CLIENTS)]
        stop.wait(SIGNIN_SECONDS)
        stop.set()
        for done in running:
            done.result()
        seconds = time.perf_counter() - began
    print(f"scale: {len(times)} sign-ins in {seconds:.1f} s from {SIGNIN_CLIENTS} clients", flush=True)
    return {
        "scale.signin_per_s": len(times) / seconds,
        "scale.signin_p50_ms": percentile(times, 50) * 1000,
        "scale.signin_p99_ms": percentile(times, 99) * 1000,
    }


# -- the counter -----------------------------------------------------------------------------------------------------


def officer_token(site: Site) -> str:
    """A counter's agency and officer made with the CLI on the stack, then the officer's login (phone, PIN, SMS)."""
    _congdanso(site.data_dir, "agency", "create", "--code", "BENCH-SCALE-QUAY", "--name", "Bộ phận một cửa", "--json")
    person = ["--phone", OFFICER_PHONE, "--name", "Cán bộ Bench", "--agency", "BENCH-SCALE-QUAY"]
    _congdanso(site.data_dir, "officer", "create", *person, "--pin", OFFICER_PIN, "--json")
    challenge = _expect(site.client.post("/auth/login", json={"phone": OFFICER_PHONE, "pin": OFFICER_PIN}), 202)
    answer = {"challenge_id": challenge["challenge_id"], "code": site.outbox.code_for(OFFICER_E164)}
    return str(_expect(site.client.post("/auth/otp/verify", json=answer), 200)["access_token"])


def _qr(site: Site, token: str) -> str:
    return str(_expect(site.client.get("/me/qr", headers=_bearer(token)), 200)["token"])


def _scan(site: Site, officer: str, qr: str) -> dict[str, Any]:
    answer: dict[str, Any] = _expect(site.client.post("/verify/qr", json={"token": qr}, headers=_bearer(officer)), 200)
    if answer.get("valid") is not True:
        raise RuntimeError(f"an officer's scan of a fresh QR answered {answer}")
    return answer


def scan_throughput(site: Site, officer: str) -> dict[str, float]:
    """The officer scans the signed-in citizens' fresh QR codes in turn (`POST /verify/qr`): each a verified
    signature, a presence and an access-log entry."""
    codes = [_qr(site, token) for token in site.tokens]
    _scan(site, officer, codes[0])
    url = f"{site.api}/verify/qr"
    requests = [httpx.Request("POST", url, json={"token": qr}, headers=_bearer(officer)) for qr in codes]
    result = measured_load(requests, SCAN_CONNECTIONS, f"POST /verify/qr at {SCAN_CONNECTIONS} connections")
    return figures_of("scale.scan", result)


# -- consent pull ----------------------------------------------------------------------------------------------------


def agency_token(site: Site, code: str, *scopes: str) -> str:
    creds = _congdanso(site.data_dir, "agency", "create", "--code", code, "--name", f"{code} (bench)", "--scopes",
                       *scopes, "--json")  # fmt: skip
    form = {"grant_type": "client_credentials", **creds}
    return str(_expect(site.client.post("/oauth/token", data=form), 200)["access_token"])


def _consent(site: Site, officer: str, agency: str, k: int) -> str:
    """Citizen `k` proofed at the counter (identity level 2, needed to share), asked by the agency for every paper
    type, and approving; returns the consent's id."""
    scan = _scan(site, officer, _qr(site, site.tokens[k]))
    proofing = {"presence_id": scan["presence_id"]}
    _expect(site.client.post("/identity/proofings", json=proofing, headers=_bearer(officer)), 201)
    body = {"national_id": profile(site.numbers[k]).national_id, "document_types": TYPES, "purpose": PURPOSE}
    asked = _expect(site.client.post("/consent-requests", json=body, headers=_bearer(agency)), 201)
    approve = f"/me/consent-requests/{asked['id']}/approve"
    return str(_expect(site.client.post(approve, json={}, headers=_bearer(site.tokens[k])), 200)["consent"]["id"])


def consent_pull(site: Site, officer: str, papers: int) -> dict[str, float]:
    """The agency pulls the consented papers of `CONSENTS` citizens in turn (`GET /consents/{id}/documents`): each
    pull checks the consent, opens every paper with the citizen's key and appends one access-log entry per paper."""
    agency = agency_token(site, "BENCH-SCALE-CA", "consent:request", "consent:read")
    consents = [_consent(site, officer, agency, k) for k in range(min(CONSENTS, len(site.tokens)))]
    pulled = _expect(site.client.get(f"/consents/{consents[0]}/documents", headers=_bearer(agency)), 200)
    if len(pulled["items"]) != papers:
        raise RuntimeError(f"a consent pull answered {len(pulled['items'])} papers, not {papers}")
    urls = [f"{site.api}/consents/{consent}/documents" for consent in consents]
    requests = [httpx.Request("GET", url, headers=_bearer(agency)) for url in urls]
    result = measured_load(
        requests, PULL_CONNECTIONS, f"GET /consents/{{id}}/documents at {PULL_CONNECTIONS} connections"
    )
    return figures_of("scale.consent_pull", result)


# -- statistics ------------------------------------------------------------------------------------------------------


def year_stats(site: Site, dossiers: int) -> dict[str, float]:
    """`GET /stats` over the last 12 months, as the platform (`admin`: every agency) and as one agency."""
    today = datetime.now(VIETNAM).date()  # the API's days are Vietnam's; one more keeps the oldest seeded dossier
    period = {"from": (today - timedelta(days=366)).isoformat(), "to": today.isoformat()}
    figures: dict[str, float] = {}
    for name, code, scopes in (("all", "BENCH-SCALE-ADMIN", ("stats:read", "admin")), ("agency", "ca_xnc", ())):
        token = agency_token(site, code, "stats:read", *scopes)
        times, counted = [], 0
        for n in range(STATS_LOADS + 1):
            began = time.perf_counter()
            answer = _expect(site.client.get("/stats", params=period, headers=_bearer(token), timeout=120), 200)
            times.append(time.perf_counter() - began)
            counted = int(answer["total"]["started"])
            if n == 0:
                times.clear()
        if name == "all" and counted != dossiers:
            raise RuntimeError(f"the year's statistics count {counted} dossiers, not the {dossiers} seeded")
        print(f"scale: GET /stats ({name}) over {counted:,} dossiers: median {statistics.median(times):.3f} s")
        figures |= {
            f"scale.stats_year_{name}_p50_ms": statistics.median(times) * 1000,
            f"scale.stats_year_{name}_max_ms": max(times) * 1000,
            f"scale.stats_year_{name}_dossiers": float(counted),
        }
    return figures
