"""A load generator for the stack: concurrent citizen journeys through the load balancer, each request timed and
judged, each acknowledged write (a 2xx) kept with what it wrote, so that after a fault it can be read back.

A journey: register (the SMS code read at the test gateway), proofing at a counter (an officer scans the citizen's
QR), a CCCD with a scan uploaded and downloaded, an agency's consent request approved and pulled (list and scan), and
a passport application filled and submitted. A journey stops at its first failed step and the next one starts."""

from __future__ import annotations

import hashlib
import json
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx

from tests.factories import e164, registration
from tests.integration.forms_helpers import values_for
from tests.integration.wallet_helpers import cccd_fields, png_bytes
from tests.stack.sms_gateway import SmsGateway

PURPOSE = "Kiểm tra hồ sơ cấp hộ chiếu (tải thử nghiệm)"
PROCEDURE = "passport_issue"  # needs only a CCCD from the wallet


class StepFailed(Exception):
    """A request of a journey did not succeed; the journey ends there."""


@dataclass
class Paper:
    id: str
    file_id: str
    fields: dict[str, Any]
    scan: bytes


@dataclass
class CitizenRecord:
    """An acknowledged registration and the acknowledged writes made under it."""

    national_id: str
    pin: str
    phone: str
    token: str
    papers: list[Paper] = field(default_factory=list)
    consents: list[str] = field(default_factory=list)
    applications: dict[str, str] = field(default_factory=dict)  # id -> dossier code


@dataclass(frozen=True)
class Sample:
    at: float  # time.monotonic() at the answer
    op: str
    status: int  # 0: no answer (connection error, timeout)
    ok: bool
    error: str = ""  # the client's exception when there was no answer


@dataclass
class Counterparts:
    """Who the citizens deal with: a counter officer (proofing) and an agency (consent requests and pulls)."""

    officer_token: str
    agency_id: str
    agency_secret: str
    procedure: dict[str, Any]
    agency_token: str = ""
    agency_token_until: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)


class Load:
    """`threads` journeys at a time through `base_url` until `stop()`."""

    def __init__(self, base_url: str, gateway: SmsGateway, counterparts: Counterparts, *, threads: int = 4) -> None:
        self.base_url = base_url
        self.gateway = gateway
        self.counterparts = counterparts
        self.threads = threads
        self.samples: list[Sample] = []
        self.citizens: list[CitizenRecord] = []
        self.mismatches: list[str] = []  # a 2xx read whose bytes differ from what was written
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._workers: list[threading.Thread] = []

    def start(self) -> None:
        self._stop.clear()
        self._workers = [threading.Thread(target=self._run, daemon=True) for _ in range(self.threads)]
        for worker in self._workers:
            worker.start()

    def stop(self) -> None:
        self._stop.set()
        for worker in self._workers:
            worker.join(timeout=60)

    def _run(self) -> None:
        with httpx.Client(base_url=f"{self.base_url}/api/v1", timeout=20) as client:
            while not self._stop.is_set():
                try:
                    Journey(self, client).run()
                except StepFailed:
                    time.sleep(0.05)

    def record(self, op: str, status: int, ok: bool, error: str = "") -> None:
        with self._lock:
            self.samples.append(Sample(time.monotonic(), op, status, ok, error))

    def call(self, client: httpx.Client, op: str, method: str, path: str, expect: int, **kw: Any) -> httpx.Response:
        try:
            answer = client.request(method, path, **kw)
        except httpx.HTTPError as exc:
            self.record(op, 0, False, type(exc).__name__)
            raise StepFailed(f"{op}: {type(exc).__name__}") from exc
        ok = answer.status_code == expect
        self.record(op, answer.status_code, ok)
        if not ok:
            raise StepFailed(f"{op}: {answer.status_code} {answer.text[:200]}")
        return answer

    def window(self, start: float, end: float) -> dict[str, Any]:
        """Requests, errors and the error rate between two instants, with the failed answers by status."""
        with self._lock:
            inside = [s for s in self.samples if start <= s.at < end]
        failed = [s for s in inside if not s.ok]
        statuses: dict[str, int] = {}
        for sample in failed:  # "upload 503": what failed and how (0: no answer at all)
            what = f"{sample.op} {sample.status or sample.error}"
            statuses[what] = statuses.get(what, 0) + 1
        rate = len(failed) / len(inside) if inside else 0.0
        return {"requests": len(inside), "errors": len(failed), "error_rate": round(rate, 4), "failed": statuses}

    def last_error_after(self, start: float) -> float | None:
        with self._lock:
            return max((s.at for s in self.samples if s.at >= start and not s.ok), default=None)

    def per_second(self, start: float, end: float) -> list[float]:
        """The error rate of each second between two instants (the shape of an outage, not just its average)."""
        return [self.window(t, t + 1)["error_rate"] for t in _seconds(start, end)]


def _seconds(start: float, end: float) -> list[float]:
    return [start + n for n in range(max(0, int(end - start)))]


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


