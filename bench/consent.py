"""Consent-gated reads: an agency's `GET /api/v1/consents/{id}/documents` against the owner's own
`GET /api/v1/documents` for the same papers, in the same run, on the same server.

`python -m bench.consent` (also run by `python -m bench`). One real uvicorn server (1 worker) over a temporary data
directory (`bench.foundation.wallet_server`). The citizen signs up through the real register → outbox → OTP flow and
uploads `PAPERS` papers (a CCCD matching their identity and diplomas, each with a small PDF scan); the agency is made
with the `congdanso` CLI (`agency create --scopes consent:request consent:read`) and gets its token from
`POST /oauth/token`; it requests every type for one purpose with no field restriction, the citizen approves right
after logging in (fresh login, no code) with the default document choice. Both endpoints then answer the same
papers, checked equal before measuring. Rounds of each alternate so a busy machine slows both alike; the figures are
the medians of the rounds. A consent-gated read does more by design: it is a writing transaction (the consent's
expiry may be settled) that appends one access-log entry per paper to the hash-chained audit log, after checking
the agency, its scope and the consent.
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import tempfile
from pathlib import Path
from typing import Any

import httpx

from bench.foundation import BIRTH_DATE, Citizen, Wallet, wallet_server
from bench.harness import LoadResult, load, record
from bench.qr import _congdanso, _expect, officer_token, proof_at_counter

AGENCY = "BENCH-CONSENT"
PAPERS = 3  # one CCCD and two diplomas
CONCURRENCY = 16
ROUND = 3.0  # seconds of measured load per round
WARMUP = 1.0
ROUNDS = 3  # rounds of each endpoint, alternating
MAX_REQUESTS = 10_000_000
PURPOSE = "Cấp hộ chiếu phổ thông (đo hiệu năng)"


def _pdf(marker: str) -> bytes:
    return b"%PDF-1.7\n% bench\n" + marker.encode() + b"\n" + b"0" * 2048 + b"\n%%EOF\n"


def _cccd_fields(citizen: Citizen) -> dict[str, Any]:
    registered = citizen.registration()
    return {
        "number": citizen.national_id,
        "full_name": registered["full_name"],
        "date_of_birth": BIRTH_DATE.isoformat(),
        "sex": "nam",
        "nationality": "Việt Nam",
        "place_of_origin": "Hải Châu, Đà Nẵng",
        "place_of_residence": "Hải Châu, Đà Nẵng",
        "issue_date": "2021-04-10",
        "expiry_date": "2035-05-17",
        "issued_by": "Cục Cảnh sát QLHC về TTXH",
    }


def _diploma_fields(n: int) -> dict[str, Any]:
    return {
        "title": f"Bằng cử nhân {n}",
        "holder_name": "Nguyễn Văn Bền",
        "date_of_birth": BIRTH_DATE.isoformat(),
        "institution": "Đại học Đà Nẵng",
        "major": "Công nghệ thông tin",
        "graduation_year": 2012,
        "classification": "Giỏi",
        "serial_number": f"DN-2012-{n:06d}",
        "issue_date": "2012-07-01",
    }


def _upload(wallet: Wallet, client: httpx.Client, token: str, doc_type: str, fields: dict[str, Any]) -> None:
    answer = client.post(
        f"{wallet.api}/documents",
        data={"type": doc_type, "fields": json.dumps(fields, ensure_ascii=False)},
        files=[("file", (f"{doc_type}.pdf", _pdf(doc_type + str(fields)), "application/pdf"))],
        headers={"Authorization": f"Bearer {token}"},
    )
    _expect(answer, 201)


def agency_token(wallet: Wallet, client: httpx.Client, data_dir: Path) -> str:
    """The agency made with the CLI, then its OAuth client-credentials token."""
    scopes = ["--scopes", "consent:request", "consent:read"]
    creds = _congdanso(data_dir, "agency", "create", "--code", AGENCY, "--name", "Công an (bench)", *scopes, "--json")
    form = {"grant_type": "client_credentials", **creds}
    token: str = _expect(client.post(f"{wallet.api}/oauth/token", data=form), 200)["access_token"]
    return token


def consent_for_every_paper(
    wallet: Wallet, client: httpx.Client, citizen: Citizen, citizen_token: str, agency: str
) -> str:
    """The citizen's papers, a request for all their types, its approval; returns the consent id."""
    _upload(wallet, client, citizen_token, "cccd", _cccd_fields(citizen))
    for n in range(1, PAPERS):
        _upload(wallet, client, citizen_token, "diploma", _diploma_fields(n))
    body = {"national_id": citizen.national_id, "document_types": ["cccd", "diploma"], "purpose": PURPOSE}
    headers = {"Authorization": f"Bearer {agency}"}
    request_id = _expect(client.post(f"{wallet.api}/consent-requests", json=body, headers=headers), 201)["id"]
    approve = f"{wallet.api}/me/consent-requests/{request_id}/approve"
    answer = client.post(approve, json={}, headers={"Authorization": f"Bearer {citizen_token}"})
    consent_id: str = _expect(answer, 200)["consent"]["id"]
    return consent_id


