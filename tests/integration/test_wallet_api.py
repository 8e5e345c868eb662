"""The citizen's wallet over HTTP, as API.md ("The citizen's wallet") promises it: create with 0..n scans recognised
by their content, list, read, version, expire, refuse bad input without storing anything, delete, download."""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import unquote

import pytest
from litestar.testing import TestClient

from tests.factories import make_cccd
from tests.integration.conftest import START, Wallet
from tests.integration.wallet_helpers import (
    auth,
    cccd_fields,
    diploma_fields,
    gif_bytes,
    health_insurance_fields,
    heic_bytes,
    jpeg_bytes,
    multipart_body,
    passport_fields,
    pdf_bytes,
    png_bytes,
    relogin,
    stored_objects,
    svg_bytes,
    webp_bytes,
    zip_bytes,
)

MIB = 1024 * 1024
DOCUMENT_KEYS = {
    "id",
    "type",
    "fields",
    "files",
    "source",
    "issuer",
    "status",
    "version",
    "created_at",
    "updated_at",
    "valid_until",
    "verification",
}
FILE_KEYS = {"id", "filename", "content_type", "size"}
UNKNOWN_ID = "0190a000-0000-7000-8000-000000000000"
TYPE_CODES = {
    "cccd",
    "passport",
    "driver_license",
    "birth_certificate",
    "health_insurance",
    "residence",
    "marriage_certificate",
    "diploma",
    "criminal_record",
    "tthc_result",
    "health_certificate",
    "residence_proof",
}
# (sample, content type, extension) for every accepted format
FORMATS: dict[str, tuple[Callable[[], bytes], str, str]] = {
    "pdf": (lambda: pdf_bytes("pdf"), "application/pdf", "pdf"),
    "jpeg": (jpeg_bytes, "image/jpeg", "jpg"),
    "png": (png_bytes, "image/png", "png"),
    "webp": (webp_bytes, "image/webp", "webp"),
    "heic": (heic_bytes, "image/heic", "heic"),
}


@pytest.fixture(autouse=True)
def never_500(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[Any]]:
    """Every answer of every test here is checked: bad input never gets a 5xx."""
    answers: list[Any] = []
    original = TestClient.request

    def recording(self: Any, *args: Any, **kwargs: Any) -> Any:
        answer = original(self, *args, **kwargs)
        answers.append(answer)
        return answer

    monkeypatch.setattr(TestClient, "request", recording)
    yield answers
    failures = [(a.request.method, a.request.url.path, a.status_code, a.text[:200]) for a in answers]
    assert [f for f in failures if f[2] >= 500] == []


def send(
    wallet: Wallet,
    token: str,
    *,
    doc_type: str | None = "diploma",
    fields: dict[str, Any] | str | None = None,
    files: list[tuple[str, bytes, str]] = (),  # type: ignore[assignment]
    document_id: str | None = None,
) -> Any:
    """POST (or PUT with `document_id`) a real multipart body; `fields` may be raw text."""
    text: dict[str, str] = {}
    if doc_type is not None and document_id is None:
        text["type"] = doc_type
    if fields is not None:
        text["fields"] = fields if isinstance(fields, str) else json.dumps(fields, ensure_ascii=False)
    body, content_type = multipart_body(text, files)
    method, path = ("PUT", f"/api/v1/documents/{document_id}") if document_id else ("POST", "/api/v1/documents")
    headers = auth(token) | {"Content-Type": content_type}
    return wallet.client.request(method, path, content=body, headers=headers)


def created(answer: Any) -> dict[str, Any]:
    assert answer.status_code == 201, answer.text
    document: dict[str, Any] = answer.json()
    assert_document_shape(document)
    return document


def assert_document_shape(document: dict[str, Any]) -> None:
    assert set(document) >= DOCUMENT_KEYS, DOCUMENT_KEYS - set(document)
    assert isinstance(document["id"], str) and document["id"]
    assert document["type"] in TYPE_CODES
    assert isinstance(document["fields"], dict)
    for file in document["files"]:
        assert set(file) == FILE_KEYS
        assert isinstance(file["size"], int) and file["size"] >= 0
    assert document["source"] == "citizen" and document["issuer"] is None
    assert document["status"] in {"active", "expired", "revoked", "superseded"}
    assert isinstance(document["version"], int) and document["version"] >= 1
    for stamp in ("created_at", "updated_at"):
        moment = datetime.fromisoformat(document[stamp].replace("Z", "+00:00"))
        assert moment.utcoffset() == timedelta(0), document[stamp]
    if document["valid_until"] is not None:
        date.fromisoformat(document["valid_until"])
    assert document["verification"] is None  # only issuer-signed papers carry one


