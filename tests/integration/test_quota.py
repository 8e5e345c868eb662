"""The per-citizen storage quota is a reservation: concurrent uploads cannot pass it together, and whatever an upload
reserved comes back when it fails or its paper is deleted."""

from __future__ import annotations

import json
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from sqlalchemy import text

from tests.integration.conftest import Wallet
from tests.integration.wallet_helpers import auth, diploma_fields, pdf_bytes

MIB = 1024 * 1024
SCAN = 300 * 1024  # four of these do not fit in 1 MiB; three do


def usage(wallet: Wallet, citizen_id: str) -> tuple[int, int]:
    """(the usage row, the bytes the stored files really hold)."""
    with wallet.app.state.container.engine.connect() as connection:
        row = connection.execute(
            text("SELECT stored_bytes FROM citizen_usage WHERE citizen_id = :c"), {"c": citizen_id}
        ).scalar_one_or_none()
        files = connection.execute(
            text("SELECT COALESCE(SUM(stored_size), 0) FROM document_file WHERE citizen_id = :c"), {"c": citizen_id}
        ).scalar_one()
    return int(row or 0), int(files)


def post_scan(wallet: Wallet, token: str, marker: str, fields: Any = None) -> Any:
    data = {"type": "diploma", "fields": json.dumps(fields or diploma_fields(), ensure_ascii=False)}
    scan = [("file", ("scan.pdf", pdf_bytes(marker, padding=SCAN), "application/pdf"))]
    return wallet.client.post("/api/v1/documents", data=data, files=scan, headers=auth(token))


class TestConcurrentUploads:
    def test_uploads_in_flight_together_never_exceed_the_quota(self, make_wallet: Callable[..., Wallet]) -> None:
        wallet = make_wallet(quota_mb=1, max_file_mb=1)
        _data, tokens = wallet.register()
        token, citizen_id = tokens["access_token"], tokens["citizen_id"]
        with ThreadPoolExecutor(max_workers=8) as pool:
            answers = list(pool.map(lambda i: post_scan(wallet, token, f"m{i}"), range(8)))
        statuses = sorted(a.status_code for a in answers)
        assert statuses.count(201) == 3, statuses  # every scan fits alone; only three fit together
        assert all(a.json()["code"] == "quota_exceeded" for a in answers if a.status_code != 201)
        reserved, stored = usage(wallet, citizen_id)
        assert reserved == stored <= MIB
        assert len(wallet.get("/documents", token).json()["items"]) == 3


class TestReservationsComeBack:
    def test_a_failed_upload_gives_its_reservation_back(self, make_wallet: Callable[..., Wallet]) -> None:
        wallet = make_wallet(quota_mb=1, max_file_mb=1)
        _data, tokens = wallet.register()
        token, citizen_id = tokens["access_token"], tokens["citizen_id"]
        for i in range(5):  # the scan streams in (and reserves) before the fields are found wrong, five times over
            refused = post_scan(wallet, token, f"bad{i}", fields=diploma_fields(issue_date="2017-02-30"))
            assert refused.status_code == 422, refused.text
        assert usage(wallet, citizen_id) == (0, 0)
        for i in range(3):
            assert post_scan(wallet, token, f"ok{i}").status_code == 201

    def test_a_refused_upload_and_a_deleted_paper_give_their_bytes_back(
        self, make_wallet: Callable[..., Wallet]
    ) -> None:
        wallet = make_wallet(quota_mb=1, max_file_mb=1)
        _data, tokens = wallet.register()
        token, citizen_id = tokens["access_token"], tokens["citizen_id"]
        ids = [post_scan(wallet, token, f"a{i}").json()["id"] for i in range(3)]
        full = post_scan(wallet, token, "over")
        assert full.status_code == 413 and full.json()["code"] == "quota_exceeded"
        reserved, stored = usage(wallet, citizen_id)
        assert reserved == stored > 0
        assert wallet.client.delete(f"/api/v1/documents/{ids[0]}", headers=auth(token)).status_code == 204
        assert usage(wallet, citizen_id)[0] == usage(wallet, citizen_id)[1] < stored
        assert post_scan(wallet, token, "again").status_code == 201


class TestDocumentLimit:
    def test_a_citizen_holds_at_most_max_documents_papers(self, make_wallet: Callable[..., Wallet]) -> None:
        wallet = make_wallet(max_documents=2)
        _data, tokens = wallet.register()
        token, citizen_id = tokens["access_token"], tokens["citizen_id"]
        first = post_scan(wallet, token, "one").json()["id"]
        assert post_scan(wallet, token, "two").status_code == 201
        before = usage(wallet, citizen_id)
        refused = post_scan(wallet, token, "three")
        assert refused.status_code == 409, refused.text
        assert refused.headers["content-type"].startswith("application/problem+json")
        assert refused.json()["code"] == "too_many_documents"
        assert usage(wallet, citizen_id) == before  # refused before its scan was stored
        assert wallet.client.delete(f"/api/v1/documents/{first}", headers=auth(token)).status_code == 204
        assert post_scan(wallet, token, "four").status_code == 201

    def test_uploads_in_flight_together_stop_exactly_at_the_limit(self, make_wallet: Callable[..., Wallet]) -> None:
        wallet = make_wallet(max_documents=3)
        _data, tokens = wallet.register()
        token, citizen_id = tokens["access_token"], tokens["citizen_id"]
        with ThreadPoolExecutor(max_workers=8) as pool:
            answers = list(pool.map(lambda i: post_scan(wallet, token, f"n{i}"), range(8)))
        statuses = sorted(a.status_code for a in answers)
        assert statuses == [201] * 3 + [409] * 5, statuses  # each passed the first count; the one at commit decides
        assert all(a.json()["code"] == "too_many_documents" for a in answers if a.status_code != 201)
        with wallet.app.state.container.engine.connect() as connection:
            query = text("SELECT COUNT(*) FROM document WHERE citizen_id = :c")
            assert connection.execute(query, {"c": citizen_id}).scalar_one() == 3
        reserved, stored = usage(wallet, citizen_id)
        assert reserved == stored  # the refused uploads gave their bytes back