def check_same_papers(wallet: Wallet, client: httpx.Client, citizen_token: str, agency: str, consent_id: str) -> None:
    own = _expect(client.get(f"{wallet.api}/documents", headers={"Authorization": f"Bearer {citizen_token}"}), 200)
    shared = _expect(
        client.get(f"{wallet.api}/consents/{consent_id}/documents", headers={"Authorization": f"Bearer {agency}"}), 200
    )
    by_id = {d["id"]: d for d in own["items"]}
    if len(shared["items"]) != PAPERS or any(by_id.get(d["id"]) != d for d in shared["items"]):
        raise RuntimeError("the consent-gated read does not answer the owner's papers")


def _measure(url: str, token: str, duration: float) -> LoadResult:
    result = asyncio.run(
        load(
            url,
            concurrency=CONCURRENCY,
            duration=duration,
            max_requests=MAX_REQUESTS,
            headers={"Authorization": f"Bearer {token}"},
        )
    )
    if result.errors:
        raise RuntimeError(f"{result.errors} of {result.requests} requests to {url} failed")
    return result


def compare(wallet: Wallet, citizen_token: str, agency: str, consent_id: str) -> dict[str, float]:
    own_url, shared_url = f"{wallet.api}/documents", f"{wallet.api}/consents/{consent_id}/documents"
    _measure(own_url, citizen_token, WARMUP)
    _measure(shared_url, agency, WARMUP)
    own: list[LoadResult] = []
    shared: list[LoadResult] = []
    for _ in range(ROUNDS):
        own.append(_measure(own_url, citizen_token, ROUND))
        shared.append(_measure(shared_url, agency, ROUND))
        print(f"  owner GET /documents: {own[-1]}\n  agency GET /consents/{{id}}/documents: {shared[-1]}")
    own_rps = statistics.median(r.rps for r in own)
    shared_rps = statistics.median(r.rps for r in shared)
    return {
        "consent_pull_rps": shared_rps,
        "consent_pull_p50_ms": statistics.median(r.p50_ms for r in shared),
        "consent_pull_p99_ms": statistics.median(r.p99_ms for r in shared),
        "consent_owner_list_rps": own_rps,
        "consent_owner_list_p50_ms": statistics.median(r.p50_ms for r in own),
        "consent_owner_list_p99_ms": statistics.median(r.p99_ms for r in own),
        "consent_pull_vs_owner_ratio": shared_rps / own_rps,
    }


def main() -> None:
    print(f"consent: {os.cpu_count()} CPUs, load average {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    with tempfile.TemporaryDirectory(prefix="bench-consent-") as tmp:
        data_dir = Path(tmp)
        with wallet_server(data_dir=data_dir) as wallet, httpx.Client(timeout=30.0, trust_env=False) as client:
            citizen = Citizen(1)
            citizen_token = wallet.sign_up(client, citizen)
            # Sharing papers needs identity level 2: the citizen is proofed at a counter first.
            proof_at_counter(wallet, client, officer_token(wallet, client, data_dir), citizen_token)
            agency = agency_token(wallet, client, data_dir)
            consent_id = consent_for_every_paper(wallet, client, citizen, citizen_token, agency)
            check_same_papers(wallet, client, citizen_token, agency, consent_id)
            print(
                f"consent: {PAPERS} papers, {CONCURRENCY} connections, {ROUNDS} alternating rounds of {ROUND:g} s"
                f" (+{WARMUP:g} s warm-up each)"
            )
            record(compare(wallet, citizen_token, agency, consent_id))
    print(f"consent: load average {' '.join(f'{v:.2f}' for v in os.getloadavg())} at the end")


if __name__ == "__main__":
    main()
