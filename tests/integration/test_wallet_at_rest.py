"""Nothing personal lies at rest in clear: after a citizen registers, logs in and stores papers with scans, no byte of
the data dir (databases with their -wal/-shm, key store, throttle, blobs), no row of the PostgreSQL database and no
object of the S3 bucket holds the citizen's name, phone, e-mail, national ID, a paper's fields, a file name or the
scan's content, in any usual encoding."""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, inspect, text

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

FULL_NAME = "Nguyễn Markerzq Thị"
PHONE = "0397531864"  # stored as +84397531864
EMAIL = "marker-mail-4e8b@example.vn"
ADDRESS = "Số 12 MARKER-ADDR-7f3a, Hải Châu, Đà Nẵng"
ORIGIN = "Làng MARKER-ORIG-c3b9, Quảng Nam"
SCAN = "MARKER-SCAN-91c2"
FILENAME = "giay-MARKERFN-5d1e.png"
MAJOR = "Ngành MARKER-MAJOR-0d7e"
PDF_BODY = "MARKER-PDF-a61f"


def forms(secret: str) -> set[bytes]:
    """The byte forms a string could take at rest: UTF-8 (NFC and NFD), UTF-16 both ways, Latin-1, and the hex
    of each (a bytea column's text form); upper and lower case alike."""
    out: set[bytes] = set()
    for variant in {secret, secret.lower(), secret.upper()}:
        for text_form in {unicodedata.normalize("NFC", variant), unicodedata.normalize("NFD", variant)}:
            for encoding in ("utf-8", "utf-16-le", "utf-16-be", "latin-1"):
                try:
                    raw = text_form.encode(encoding)
                except UnicodeEncodeError:
                    continue
                out |= {raw, raw.hex().encode(), raw.hex().upper().encode()}
    return out


def markers(data: dict[str, Any]) -> dict[str, set[bytes]]:
    unique_name_part = "Markerzq"
    return {
        "full name": forms(FULL_NAME) | forms(unique_name_part),
        "phone": forms(PHONE[1:]),  # the national digits, whatever the prefix (0…, +84…, 84…)
        "e-mail": forms(EMAIL) | forms("marker-mail-4e8b"),
        "address": forms("MARKER-ADDR-7f3a"),
        "place of origin": forms("MARKER-ORIG-c3b9"),
        "major": forms("MARKER-MAJOR-0d7e"),
        "scan content": forms(SCAN) | forms(PDF_BODY),
        "file name": forms("MARKERFN-5d1e"),
        "national id": forms(data["national_id"]),
    }


def found(content: bytes, secrets: dict[str, set[bytes]]) -> list[str]:
    lowered = content.lower()
    return sorted(
        name for name, variants in secrets.items() if any(v in content or v.lower() in lowered for v in variants)
    )


def _upload(wallet: Wallet, token: str, text_parts: dict[str, Any], files: Iterable[tuple[str, bytes, str]]) -> Any:
    fields = {k: json.dumps(v, ensure_ascii=False) if k == "fields" else v for k, v in text_parts.items()}
    body, content_type = multipart_body(fields, list(files))
    return wallet.client.post("/api/v1/documents", content=body, headers=auth(token) | {"Content-Type": content_type})


@pytest.fixture
def stocked(any_wallet: Wallet) -> tuple[Wallet, dict[str, Any], dict[str, Any]]:
    """A citizen with marked identity, a CCCD with a marked scan and a diploma with a marked PDF; one failed and
    one successful login (so the throttle and the sessions have seen them too)."""
    wallet = any_wallet
    data, tokens = wallet.register(full_name=FULL_NAME, phone=PHONE, email=EMAIL)
    token = tokens["access_token"]
    scan = png_bytes(SCAN)
    fields = cccd_fields(data, place_of_residence=ADDRESS, place_of_origin=ORIGIN)
    answer = _upload(wallet, token, {"type": "cccd", "fields": fields}, [(FILENAME, scan, "image/png")])
    assert answer.status_code == 201, answer.text
    cccd = answer.json()
    diploma = _upload(
        wallet,
        token,
        {"type": "diploma", "fields": diploma_fields(holder_name=FULL_NAME, major=MAJOR)},
        [("bang.pdf", pdf_bytes(PDF_BODY * 3, padding=200_000), "application/pdf")],
    )
    assert diploma.status_code == 201, diploma.text
    wrong = wallet.post("/auth/login", {"national_id": data["national_id"], "pin": "000000"})
    assert wrong.status_code == 401
    assert wallet.login(data["national_id"], data["pin"])["challenge_id"]
    # what was stored is what was sent: the markers really went in
    got = wallet.get(f"/documents/{cccd['id']}/files/{cccd['files'][0]['id']}", token)
    assert got.status_code == 200 and got.content == scan and SCAN.encode() in got.content
    assert cccd["files"][0]["filename"] == FILENAME
    me = wallet.get("/me", token)
    assert me.status_code == 200 and me.json()["full_name"] == FULL_NAME
    return wallet, data, tokens