def download(wallet: Wallet, token: str, document: dict[str, Any], file: dict[str, Any]) -> Any:
    return wallet.get(f"/documents/{document['id']}/files/{file['id']}", token)


def error_fields(body: dict[str, Any]) -> set[str]:
    return {e["field"] for e in body.get("errors", [])}


def nothing_stored(wallet: Wallet, token: str) -> None:
    listing = wallet.get("/documents", token)
    assert listing.status_code == 200 and listing.json() == {"items": [], "next_cursor": None}
    assert stored_objects(wallet) == {}


def citizen(wallet: Wallet) -> tuple[dict[str, Any], str]:
    data, tokens = wallet.register()
    return data, tokens["access_token"]


def mismatch(answer: Any, status: int, code: str, field: str | None = None) -> str | None:
    """None when `answer` is the expected problem (naming `field`), else what came instead (to collect in loops)."""
    try:
        body = answer.json()
    except ValueError:
        body = {}
    got = (answer.status_code, body.get("code") if isinstance(body, dict) else None)
    if got != (status, code) or not answer.headers.get("content-type", "").startswith("application/problem+json"):
        return f"{got} {answer.text[:160]}"
    if field is not None and field not in error_fields(body):
        return f"{field!r} not among the listed fields {sorted(error_fields(body))}"
    return None


class TestCreateWithFiles:
    def test_without_a_file(self, wallet: Wallet) -> None:
        data, token = citizen(wallet)
        document = created(send(wallet, token, doc_type="cccd", fields=cccd_fields(data)))
        assert document["files"] == [] and document["version"] == 1 and document["status"] == "active"
        assert document["fields"] == cccd_fields(data)
        assert document["valid_until"] == "2035-03-02"
        assert datetime.fromisoformat(document["created_at"].replace("Z", "+00:00")) == START
        # the same without multipart: a URL-encoded form
        form = {"type": "diploma", "fields": json.dumps(diploma_fields(), ensure_ascii=False)}
        other = created(wallet.client.post("/api/v1/documents", data=form, headers=auth(token)))
        assert other["files"] == [] and other["fields"]["graduation_year"] == 2017
        assert stored_objects(wallet) == {}

    def test_one_file_of_each_accepted_format(self, wallet: Wallet) -> None:
        _, token = citizen(wallet)
        for kind, (make, content_type, extension) in FORMATS.items():
            scan = make()
            answer = send(wallet, token, fields=diploma_fields(), files=[(f"bang.{extension}", scan, "x/y")])
            document = created(answer)
            [file] = document["files"]
            assert (file["content_type"], file["filename"], file["size"]) == (
                content_type,
                f"bang.{extension}",
                len(scan),
            ), kind
            got = download(wallet, token, document, file)
            assert got.status_code == 200 and got.content == scan, kind
            assert got.headers["content-type"].split(";")[0] == content_type
        assert len(stored_objects(wallet)) == len(FORMATS)

    def test_three_files_round_trip_in_order(self, any_wallet: Wallet) -> None:
        data, token = citizen(any_wallet)
        scans = [
            ("mặt trước.png", png_bytes("front"), "image/png"),
            ("mặt sau.jpg", jpeg_bytes(24), "image/jpeg"),
            ("bản sao.pdf", pdf_bytes("copy"), "application/pdf"),
        ]
        document = created(send(any_wallet, token, doc_type="cccd", fields=cccd_fields(data), files=scans))
        assert len({f["id"] for f in document["files"]}) == 3
        by_name = {f["filename"]: f for f in document["files"]}
        for name, content, declared in scans:
            file = by_name[name]
            assert (file["content_type"], file["size"]) == (declared, len(content))
            got = download(any_wallet, token, document, file)
            assert got.status_code == 200
            assert got.content == content
            assert got.headers["content-type"].split(";")[0] == declared
            assert name in unquote(got.headers["content-disposition"])
        assert len(stored_objects(any_wallet)) == 3
        again = any_wallet.get(f"/documents/{document['id']}", token)
        assert again.status_code == 200 and again.json() == document
        # The papers keep the order they were sent in (front side, back side, copy).
        assert [f["filename"] for f in document["files"]] == [name for name, _, _ in scans]


