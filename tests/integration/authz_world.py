"""The world the authorization matrix runs in: two citizens, the agency responsible for a dossier and another agency,
an officer of each, an officer of an agency without scopes, an admin client, and one resource of every kind owned by
the first citizen (a paper and its scan, a submitted dossier, a consent request and its consent, a notice, a counter
scan, a paper the responsible agency issued). Built through the API, as clients build theirs."""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from typing import Any

from api.deps import container_of
from identity.accounts import AccountService
from identity.scopes import KNOWN_SCOPES
from storage.db import transaction
from tests.integration.assurance_helpers import Officer, new_counter_officer
from tests.integration.conftest import Wallet
from tests.integration.forms_helpers import Citizen, citizen_with_papers, submitted
from tests.integration.wallet_helpers import diploma_fields, png_bytes, upload

PROCEDURE = "passport_issue"
RESPONSIBLE = "ca_xnc"  # the agency the procedure names
OTHER = "other_agency"
ADMIN = "admin_agency"
BARE = "bare_agency"  # holds no scope at all
RESULT = {
    "title": "Quyết định cấp hộ chiếu phổ thông",
    "decision_number": "45/QĐ-XNC",
    "issue_date": "2026-11-24",
    "issued_by": "Phòng Quản lý xuất nhập cảnh",
    "summary": "Cấp hộ chiếu phổ thông cho công dân",
}


@dataclass
class Client:
    code: str
    client_id: str
    client_secret: str
    tokens: dict[frozenset[str], str] = field(default_factory=dict)

    def token(self, wallet: Wallet, scopes: frozenset[str] = frozenset()) -> str:
        """A token narrowed to `scopes` (all the agency holds when empty), minted once per scope set."""
        if scopes not in self.tokens:
            form = {"grant_type": "client_credentials", "client_id": self.client_id}
            form |= {"client_secret": self.client_secret, "scope": " ".join(sorted(scopes))}
            answer = wallet.client.post("/api/v1/oauth/token", data=form)
            assert answer.status_code == 200, answer.text
            self.tokens[scopes] = str(answer.json()["access_token"])
        return self.tokens[scopes]


@dataclass
class World:
    wallet: Wallet
    owner: Citizen
    stranger: Citizen
    responsible: Client
    other: Client
    admin: Client
    officer: Officer
    other_officer: Officer
    bare_officer: Officer
    ids: dict[str, str]  # path parameter -> a value owned by `owner` (or by the responsible agency)
    consented: dict[str, str]  # document_id / file_id shared under the consent
    attached: dict[str, str]  # document_id / file_id attached to the dossier
    issued_id: str
    completed_id: str  # a dossier whose result was issued

    def owned(self, path: str) -> dict[str, str]:
        """The owner's ids as the route at `path` names them (a dossier's paper, a consented one, an issued one)."""
        ids = dict(self.ids)
        if path.endswith("/result/issued"):
            ids["application_id"] = self.completed_id
        elif path.startswith(("/api/v1/agency/applications/", "/officer/dossiers/")):
            ids |= self.attached
        elif path.startswith(("/api/v1/consents/", "/officer/requests/")):
            ids |= self.consented
        elif path.startswith("/api/v1/issuer/documents/") or path.endswith("/qr"):
            ids["document_id"] = self.issued_id
        return ids


def _client(wallet: Wallet, code: str, scopes: frozenset[str]) -> Client:
    container = container_of(wallet.app.state)
    with transaction(container.engine) as session:
        creds = AccountService(session, container.identity).create_agency(code, f"Cơ quan {code}", scopes)
    return Client(code, creds.client_id, creds.client_secret)


def _ok(answer: Any, status: int = 200) -> dict[str, Any]:
    assert answer.status_code == status, answer.text
    return dict(answer.json())


def build_world(wallet: Wallet) -> World:
    everything = frozenset(KNOWN_SCOPES - {"admin"})
    responsible = _client(wallet, RESPONSIBLE, everything)
    other, admin = _client(wallet, OTHER, everything), _client(wallet, ADMIN, frozenset(KNOWN_SCOPES))
    _client(wallet, BARE, frozenset())
    officer = new_counter_officer(wallet, agency_code=RESPONSIBLE, name="Lê Văn Phụ Trách")
    other_officer = new_counter_officer(wallet, agency_code=OTHER, name="Trần Văn Khác")
    bare_officer = new_counter_officer(wallet, agency_code=BARE, name="Phạm Thị Trống")
    owner = citizen_with_papers(wallet)
    stranger = citizen_with_papers(wallet)
    paper = _ok(upload(wallet, owner.token, "diploma", diploma_fields(), [("scan.png", png_bytes("own"))]), 201)
    token = responsible.token(wallet)
    dossier = submitted(wallet, owner, PROCEDURE)
    attached_id = dossier["attached_documents"][0]["document_id"]
    attached = _ok(wallet.get(f"/agency/applications/{dossier['id']}/documents/{attached_id}", token))
    request = _ok(
        wallet.post(
            "/consent-requests",
            {"national_id": owner.data["national_id"], "document_types": ["diploma"], "purpose": "Kiểm tra quyền"},
            token,
        ),
        201,
    )
    consent = _ok(wallet.post(f"/me/consent-requests/{request['id']}/approve", {}, owner.token))["consent"]
    shared = _ok(wallet.get(f"/consents/{consent['id']}/documents", token))["items"]
    pulled = next((d for d in shared if d.get("files")), shared[0])
    second = _ok(
        wallet.post(
            "/consent-requests",
            {"national_id": owner.data["national_id"], "document_types": ["passport"], "purpose": "Còn chờ"},
            token,
        ),
        201,
    )
    presence = officer.scan(owner.token)
    completed = submitted(wallet, owner, PROCEDURE)
    _ok(wallet.post(f"/agency/applications/{completed['id']}/status", {"status": "processing"}, token))
    _ok(wallet.post(f"/agency/applications/{completed['id']}/result", {"fields": RESULT}, token), 201)
    issued = _ok(
        wallet.post(
            "/issuer/documents",
            {
                "national_id": owner.data["national_id"],
                "type": "diploma",
                "fields": diploma_fields(),
                "file": {"filename": "b.png", "content_type": "image/png", "content_base64": _b64(png_bytes("d"))},
            },
            token,
        ),
        201,
    )
    paper_id = paper["id"]
    notices = _ok(wallet.get("/me/notifications", owner.token))["items"]
    ids = {
        "document_id": paper_id,
        "file_id": paper["files"][0]["id"],
        "application_id": dossier["id"],
        "request_id": second["id"],
        "consent_id": consent["id"],
        "notice_id": notices[0]["id"],
        "presence_id": presence,
    }
    return World(
        wallet=wallet,
        owner=owner,
        stranger=stranger,
        responsible=responsible,
        other=other,
        admin=admin,
        officer=officer,
        other_officer=other_officer,
        bare_officer=bare_officer,
        ids=ids,
        consented={
            "request_id": request["id"],
            "document_id": pulled["id"],
            "file_id": (pulled.get("files") or [{"id": "none"}])[0]["id"],
        },
        attached={"document_id": attached_id, "file_id": (attached.get("files") or [{"id": "none"}])[0]["id"]},
        issued_id=issued["id"],
        completed_id=completed["id"],
    )


def _b64(content: bytes) -> str:
    return base64.b64encode(content).decode()