class Journey:
    def __init__(self, load: Load, client: httpx.Client) -> None:
        self.load = load
        self.client = client
        self.call: Callable[..., httpx.Response] = lambda *a, **kw: load.call(client, *a, **kw)

    def run(self) -> None:
        citizen = self.register()
        self.proof(citizen)
        paper = self.upload(citizen)
        self.download(citizen, paper)
        self.consent(citizen, paper)
        self.apply(citizen)

    def register(self) -> CitizenRecord:
        data = registration()
        phone = e164(data["phone"])
        asked = time.monotonic()
        challenge = self.call("register", "POST", "/auth/register", 202, json=data).json()["challenge_id"]
        code = self.load.gateway.code(phone, after=asked - 1)
        if code is None:
            self.load.record("sms_code", 0, False)
            raise StepFailed("no SMS code reached the gateway")
        body = {"challenge_id": challenge, "code": code}
        tokens = self.call("otp_verify", "POST", "/auth/otp/verify", 200, json=body).json()
        citizen = CitizenRecord(data["national_id"], data["pin"], phone, str(tokens["access_token"]))
        with self.load._lock:
            self.load.citizens.append(citizen)
        return citizen

    def proof(self, citizen: CitizenRecord) -> None:
        officer = bearer(self.load.counterparts.officer_token)
        qr = self.call("qr", "GET", "/me/qr", 200, headers=bearer(citizen.token)).json()
        scan = self.call("qr_scan", "POST", "/verify/qr", 200, json={"token": qr["token"]}, headers=officer).json()
        if not scan.get("valid"):
            raise StepFailed(f"qr_scan: {scan}")
        self.call(
            "proofing", "POST", "/identity/proofings", 201, json={"presence_id": scan["presence_id"]}, headers=officer
        )

    def upload(self, citizen: CitizenRecord) -> Paper:
        fields = cccd_fields(
            {"national_id": citizen.national_id, "full_name": "Nguyễn Văn An", "date_of_birth": "1995-03-02"}
        )
        scan = png_bytes(secrets.token_hex(16), size=32)
        form = {"type": "cccd", "fields": json.dumps(fields, ensure_ascii=False)}
        files = {"file": ("cccd.png", scan, "image/png")}
        stored = self.call("upload", "POST", "/documents", 201, data=form, files=files, headers=bearer(citizen.token))
        paper = Paper(stored.json()["id"], stored.json()["files"][0]["id"], fields, scan)
        citizen.papers.append(paper)
        return paper

    def download(self, citizen: CitizenRecord, paper: Paper) -> None:
        path = f"/documents/{paper.id}/files/{paper.file_id}"
        got = self.call("download", "GET", path, 200, headers=bearer(citizen.token))
        self.check_bytes("download", paper, got.content)

    def consent(self, citizen: CitizenRecord, paper: Paper) -> None:
        agency = bearer(self.agency_token())
        body = {"national_id": citizen.national_id, "document_types": ["cccd"], "purpose": PURPOSE}
        request = self.call("consent_request", "POST", "/consent-requests", 201, json=body, headers=agency).json()
        path = f"/me/consent-requests/{request['id']}/approve"
        approved = self.call("consent_approve", "POST", path, 200, json={}, headers=bearer(citizen.token)).json()
        consent_id = str(approved["consent"]["id"])
        citizen.consents.append(consent_id)
        pulled = self.call("consent_pull", "GET", f"/consents/{consent_id}/documents", 200, headers=agency).json()
        if paper.id not in {item["id"] for item in pulled["items"]}:
            self.load.mismatches.append(f"consent {consent_id} does not share paper {paper.id}")
        path = f"/consents/{consent_id}/documents/{paper.id}/files/{paper.file_id}"
        got = self.call("consent_pull_file", "GET", path, 200, headers=agency)
        self.check_bytes("consent_pull_file", paper, got.content)

    def agency_token(self) -> str:
        """The agency's token, shared by the journeys and renewed a minute before it expires, as an agency's
        system does (one per journey would run into the token endpoint's rate limit per client)."""
        counterparts = self.load.counterparts
        with counterparts.lock:
            if counterparts.agency_token and time.monotonic() < counterparts.agency_token_until:
                return counterparts.agency_token
            form = {"grant_type": "client_credentials", "client_id": counterparts.agency_id}
            form["client_secret"] = counterparts.agency_secret
            answer = self.call("agency_token", "POST", "/oauth/token", 200, data=form).json()
            counterparts.agency_token = str(answer["access_token"])
            counterparts.agency_token_until = time.monotonic() + int(answer["expires_in"]) - 60
            return counterparts.agency_token

    def apply(self, citizen: CitizenRecord) -> None:
        headers = bearer(citizen.token)
        draft = self.call(
            "application_start", "POST", "/applications", 201, json={"procedure_code": PROCEDURE}, headers=headers
        ).json()
        if draft["missing_fields"]:
            values = values_for(
                self.load.counterparts.procedure, draft["missing_fields"], today=datetime.now(UTC).date()
            )
            self.call(
                "application_fill",
                "PATCH",
                f"/applications/{draft['id']}",
                200,
                json={"fields": values},
                headers=headers,
            )
        done = self.call(
            "application_submit", "POST", f"/applications/{draft['id']}/submit", 200, headers=headers
        ).json()
        citizen.applications[str(done["id"])] = str(done["dossier_code"])

    def check_bytes(self, op: str, paper: Paper, content: bytes) -> None:
        if content != paper.scan:
            digest = hashlib.sha256(content).hexdigest()[:12]
            self.load.mismatches.append(f"{op}: paper {paper.id} read back {len(content)} bytes ({digest})")