class TestTypeRecognisedByContent:
    CASES = (
        ("png", "x.pdf", "application/pdf", "x.png"),
        ("pdf", "scan.png", "image/png", "scan.pdf"),
        ("jpeg", "photo.heic", "image/heic", "photo.jpg"),
        ("webp", "anh.jpg", "image/jpeg", "anh.webp"),
        ("heic", "chup.pdf", "application/pdf", "chup.heic"),
        ("pdf", "virus.exe", "application/x-msdownload", "virus.pdf"),
        ("png", "no-extension", "text/plain", "no-extension.png"),
    )

    @pytest.mark.e2e
    def test_name_and_declared_type_are_ignored(self, wallet: Wallet) -> None:
        _, token = citizen(wallet)
        for kind, sent_name, declared, expected_name in self.CASES:
            make, content_type, _ = FORMATS[kind]
            scan = make()
            document = created(send(wallet, token, fields=diploma_fields(), files=[(sent_name, scan, declared)]))
            [file] = document["files"]
            assert (file["content_type"], file["filename"]) == (content_type, expected_name), sent_name
            got = download(wallet, token, document, file)
            assert got.headers["content-type"].split(";")[0] == content_type
            assert expected_name in unquote(got.headers["content-disposition"])
            assert got.content == scan


class TestDocumentTypes:
    def test_lists_every_type_with_its_field_schema(self, wallet: Wallet) -> None:
        answer = wallet.get("/document-types")
        assert answer.status_code == 200, answer.text
        types = {t["code"]: t for t in answer.json()}
        assert set(types) == TYPE_CODES and len(answer.json()) == len(TYPE_CODES) == 12
        for doc_type in types.values():
            assert doc_type["name"] and doc_type["fields"]
            for spec in doc_type["fields"]:
                assert {"name", "type", "required"} <= set(spec)
                assert spec["type"] in {"string", "date", "int", "enum", "list"}
        cccd = {f["name"]: f for f in types["cccd"]["fields"]}
        assert set(cccd) == {
            "number",
            "full_name",
            "date_of_birth",
            "sex",
            "nationality",
            "place_of_origin",
            "place_of_residence",
            "issue_date",
            "expiry_date",
            "issued_by",
        }
        assert cccd["date_of_birth"]["type"] == "date" and cccd["number"]["required"] is True
        assert set(cccd["sex"]["choices"]) == {"nam", "nu"}
        passport = {f["name"]: f for f in types["passport"]["fields"]}
        assert passport["mrz"]["required"] is False
        assert passport["passport_number"]["pattern"] == "^[A-Z][0-9]{7}$"
        licence = {f["name"]: f for f in types["driver_license"]["fields"]}
        assert licence["classes"]["type"] == "list" and "A1" in licence["classes"]["choices"]
        diploma = {f["name"]: f for f in types["diploma"]["fields"]}
        assert diploma["graduation_year"]["type"] == "int"


class TestListing:
    @pytest.mark.e2e
    def test_pages_follow_the_cursor_newest_first(self, wallet: Wallet) -> None:
        data, token = citizen(wallet)
        assert wallet.get("/documents", token).json() == {"items": [], "next_cursor": None}
        made = [created(send(wallet, token, fields=diploma_fields(serial_number=f"SN-{i}")))["id"] for i in range(3)]
        made.append(created(send(wallet, token, doc_type="passport", fields=passport_fields(data)))["id"])
        made.append(created(send(wallet, token, doc_type="cccd", fields=cccd_fields(data)))["id"])
        seen: list[str] = []
        sizes: list[int] = []
        cursor: str | None = None
        for _ in range(10):
            query = "/documents?limit=2" + (f"&cursor={cursor}" if cursor else "")
            page = wallet.get(query, token)
            assert page.status_code == 200, page.text
            body = page.json()
            assert set(body) == {"items", "next_cursor"}
            for item in body["items"]:
                assert_document_shape(item)
            seen += [item["id"] for item in body["items"]]
            sizes.append(len(body["items"]))
            cursor = body["next_cursor"]
            if cursor is None:
                break
        assert sizes == [2, 2, 1]
        assert seen == list(reversed(made))
        # a page that ends exactly at the last document says so
        last = wallet.get("/documents?limit=5", token).json()
        assert len(last["items"]) == 5 and last["next_cursor"] is None

    def test_type_filter(self, wallet: Wallet) -> None:
        data, token = citizen(wallet)
        diplomas = [created(send(wallet, token, fields=diploma_fields(serial_number=f"D{i}")))["id"] for i in range(3)]
        created(send(wallet, token, doc_type="cccd", fields=cccd_fields(data)))
        created(send(wallet, token, doc_type="passport", fields=passport_fields(data)))
        only = wallet.get("/documents?type=diploma", token).json()
        assert [d["id"] for d in only["items"]] == list(reversed(diplomas)) and only["next_cursor"] is None
        first = wallet.get("/documents?type=diploma&limit=2", token).json()
        rest = wallet.get(f"/documents?type=diploma&limit=2&cursor={first['next_cursor']}", token).json()
        assert [d["id"] for d in first["items"] + rest["items"]] == list(reversed(diplomas))
        assert rest["next_cursor"] is None
        assert [d["type"] for d in wallet.get("/documents?type=cccd", token).json()["items"]] == ["cccd"]
        assert wallet.get("/documents?type=residence", token).json() == {"items": [], "next_cursor": None}
        # odd paging parameters are answered, never with a server error (checked by `never_500`)
        for query in ("limit=abc", "limit=-1", "limit=0", "limit=100000", "cursor=%00%ff", "type=%00"):
            answer = wallet.get(f"/documents?{query}", token)
            assert answer.status_code in {200, 400, 422}, (query, answer.text)


