"""What must hold on a stack after a fault, once the load has stopped: no blob without a row, no row without its blob
or its referenced rows, every acknowledged write readable as written, every notification delivered exactly once.

Each check returns a list of problems (empty: it holds) and the figures behind it, so a failure says what broke."""

from __future__ import annotations

import json
import time
from collections import Counter
from dataclasses import asdict, replace
from datetime import timedelta
from typing import Any

import anyio
import httpx
import psycopg

from api.container import build_container
from api.settings import Settings
from identity.accounts import AccountService
from stack.configs import BUCKET
from stack.layout import State
from stack.supervisor import _s3
from storage.db import transaction
from tests.stack.conftest import RunningStack
from tests.stack.load import CitizenRecord, Load, bearer
from wallet.janitor import Janitor

# Rows pointing at nothing: each query lists offending ids (none is the only right answer).
DANGLING = {
    "document without its current version": """
        SELECT d.id FROM document d WHERE NOT EXISTS (
            SELECT 1 FROM document_version v WHERE v.document_id = d.id AND v.version = d.current_version)""",
    "file without its document version": """
        SELECT f.id FROM document_file f WHERE NOT EXISTS (
            SELECT 1 FROM document_version v WHERE v.document_id = f.document_id AND v.version = f.version)""",
    "approved request without its consent": """
        SELECT r.id FROM consent_request r WHERE r.status = 'approved'
            AND NOT EXISTS (SELECT 1 FROM consent c WHERE c.id = r.consent_id AND c.request_id = r.id)""",
    "consent naming a missing paper": """
        SELECT c.id FROM consent c, json_array_elements_text(c.document_ids::json) AS shared(document_id)
            WHERE NOT EXISTS (SELECT 1 FROM document d WHERE d.id = shared.document_id)""",
    "consent of a missing citizen": """
        SELECT c.id FROM consent c WHERE NOT EXISTS (SELECT 1 FROM citizen z WHERE z.id = c.citizen_id)""",
    "dossier attaching a missing paper": """
        SELECT a.application_id FROM application_document a
            WHERE NOT EXISTS (SELECT 1 FROM document d WHERE d.id = a.document_id)""",
    "submitted dossier without its code": """
        SELECT a.id FROM application a WHERE a.status <> 'draft' AND a.dossier_code IS NULL""",
}


def conninfo(running: RunningStack, database: str = "wallet") -> str:
    url = Settings(data_dir=running.data_dir).resolved_database_url
    base = url.replace("postgresql+psycopg", "postgresql").split("?")[0]
    return base.rsplit("/", 1)[0] + f"/{database}"


def query(running: RunningStack, sql: str) -> list[tuple[Any, ...]]:
    with psycopg.connect(conninfo(running), connect_timeout=5, prepare_threshold=None) as conn:
        return list(conn.execute(sql).fetchall())


def drain_outbox(running: RunningStack, *, timeout: float) -> list[tuple[Any, ...]]:
    """Wait until every outbox row is sent (a row whose sender died stays leased for a minute); what is left."""
    deadline = time.monotonic() + timeout
    while True:
        left = query(running, "SELECT id, status, attempts, last_error FROM notification_outbox WHERE status <> 'sent'")
        if not left or time.monotonic() > deadline:
            return left
        time.sleep(1)


class Operator:
    """What an operator's `congdanso` commands do (agency and officer creation, the janitor), run in this process on
    the stack's settings: one start of the service's code rather than one per command."""

    def __init__(self, running: RunningStack) -> None:
        self.container = build_container(Settings(data_dir=running.data_dir))

    def close(self) -> None:
        anyio.run(self.container.aclose)

    def create_agency(self, code: str, name: str, scopes: tuple[str, ...]) -> tuple[str, str]:
        with transaction(self.container.engine) as session:
            creds = AccountService(session, self.container.identity).create_agency(code, name, scopes)
        return creds.client_id, creds.client_secret

    def create_officer(self, *, phone: str, name: str, agency: str, pin: str) -> None:
        with transaction(self.container.engine) as session:
            AccountService(session, self.container.identity).create_officer(
                phone=phone, name=name, agency_code=agency, pin=pin
            )

    def collect(self) -> dict[str, int]:
        """`congdanso storage gc --grace-seconds 0`: the load has stopped, nothing is in flight."""
        self.container.wallet_config = replace(self.container.wallet_config, gc_grace=timedelta(0))
        return asdict(anyio.run(Janitor(self.container.wallet).collect))


def blobs(running: RunningStack, operator: Operator) -> dict[str, Any]:
    """The janitor run with no grace, then the bucket against the rows."""
    collected = operator.collect()
    stored = {item.object_name for item in _s3(State.load(running.layout)).list_objects(BUCKET, recursive=True)}
    referenced = {row[0] for row in query(running, "SELECT blob_key FROM document_file")}
    pending = {row[0] for row in query(running, "SELECT blob_key FROM pending_blob")}
    return {
        "janitor": collected,
        "blobs": len(stored),
        "orphans": sorted(stored - referenced),
        "missing": sorted(referenced - stored),
        "pending_left": sorted(pending),
    }


