"""The citizen's wallet over HTTP (API.md: "The citizen's wallet")."""

from __future__ import annotations

from tests.integration.conftest import Wallet
from tests.integration.wallet_helpers import cccd_fields, diploma_fields, pdf_bytes, png_bytes, upload


class TestCreateDocument:
    def test_paper_with_a_scan_round_trips(self, any_wallet: Wallet) -> None:
        data, tokens = any_wallet.register()
        scan = png_bytes("marker")
        answer = upload(any_wallet, tokens["access_token"], "cccd", cccd_fields(data), [("mat-truoc.png", scan)])
        assert answer.status_code == 201, answer.text
        document = answer.json()
        assert document["type"] == "cccd" and document["source"] == "citizen" and document["version"] == 1
        assert document["status"] == "active" and document["valid_until"] == "2035-03-02"
        assert document["fields"]["number"] == data["national_id"]
        [file] = document["files"]
        assert file["content_type"] == "image/png" and file["size"] == len(scan)
        got = any_wallet.get(f"/documents/{document['id']}/files/{file['id']}", tokens["access_token"])
        assert got.status_code == 200
        assert got.content == scan
        assert got.headers["content-type"].startswith("image/png")
        assert "mat-truoc.png" in got.headers["content-disposition"]

    def test_list_get_versions_delete(self, wallet: Wallet) -> None:
        data, tokens = wallet.register()
        token = tokens["access_token"]
        first = upload(wallet, token, "diploma", diploma_fields(), [("bang.pdf", pdf_bytes("x"))]).json()
        upload(wallet, token, "cccd", cccd_fields(data))
        listing = wallet.get("/documents?type=diploma", token).json()
        assert [d["id"] for d in listing["items"]] == [first["id"]] and listing["next_cursor"] is None
        updated = upload(
            wallet, token, "diploma", diploma_fields(classification="Xuất sắc"), method="PUT", document_id=first["id"]
        )
        assert updated.status_code == 200, updated.text
        assert updated.json()["version"] == 2 and updated.json()["files"] == first["files"]
        versions = wallet.get(f"/documents/{first['id']}/versions", token).json()["items"]
        assert [(v["version"], v["status"]) for v in versions] == [(2, "active"), (1, "superseded")]
        assert wallet.client.delete(f"/api/v1/documents/{first['id']}", headers=_auth(token)).status_code == 204
        assert wallet.get(f"/documents/{first['id']}", token).status_code == 404

    def test_unsupported_file_is_refused(self, wallet: Wallet) -> None:
        _, tokens = wallet.register()
        answer = upload(wallet, tokens["access_token"], "diploma", diploma_fields(), [("a.pdf", b"GIF89a" + b"0" * 64)])
        assert answer.status_code == 415 and answer.json()["code"] == "unsupported_file_type"
        assert wallet.get("/documents", tokens["access_token"]).json()["items"] == []


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