class TestGetDocument:
    @pytest.mark.e2e
    def test_reads_back_what_was_created_and_nothing_else(self, wallet: Wallet) -> None:
        _, token = citizen(wallet)
        document = created(send(wallet, token, fields=diploma_fields(), files=[("b.pdf", pdf_bytes(), "x/y")]))
        answer = wallet.get(f"/documents/{document['id']}", token)
        assert answer.status_code == 200 and answer.json() == document
        assert mismatch(wallet.get(f"/documents/{UNKNOWN_ID}", token), 404, "document_not_found") is None
        assert mismatch(wallet.get("/documents/not-an-id", token), 404, "document_not_found") is None
        nope = wallet.get(f"/documents/{document['id']}/files/{UNKNOWN_ID}", token)
        assert mismatch(nope, 404, "file_not_found") is None

    def test_identifiers_the_database_cannot_hold_are_refused_not_failed(self, wallet: Wallet) -> None:
        # A NUL character: SQLite looks it up and finds nothing (404); PostgreSQL refuses to compare it (400).
        _, token = citizen(wallet)
        document = created(send(wallet, token, fields=diploma_fields(), files=[("b.pdf", pdf_bytes(), "x/y")]))
        answers = {
            "document": wallet.get("/documents/%00", token),
            "versions": wallet.get("/documents/a%00b/versions", token),
            "file": wallet.get(f"/documents/{document['id']}/files/%00", token),
            "delete": wallet.client.delete("/api/v1/documents/%00", headers=auth(token)),
            "put": send(wallet, token, fields=diploma_fields(), document_id="%00"),
            "cursor": wallet.get("/documents?cursor=%00", token),
            "type": wallet.get("/documents?type=%00", token),
        }
        got = {}
        for name, answer in answers.items():
            not_found = "file_not_found" if name == "file" else "document_not_found"
            if name == "cursor":  # a cursor the service cannot have issued: one answer everywhere
                ok = mismatch(answer, 400, "invalid_cursor") is None
            elif name == "type":
                ok = answer.status_code == 200 or mismatch(answer, 400, "malformed_request") is None
            else:
                ok = mismatch(answer, 404, not_found) is None or mismatch(answer, 400, "malformed_request") is None
            got[name] = "ok" if ok else f"{answer.status_code} {answer.text[:120]}"
        assert got == dict.fromkeys(answers, "ok")
        assert wallet.get(f"/documents/{document['id']}", token).json() == document


