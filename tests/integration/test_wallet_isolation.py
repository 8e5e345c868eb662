"""One citizen's papers are invisible to everyone else (API.md: "A resource of another citizen answers 404, not 403"):
another citizen gets 404 on every wallet endpoint, exactly as for an id that does not exist; no token gets 401;
agencies and officers get 403 (they reach papers only through consent)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pytest

from api.deps import container_of
from identity.accounts import AccountService
from storage.db import transaction
from tests.factories import e164, last_code, make_phone
from tests.integration.conftest import Wallet
from tests.integration.wallet_helpers import (
    auth,
    cccd_fields,
    diploma_fields,
    multipart_body,
    pdf_bytes,
    png_bytes,
    stored_objects,
)

UNKNOWN_ID = "0190a000-0000-7000-8000-000000000000"


@dataclass
class Owner:
    data: dict[str, Any]
    token: str
    document: dict[str, Any]
    scan: bytes

    @property
    def doc_id(self) -> str:
        return str(self.document["id"])

    @property
    def file_id(self) -> str:
        return str(self.document["files"][0]["id"])


def _create(wallet: Wallet, token: str, doc_type: str, fields: dict[str, Any], scan: bytes) -> dict[str, Any]:
    body, content_type = multipart_body(
        {"type": doc_type, "fields": json.dumps(fields, ensure_ascii=False)}, [("scan.png", scan, "image/png")]
    )
    answer = wallet.client.post("/api/v1/documents", content=body, headers=auth(token) | {"Content-Type": content_type})
    assert answer.status_code == 201, answer.text
    document: dict[str, Any] = answer.json()
    return document


def _owner(wallet: Wallet, marker: str) -> Owner:
    data, tokens = wallet.register()
    scan = png_bytes(marker)
    document = _create(wallet, tokens["access_token"], "cccd", cccd_fields(data), scan)
    return Owner(data, tokens["access_token"], document, scan)


def _put(wallet: Wallet, token: str | None, doc_id: str) -> Any:
    body, content_type = multipart_body(
        {"fields": json.dumps(diploma_fields(title="Bằng giả"), ensure_ascii=False)},
        [("x.pdf", pdf_bytes("intruder"), "application/pdf")],
    )
    headers = (auth(token) if token else {}) | {"Content-Type": content_type}
    return wallet.client.put(f"/api/v1/documents/{doc_id}", content=body, headers=headers)


def _post(wallet: Wallet, token: str | None) -> Any:
    body, content_type = multipart_body(
        {"type": "diploma", "fields": json.dumps(diploma_fields(), ensure_ascii=False)},
        [("x.pdf", pdf_bytes("post"), "application/pdf")],
    )
    headers = (auth(token) if token else {}) | {"Content-Type": content_type}
    return wallet.client.post("/api/v1/documents", content=body, headers=headers)


def every_endpoint(wallet: Wallet, token: str | None, doc_id: str, file_id: str) -> dict[str, Any]:
    """One call to each wallet endpoint that names a document, with `token` (or none)."""
    headers = auth(token) if token else {}
    client = wallet.client
    return {
        "GET document": client.get(f"/api/v1/documents/{doc_id}", headers=headers),
        "PUT document": _put(wallet, token, doc_id),
        "GET versions": client.get(f"/api/v1/documents/{doc_id}/versions", headers=headers),
        "GET file": client.get(f"/api/v1/documents/{doc_id}/files/{file_id}", headers=headers),
        "DELETE document": client.delete(f"/api/v1/documents/{doc_id}", headers=headers),
    }


def outcome(answer: Any) -> tuple[int, str | None]:
    try:
        body = answer.json()
    except ValueError:
        return answer.status_code, None
    return answer.status_code, body.get("code") if isinstance(body, dict) else None


def assert_intact(wallet: Wallet, owner: Owner) -> None:
    got = wallet.get(f"/documents/{owner.doc_id}", owner.token)
    assert got.status_code == 200 and got.json() == owner.document
    versions = wallet.get(f"/documents/{owner.doc_id}/versions", owner.token).json()["items"]
    assert [v["version"] for v in versions] == [1]
    scan = wallet.get(f"/documents/{owner.doc_id}/files/{owner.file_id}", owner.token)
    assert scan.status_code == 200 and scan.content == owner.scan
    assert [d["id"] for d in wallet.get("/documents", owner.token).json()["items"]] == [owner.doc_id]


class TestAnotherCitizen:
    def test_every_endpoint_answers_404_and_changes_nothing(self, wallet: Wallet) -> None:
        alice = _owner(wallet, "alice")
        bob = _owner(wallet, "bob")
        blobs_before = stored_objects(wallet)
        answers = every_endpoint(wallet, bob.token, alice.doc_id, alice.file_id)
        assert {name: outcome(a) for name, a in answers.items()} == {
            "GET document": (404, "document_not_found"),
            "PUT document": (404, "document_not_found"),
            "GET versions": (404, "document_not_found"),
            "GET file": (404, "document_not_found"),
            "DELETE document": (404, "document_not_found"),
        }
        assert all(a.headers["content-type"].startswith("application/problem+json") for a in answers.values())
        assert_intact(wallet, alice)
        assert_intact(wallet, bob)
        assert stored_objects(wallet) == blobs_before  # the refused PUT left no blob behind

    def test_a_file_of_another_citizen_under_ones_own_document_is_not_found(self, wallet: Wallet) -> None:
        alice = _owner(wallet, "alice")
        bob = _owner(wallet, "bob")
        answer = wallet.get(f"/documents/{bob.doc_id}/files/{alice.file_id}", bob.token)
        assert outcome(answer) == (404, "file_not_found")
        assert alice.scan not in answer.content
        assert_intact(wallet, alice)

    def test_the_answers_are_the_same_as_for_ids_that_do_not_exist(self, wallet: Wallet) -> None:
        alice = _owner(wallet, "alice")
        bob = _owner(wallet, "bob")

        def comparable(answer: Any) -> tuple[Any, ...]:
            body = answer.json()
            return answer.status_code, body["code"], body["title"], body["detail"], body.get("errors")

        theirs = every_endpoint(wallet, bob.token, alice.doc_id, alice.file_id)
        missing = every_endpoint(wallet, bob.token, UNKNOWN_ID, UNKNOWN_ID)
        assert {k: comparable(v) for k, v in theirs.items()} == {k: comparable(v) for k, v in missing.items()}
        assert_intact(wallet, alice)

    def test_listings_never_show_anothers_papers(self, wallet: Wallet) -> None:
        alice = _owner(wallet, "alice")
        more = _create(wallet, alice.token, "diploma", diploma_fields(), pdf_bytes("alice-2"))
        bob = _owner(wallet, "bob")
        alices = {alice.doc_id, more["id"]}
        for query in ("", "?type=cccd", "?type=diploma", "?limit=1", f"?cursor={more['id']}", "?cursor=zzzz"):
            listing = wallet.get(f"/documents{query}", bob.token)
            assert listing.status_code == 200, (query, listing.text)
            ids = {d["id"] for d in listing.json()["items"]}
            assert ids <= {bob.doc_id} and not ids & alices, query
        seen: set[str] = set()
        cursor: str | None = None
        for _ in range(5):
            page = wallet.get("/documents?limit=1" + (f"&cursor={cursor}" if cursor else ""), bob.token).json()
            seen |= {d["id"] for d in page["items"]}
            cursor = page["next_cursor"]
            if cursor is None:
                break
        assert seen == {bob.doc_id}


WALLET_CALLS = (
    ("GET", "/documents"),
    ("POST", "/documents"),
    ("GET", "/documents/{doc}"),
    ("PUT", "/documents/{doc}"),
    ("GET", "/documents/{doc}/versions"),
    ("DELETE", "/documents/{doc}"),
    ("GET", "/documents/{doc}/files/{file}"),
)


def call_all(wallet: Wallet, token: str | None, owner: Owner) -> dict[str, tuple[int, str | None]]:
    results = {}
    for method, template in WALLET_CALLS:
        path = template.format(doc=owner.doc_id, file=owner.file_id)
        if method == "POST":
            answer = _post(wallet, token)
        elif method == "PUT":
            answer = _put(wallet, token, owner.doc_id)
        else:
            answer = wallet.client.request(method, f"/api/v1{path}", headers=auth(token) if token else {})
        results[f"{method} {template}"] = outcome(answer)
    return results


class TestWithoutAToken:
    @pytest.mark.parametrize("authorization", [None, "Bearer", "Bearer not-a-jwt", "Basic YTpi"])
    def test_every_wallet_endpoint_answers_401(self, wallet: Wallet, authorization: str | None) -> None:
        alice = _owner(wallet, "alice")
        failures = {}
        for method, template in WALLET_CALLS:
            path = "/api/v1" + template.format(doc=alice.doc_id, file=alice.file_id)
            headers = {"Authorization": authorization} if authorization else {}
            answer = wallet.client.request(method, path, headers=headers)
            if answer.status_code != 401 or "www-authenticate" not in answer.headers:
                failures[f"{method} {template}"] = (answer.status_code, answer.text[:120])
        assert failures == {}
        assert_intact(wallet, alice)


def _agency_token(wallet: Wallet) -> str:
    container = container_of(wallet.app.state)
    with transaction(container.engine) as session:
        scopes = ["documents:issue", "consent:request", "consent:read"]
        creds = AccountService(session, container.identity).create_agency("SOTP-DN", "Sở Tư pháp Đà Nẵng", scopes)
    form = {"grant_type": "client_credentials", "client_id": creds.client_id, "client_secret": creds.client_secret}
    answer = wallet.client.post("/api/v1/oauth/token", data=form)
    assert answer.status_code == 200, answer.text
    return str(answer.json()["access_token"])


def _officer_token(wallet: Wallet) -> str:
    container = container_of(wallet.app.state)
    phone, pin = make_phone(), "135790"
    with transaction(container.engine) as session:
        accounts = AccountService(session, container.identity)
        accounts.create_agency("CA-DN", "Công an Đà Nẵng", ["consent:request"])
        accounts.create_officer(phone=phone, name="Trần Thị Bích", agency_code="CA-DN", pin=pin)
    challenge = wallet.post("/auth/login", {"phone": phone, "pin": pin})
    assert challenge.status_code == 202, challenge.text
    code = last_code(wallet.outbox, to=e164(phone))
    tokens = wallet.post("/auth/otp/verify", {"challenge_id": challenge.json()["challenge_id"], "code": code})
    assert tokens.status_code == 200, tokens.text
    return str(tokens.json()["access_token"])


class TestOtherRoles:
    @pytest.mark.parametrize("role", ["agency", "officer"])
    def test_every_wallet_endpoint_answers_403(self, wallet: Wallet, role: str) -> None:
        alice = _owner(wallet, "alice")
        token = _agency_token(wallet) if role == "agency" else _officer_token(wallet)
        blobs_before = stored_objects(wallet)
        results = call_all(wallet, token, alice)
        assert results == dict.fromkeys(results, (403, "forbidden"))
        assert_intact(wallet, alice)
        assert stored_objects(wallet) == blobs_before