def data_files(wallet: Wallet) -> dict[str, bytes]:
    root = Path(wallet.settings.data_dir)
    return {path.relative_to(root).as_posix(): path.read_bytes() for path in root.rglob("*") if path.is_file()}


def postgres_rows(url: str) -> list[str]:
    """Every row of every table, as PostgreSQL renders it in text (bytea as hex)."""
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            dump = []
            for table in inspect(connection).get_table_names():
                query = text(f'SELECT CAST(t AS text) FROM "{table}" AS t')  # noqa: S608 - names from the catalog
                rows = connection.execute(query).scalars()
                dump += [f"{table}: {row}" for row in rows]
    finally:
        engine.dispose()
    return dump


def bucket_objects(request: pytest.FixtureRequest, storage_url: str) -> dict[str, bytes]:
    """Every object of the bucket, read with the S3 server's own client."""
    client = request.getfixturevalue("seaweed").client()
    bucket = storage_url.removeprefix("s3://").split("?", 1)[0]
    objects = {}
    for obj in client.list_objects(bucket, recursive=True):
        response = client.get_object(bucket, obj.object_name)
        try:
            objects[obj.object_name] = response.read()
        finally:
            response.close()
            response.release_conn()
    return objects


class TestNothingPersonalAtRest:
    def test_no_file_row_or_object_holds_personal_data_in_clear(
        self, stocked: tuple[Wallet, dict[str, Any], dict[str, Any]], request: pytest.FixtureRequest
    ) -> None:
        wallet, data, tokens = stocked
        secrets = markers(data)
        citizen_id = tokens["citizen_id"].encode()
        leaks: dict[str, list[str]] = {}

        # 1. every file of the data dir (databases and their -wal/-shm, key store, throttle, keyring, blobs)
        files = data_files(wallet)
        outbox = files.pop("outbox.jsonl", b"")  # the dev SMS log: it addresses the phone, by design
        database_url = wallet.settings.resolved_database_url
        assert "keys/citizen_keys.db" in files
        if database_url.startswith("sqlite"):
            assert "throttle.db" in files
            # the main database may live outside the data dir (it does in these tests): its file, -wal and -shm
            main = Path(database_url.removeprefix("sqlite:///"))
            main_files = {f"main {p.name}": p.read_bytes() for p in main.parent.glob(main.name + "*") if p.is_file()}
            assert f"main {main.name}" in main_files and f"main {main.name}-wal" in main_files
            # the search looks where the rows are: the citizen's id is stored as is
            assert citizen_id in b"".join(main_files.values())
            files |= main_files
        leaks |= {f"file {name}": hits for name, content in sorted(files.items()) if (hits := found(content, secrets))}
        document_secrets = {k: secrets[k] for k in ("scan content", "address", "place of origin", "major", "file name")}
        if hits := found(outbox, document_secrets):
            leaks["file outbox.jsonl"] = hits
        assert found(outbox, {"phone": secrets["phone"]}) == ["phone"]  # the search finds what is there

        # 2. PostgreSQL: its files are not ours to read, its rows are
        if not database_url.startswith("sqlite"):
            dump = postgres_rows(database_url)
            assert citizen_id in "\n".join(dump).encode()  # the dump is of the right database
            for line in dump:
                if hits := found(line.encode(), secrets):
                    leaks[f"row {line[:60]}…"] = hits

        # 3. the blob store: exactly the two sealed scans, under keys that name no file
        storage_url = wallet.settings.storage_url
        objects = bucket_objects(request, storage_url) if storage_url else stored_objects(wallet)
        assert len(objects) == 2
        for key, content in objects.items():
            assert key.startswith(f"c/{tokens['citizen_id']}/"), key
            assert not content.startswith((b"\x89PNG", b"%PDF")) and b"IHDR" not in content and b"%%EOF" not in content
            if hits := found(content, secrets) + found(key.encode(), secrets):
                leaks[f"object {key}"] = hits

        assert leaks == {}