class TestUpdate:
    def test_new_files_replace_the_old_ones_in_version_2(self, any_wallet: Wallet) -> None:
        _, token = citizen(any_wallet)
        old_scan, new_scan = pdf_bytes("v1"), png_bytes("v2")
        first = created(send(any_wallet, token, fields=diploma_fields(), files=[("v1.pdf", old_scan, "x/y")]))
        any_wallet.clock.advance(timedelta(minutes=5))
        answer = send(
            any_wallet,
            token,
            fields=diploma_fields(classification="Xuất sắc"),
            files=[("v2.png", new_scan, "x/y")],
            document_id=first["id"],
        )
        assert answer.status_code == 200, answer.text
        second = answer.json()
        assert_document_shape(second)
        assert second["id"] == first["id"] and second["version"] == 2 and second["status"] == "active"
        assert second["fields"]["classification"] == "Xuất sắc"
        assert second["created_at"] == first["created_at"] and second["updated_at"] != first["updated_at"]
        [file] = second["files"]
        assert file["id"] != first["files"][0]["id"]
        assert (file["filename"], file["content_type"]) == ("v2.png", "image/png")
        assert download(any_wallet, token, second, file).content == new_scan
        assert any_wallet.get(f"/documents/{first['id']}", token).json() == second
        versions = any_wallet.get(f"/documents/{first['id']}/versions", token)
        assert versions.status_code == 200, versions.text
        items = versions.json()["items"]
        assert [(v["version"], v["status"]) for v in items] == [(2, "active"), (1, "superseded")]
        assert items[0]["fields"]["classification"] == "Xuất sắc" and items[1]["fields"]["classification"] == "Giỏi"
        assert [f["id"] for f in items[0]["files"]] == [file["id"]]
        assert items[1]["files"] == first["files"]

    def test_without_files_the_files_are_kept(self, wallet: Wallet) -> None:
        _, token = citizen(wallet)
        scan = jpeg_bytes()
        first = created(send(wallet, token, fields=diploma_fields(), files=[("a.jpg", scan, "image/jpeg")]))
        answer = send(wallet, token, fields=diploma_fields(major="Toán học"), document_id=first["id"])
        assert answer.status_code == 200, answer.text
        second = answer.json()
        assert second["version"] == 2 and second["files"] == first["files"]
        assert second["fields"]["major"] == "Toán học"
        assert download(wallet, token, second, second["files"][0]).content == scan
        third = send(wallet, token, fields=diploma_fields(major="Vật lý"), document_id=first["id"]).json()
        assert third["version"] == 3 and third["files"] == first["files"]
        items = wallet.get(f"/documents/{first['id']}/versions", token).json()["items"]
        assert [(v["version"], v["status"]) for v in items] == [(3, "active"), (2, "superseded"), (1, "superseded")]
        assert [v["fields"]["major"] for v in items] == ["Vật lý", "Toán học", "Công nghệ thông tin"]
        assert len(stored_objects(wallet)) == 1

    @pytest.mark.e2e
    def test_refused_updates_leave_the_document_and_the_store_as_they_were(self, wallet: Wallet) -> None:
        _, token = citizen(wallet)
        first = created(send(wallet, token, fields=diploma_fields(), files=[("a.pdf", pdf_bytes(), "x/y")]))
        before = stored_objects(wallet)
        bad_fields = send(
            wallet,
            token,
            fields=diploma_fields(graduation_year="two thousand"),
            files=[("b.png", png_bytes(), "x/y")],
            document_id=first["id"],
        )
        assert mismatch(bad_fields, 422, "validation_failed", "graduation_year") is None
        bad_file = send(
            wallet, token, fields=diploma_fields(), files=[("c.gif", gif_bytes(), "x")], document_id=first["id"]
        )
        assert mismatch(bad_file, 415, "unsupported_file_type") is None
        assert wallet.get(f"/documents/{first['id']}", token).json() == first
        assert [v["version"] for v in wallet.get(f"/documents/{first['id']}/versions", token).json()["items"]] == [1]
        assert stored_objects(wallet) == before
        unknown = send(wallet, token, fields=diploma_fields(), document_id=UNKNOWN_ID)
        assert mismatch(unknown, 404, "document_not_found") is None
        assert mismatch(wallet.get(f"/documents/{UNKNOWN_ID}/versions", token), 404, "document_not_found") is None


class TestExpiry:
    def test_a_paper_expires_once_the_clock_passes_its_expiry_date(self, wallet: Wallet) -> None:
        data, token = citizen(wallet)
        last_day = START.date()
        document = created(send(wallet, token, doc_type="cccd", fields=cccd_fields(data, expiry_date=str(last_day))))
        assert document["status"] == "active" and document["valid_until"] == str(last_day)
        # Days later (and later than the wall clock too: the app must go by its own clock), with a fresh login.
        wallet.clock.set(max(START, datetime.now(UTC)) + timedelta(days=2))
        token = relogin(wallet, data)["access_token"]
        answer = wallet.get(f"/documents/{document['id']}", token)
        assert answer.status_code == 200, answer.text
        assert answer.json()["status"] == "expired" and answer.json()["valid_until"] == str(last_day)
        assert [d["status"] for d in wallet.get("/documents", token).json()["items"]] == ["expired"]
        versions = wallet.get(f"/documents/{document['id']}/versions", token).json()["items"]
        assert [v["status"] for v in versions] == ["expired"]

    def test_status_follows_expiry_date_or_valid_to(self, wallet: Wallet) -> None:
        data, token = citizen(wallet)
        today = str(START.date())
        expired = health_insurance_fields(data, valid_from="2024-01-01", valid_to="2025-12-31")
        cases = [
            ("health_insurance", expired, "expired", "2025-12-31"),
            ("health_insurance", health_insurance_fields(data, valid_to=today), "active", today),
            (
                "passport",
                passport_fields(data, issue_date="2015-01-01", expiry_date="2025-01-01"),
                "expired",
                "2025-01-01",
            ),
            ("cccd", cccd_fields(data, expiry_date=None), "active", None),
            ("diploma", diploma_fields(), "active", None),
        ]
        for doc_type, fields, status, until in cases:
            document = created(send(wallet, token, doc_type=doc_type, fields=fields))
            assert (document["status"], document["valid_until"]) == (status, until), (doc_type, fields)