def dangling(running: RunningStack) -> dict[str, list[str]]:
    return {name: [str(row[0]) for row in query(running, sql)] for name, sql in DANGLING.items()}


def acknowledged(running: RunningStack, load: Load) -> dict[str, Any]:
    """Every citizen's papers read back through the balancer: those the load was told were stored, byte-exact; every
    other paper of theirs (written by a request whose answer was lost) decrypting too. Every row of the database is
    one of theirs: all papers are read."""
    problems: list[str] = []
    papers_read = 0
    with httpx.Client(base_url=f"{running.base_url}/api/v1", timeout=30) as client:
        for citizen in list(load.citizens):
            reader = Reader(client, citizen, load)
            papers_read += reader.check(problems)
    total = query(running, "SELECT count(*) FROM document")[0][0]
    if total != papers_read:
        problems.append(f"{total} papers in the database, {papers_read} read through the citizens' wallets")
    acked = sum(len(c.papers) for c in load.citizens)
    consents = sum(len(c.consents) for c in load.citizens)
    dossiers = sum(len(c.applications) for c in load.citizens)
    return {
        "citizens": len(load.citizens),
        "papers_acknowledged": acked,
        "papers_read": papers_read,
        "consents_acknowledged": consents,
        "dossiers_acknowledged": dossiers,
        "problems": problems + list(load.mismatches),
    }


class Reader:
    def __init__(self, client: httpx.Client, citizen: CitizenRecord, load: Load) -> None:
        self.client, self.citizen, self.load = client, citizen, load

    def get(self, path: str) -> httpx.Response:
        answer = self.client.get(path, headers=bearer(self.citizen.token))
        if answer.status_code == 401:  # tokens live 15 minutes: sign in again as the citizen would
            self.citizen.token = self.relogin()
            answer = self.client.get(path, headers=bearer(self.citizen.token))
        return answer

    def relogin(self) -> str:
        asked = time.monotonic()
        body = {"national_id": self.citizen.national_id, "pin": self.citizen.pin}
        challenge = self.client.post("/auth/login", json=body).json()["challenge_id"]
        code = self.load.gateway.code(self.citizen.phone, after=asked - 1)
        verified = self.client.post("/auth/otp/verify", json={"challenge_id": challenge, "code": code})
        return str(verified.json()["access_token"])

    def check(self, problems: list[str]) -> int:
        listed = self.get("/documents?limit=100")
        if listed.status_code != 200:
            problems.append(f"citizen {self.citizen.national_id[-4:]}: list answered {listed.status_code}")
            return 0
        items = {item["id"]: item for item in listed.json()["items"]}
        for paper in self.citizen.papers:
            if paper.id not in items:
                problems.append(f"acknowledged paper {paper.id} is not listed")
            elif items[paper.id]["fields"] != paper.fields:
                problems.append(f"acknowledged paper {paper.id} reads other fields")
        known = {paper.id: paper for paper in self.citizen.papers}
        for document_id, item in items.items():
            for meta in item["files"]:
                got = self.get(f"/documents/{document_id}/files/{meta['id']}")
                if got.status_code != 200:
                    problems.append(f"paper {document_id}: file answered {got.status_code}")
                elif document_id in known and got.content != known[document_id].scan:
                    problems.append(f"acknowledged paper {document_id}: file differs from what was stored")
        self.check_consents_and_dossiers(problems)
        return len(items)

    def check_consents_and_dossiers(self, problems: list[str]) -> None:
        if self.citizen.consents:
            consents = self.get("/me/consents?limit=100")
            ids = {item["id"] for item in consents.json()["items"]} if consents.status_code == 200 else set()
            problems += [f"acknowledged consent {cid} is missing" for cid in self.citizen.consents if cid not in ids]
        for application_id, dossier_code in self.citizen.applications.items():
            got = self.get(f"/applications/{application_id}")
            if got.status_code != 200 or got.json().get("dossier_code") != dossier_code:
                problems.append(f"acknowledged dossier {application_id} answers {got.status_code}")


def notifications(running: RunningStack, load: Load) -> dict[str, Any]:
    """SMS: each sent outbox row delivered once at the gateway (repeated requests counted; the gateway dedupes), no
    delivery the outbox does not know. Every channel: how often the development file holds each row (a resend)."""
    rows = query(running, "SELECT id, channel, status FROM notification_outbox")
    sms = {row[0] for row in rows if row[1] == "sms"}
    delivered = set(load.gateway.delivered)
    copies = Counter(line["id"] for line in _outbox_lines(running))
    return {
        "outbox_rows": len(rows),
        "sms_rows": len(sms),
        "sms_delivered": len(delivered & sms),
        "sms_not_delivered": sorted(sms - delivered),
        "sms_unknown_deliveries": sorted(delivered - sms),
        "sms_without_key": load.gateway.without_key,
        "sms_repeated_requests": sum(n - 1 for n in load.gateway.repeats().values()),
        "file_resends": sum(n - 1 for n in copies.values() if n > 1),
        "not_sent": [row[0] for row in rows if row[2] != "sent"],
    }


def _outbox_lines(running: RunningStack) -> list[dict[str, Any]]:
    path = running.data_dir / "outbox.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