def _without(fields: dict[str, Any], name: str) -> dict[str, Any]:
    return {k: v for k, v in fields.items() if k != name}


class TestValidation:
    def test_bad_fields_are_listed_and_nothing_is_stored(self, wallet: Wallet) -> None:
        data, token = citizen(wallet)
        someone_else = make_cccd(date(1995, 3, 2))
        cases: list[tuple[str, str | None, Any, str]] = [
            ("unknown field", "diploma", diploma_fields(favourite_colour="xanh"), "favourite_colour"),
            ("missing required", "diploma", _without(diploma_fields(), "title"), "title"),
            ("missing cccd number", "cccd", _without(cccd_fields(data), "number"), "number"),
            ("impossible date", "diploma", diploma_fields(issue_date="2017-02-30"), "issue_date"),
            ("date shape", "diploma", diploma_fields(issue_date="01/07/2017"), "issue_date"),
            ("passport digits only", "passport", passport_fields(data, passport_number="12345678"), "passport_number"),
            ("passport lowercase", "passport", passport_fields(data, passport_number="c1234567"), "passport_number"),
            ("cccd of someone else", "cccd", cccd_fields(data, number=someone_else), "number"),
            ("int as string", "diploma", diploma_fields(graduation_year="2017"), "graduation_year"),
            ("fields not JSON", "diploma", "{not json", "fields"),
            ("fields a list", "diploma", "[1, 2]", "fields"),
            ("fields a string", "diploma", '"text"', "fields"),
            ("fields null", "diploma", "null", "fields"),
            ("type missing", None, diploma_fields(), "type"),
            ("type blank", "   ", diploma_fields(), "type"),
            ("string too long", "diploma", diploma_fields(title="x" * 501), "title"),
            ("deeply nested JSON", "diploma", "[" * 30_000 + "]" * 30_000, "fields"),  # within the 64 KB text bound
            ("a 5000-digit number", "diploma", '{"graduation_year": ' + "1" * 5000 + "}", "fields"),
            ("fields over 256 KiB", "diploma", json.dumps(diploma_fields(title="x" * 300_000)), "fields"),
        ]
        failures = []
        for label, doc_type, fields, field in cases:
            answer = send(wallet, token, doc_type=doc_type, fields=fields, files=[("a.png", png_bytes(), "x")])
            if problem := mismatch(answer, 422, "validation_failed", field):
                failures.append(f"{label}: {problem}")
            elif not all(e["messages"] for e in answer.json()["errors"]):
                failures.append(f"{label}: a field without messages")
        assert failures == []
        nothing_stored(wallet, token)

    def test_every_problem_is_listed_at_once(self, wallet: Wallet) -> None:
        data, token = citizen(wallet)
        fields = _without(passport_fields(data, passport_number="123", issue_date="x", extra=1), "nationality")
        answer = send(wallet, token, doc_type="passport", fields=fields)
        assert answer.status_code == 422, answer.text
        assert {"passport_number", "issue_date", "extra", "nationality"} <= error_fields(answer.json())

    def test_unknown_type(self, wallet: Wallet) -> None:
        _, token = citizen(wallet)
        for doc_type in ("driving_licence", "CCCD", "x" * 500, "../cccd"):
            answer = send(wallet, token, doc_type=doc_type, fields={}, files=[("a.png", png_bytes(), "x")])
            assert mismatch(answer, 422, "unknown_document_type") is None, doc_type
        nothing_stored(wallet, token)


class TestUnsupportedFiles:
    CASES = (
        ("a.gif", gif_bytes()),
        ("a.pdf", b"GIF89a" + b"0" * 64),
        ("notes.txt", "Họ và tên: Nguyễn Văn An\n".encode() * 10),
        ("scans.zip", zip_bytes()),
        ("a.svg", svg_bytes()),
        ("empty.pdf", b""),
        ("tiny.pdf", b"%PD"),
        ("a.avif", b"\x00\x00\x00\x1cftypavif\x00\x00\x00\x00avifmif1miaf" + b"\x00" * 64),
    )

    def test_refused_and_nothing_stored(self, wallet: Wallet) -> None:
        _, token = citizen(wallet)
        failures = []
        for name, content in self.CASES:
            answer = send(wallet, token, fields=diploma_fields(), files=[(name, content, "application/pdf")])
            if problem := mismatch(answer, 415, "unsupported_file_type"):
                failures.append(f"{name}: {problem}")
        assert failures == []
        # one bad file among good ones: none of them is kept
        files = [("a.png", png_bytes(), "image/png"), ("b.pdf", pdf_bytes(), "x"), ("c.gif", gif_bytes(), "image/gif")]
        assert mismatch(send(wallet, token, fields=diploma_fields(), files=files), 415, "unsupported_file_type") is None
        nothing_stored(wallet, token)


class TestFileNames:
    CASES = (
        ("../../etc/passwd.png", "png", "passwd.png"),
        ("C:\\Users\\an\\scan.pdf", "pdf", "scan.pdf"),
        ("\u202egnp.exe", "png", "gnp.png"),
        ("", "jpeg", "tep.jpg"),
        ("Giấy khai sinh; bản chính.pdf", "pdf", "Giấy khai sinh; bản chính.pdf"),
        ("a" * 300 + ".webp", "webp", "a" * 115 + ".webp"),
    )

    @pytest.mark.e2e
    def test_names_are_made_safe_and_sent_back_safely(self, wallet: Wallet) -> None:
        _, token = citizen(wallet)
        for sent, kind, expected in self.CASES:
            make, _, _ = FORMATS[kind]
            document = created(send(wallet, token, fields=diploma_fields(), files=[(sent, make(), "x")]))
            [file] = document["files"]
            assert file["filename"] == expected, sent
            got = download(wallet, token, document, file)
            disposition = got.headers["content-disposition"]
            assert "\r" not in disposition and "\n" not in disposition and '"' not in disposition
            assert unquote(disposition.split("filename*=UTF-8''", 1)[1]) == expected


class TestSizeLimits:
    def test_too_many_files_are_refused_and_nothing_stored(self, wallet: Wallet) -> None:
        _, token = citizen(wallet)
        files = [(f"{i}.png", png_bytes(str(i)), "image/png") for i in range(11)]
        assert (
            mismatch(send(wallet, token, fields=diploma_fields(), files=files), 422, "validation_failed", "file")
            is None
        )
        nothing_stored(wallet, token)
        created(send(wallet, token, fields=diploma_fields(), files=files[:10]))

    def test_a_file_over_the_limit_is_refused_and_nothing_stored(self, make_wallet: Callable[..., Wallet]) -> None:
        wallet = make_wallet(max_file_mb=1)
        _, token = citizen(wallet)
        big = pdf_bytes(padding=MIB + MIB // 2)
        files = [("small.png", png_bytes(), "x"), ("big.pdf", big, "x")]
        assert mismatch(send(wallet, token, fields=diploma_fields(), files=files), 413, "file_too_large") is None
        nothing_stored(wallet, token)
        # exactly the limit is still accepted
        scan = pdf_bytes()
        scan = scan[:-7] + b"0" * (MIB - len(scan)) + scan[-7:]
        assert len(scan) == MIB
        document = created(send(wallet, token, fields=diploma_fields(), files=[("a.pdf", scan, "x")]))
        assert document["files"][0]["size"] == MIB

    def test_the_quota_counts_what_each_citizen_stores(self, make_wallet: Callable[..., Wallet]) -> None:
        wallet = make_wallet(quota_mb=1)
        _, token = citizen(wallet)
        _, other = citizen(wallet)
        scan_a, scan_b = pdf_bytes("a", 700 * 1024), pdf_bytes("b", 700 * 1024)
        first = created(send(wallet, token, fields=diploma_fields(), files=[("a.pdf", scan_a, "x")]))
        answer = send(wallet, token, fields=diploma_fields(), files=[("b.pdf", scan_b, "x")])
        assert mismatch(answer, 413, "quota_exceeded") is None
        assert [d["id"] for d in wallet.get("/documents", token).json()["items"]] == [first["id"]]
        assert len(stored_objects(wallet)) == 1
        # the quota is per citizen
        created(send(wallet, other, fields=diploma_fields(), files=[("b.pdf", scan_b, "x")]))
        # deleting frees the space again
        assert wallet.client.delete(f"/api/v1/documents/{first['id']}", headers=auth(token)).status_code == 204
        created(send(wallet, token, fields=diploma_fields(), files=[("b.pdf", scan_b, "x")]))


class TestDelete:
    def test_the_document_and_its_blobs_are_gone(self, any_wallet: Wallet) -> None:
        _, token = citizen(any_wallet)
        kept = created(send(any_wallet, token, fields=diploma_fields(), files=[("k.png", png_bytes("keep"), "x")]))
        files = [("a.pdf", pdf_bytes("1"), "x"), ("b.png", png_bytes(), "x")]
        document = created(send(any_wallet, token, fields=diploma_fields(), files=files))
        updated = send(
            any_wallet, token, fields=diploma_fields(), files=[("c.jpg", jpeg_bytes(), "x")], document_id=document["id"]
        )
        assert updated.status_code == 200, updated.text
        assert len(stored_objects(any_wallet)) == 4
        path = f"/api/v1/documents/{document['id']}"
        answer = any_wallet.client.delete(path, headers=auth(token))
        assert answer.status_code == 204 and answer.content == b""
        gone = [
            any_wallet.get(f"/documents/{document['id']}", token),
            any_wallet.get(f"/documents/{document['id']}/versions", token),
            *(download(any_wallet, token, document, f) for f in document["files"] + updated.json()["files"]),
            any_wallet.client.delete(path, headers=auth(token)),
            send(any_wallet, token, fields=diploma_fields(), document_id=document["id"]),
        ]
        assert [mismatch(a, 404, "document_not_found") for a in gone] == [None] * len(gone)
        remaining = stored_objects(any_wallet)
        assert len(remaining) == 1, sorted(remaining)
        assert [d["id"] for d in any_wallet.get("/documents", token).json()["items"]] == [kept["id"]]
        assert download(any_wallet, token, kept, kept["files"][0]).content == png_bytes("keep")


class TestDownload:
    def test_large_files_come_back_byte_for_byte(self, any_wallet: Wallet) -> None:
        _, token = citizen(any_wallet)
        for size_mib in (3, 9):  # below and above the 4 MiB checked before sending
            scan = b"%PDF-1.7\n" + random.Random(size_mib).randbytes(size_mib * MIB) + b"\n%%EOF\n"
            name = f"Bằng tốt nghiệp {size_mib}MiB.pdf"
            document = created(send(any_wallet, token, fields=diploma_fields(), files=[(name, scan, "x")]))
            assert document["files"][0]["size"] == len(scan)
            got = download(any_wallet, token, document, document["files"][0])
            assert got.status_code == 200
            assert len(got.content) == len(scan)
            assert got.content == scan
            assert got.headers["content-type"].split(";")[0] == "application/pdf"
            assert got.headers["content-length"] == str(len(scan))
            disposition = got.headers["content-disposition"]
            assert disposition.startswith("attachment")
            assert unquote(disposition.split("filename*=UTF-8''", 1)[1]) == name


class TestMalformedRequests:
    BODIES = (
        ("not multipart", "multipart/form-data; boundary=xyz", b"hello, this is not multipart at all"),
        (
            "no boundary",
            "multipart/form-data",
            b'--xyz\r\nContent-Disposition: form-data; name="type"\r\n\r\ncccd\r\n--xyz--\r\n',
        ),
        ("json", "application/json", json.dumps({"type": "diploma", "fields": {}}).encode()),
        ("text", "text/plain", b"type=diploma"),
        (
            "ends inside a part",
            "multipart/form-data; boundary=xyz",
            b'--xyz\r\nContent-Disposition: form-data; name="type"\r\n\r\ndipl',
        ),
        (
            "no disposition",
            "multipart/form-data; boundary=xyz",
            b"--xyz\r\nX-Nothing: here\r\n\r\nvalue\r\n--xyz--\r\n",
        ),
        ("bad header", "multipart/form-data; boundary=xyz", b"--xyz\r\nbroken header line\r\n\r\nvalue\r\n--xyz--\r\n"),
    )

    @pytest.mark.e2e
    @pytest.mark.parametrize("method", ["POST", "PUT"])
    def test_answered_400_malformed_request(self, wallet: Wallet, method: str) -> None:
        _, token = citizen(wallet)
        path = "/api/v1/documents"
        if method == "PUT":
            path += "/" + created(send(wallet, token, fields=diploma_fields()))["id"]
        failures = []
        for label, content_type, body in self.BODIES:
            answer = wallet.client.request(
                method, path, content=body, headers=auth(token) | {"Content-Type": content_type}
            )
            if problem := mismatch(answer, 400, "malformed_request"):
                failures.append(f"{label}: {problem}")
        assert failures == []
        assert len(wallet.get("/documents", token).json()["items"]) == (1 if method == "PUT" else 0)
