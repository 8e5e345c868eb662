"""The citizen's papers in a real browser (UI.md: "Papers"): the list with each paper's status, adding a paper with a
photo or scan (also without JavaScript), its page with the fields by label, the scan that opens, the source and, for a
signed paper, the verification QR; new versions; deletion behind a confirmation; errors with the summary; the upload's
CSRF check before anything is stored; papers held until level 2."""

from __future__ import annotations

import io
import json
import os
import re
import secrets
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import zxingcpp
from PIL import Image
from playwright.sync_api import Browser, BrowserContext, Page, expect

from tests.factories import make_phone
from tests.web.conftest import Person, check_page, new_context, registered, signed_in
from tests.web.server import WebServer

OFFICER_PIN = "135790"
CCCD_DETAILS = {  # what the citizen reads off the card (the account knows the rest)
    "Quê quán": "Xã Hòa Phong, huyện Hòa Vang, Đà Nẵng",
    "Nơi thường trú": "12 Lê Lợi, phường Hải Châu, Đà Nẵng",
    "Ngày cấp": "15/04/2021",
    "Có giá trị đến": "02/03/2035",
    "Cơ quan cấp": "Cục Cảnh sát quản lý hành chính về trật tự xã hội",
}


def png(color: str = "navy") -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (24, 16), color).save(out, format="PNG")
    return out.getvalue()


def h1(page: Page) -> Any:
    return expect(page.get_by_role("heading", level=1))


def stored_blobs(web: WebServer) -> list[Path]:
    return sorted(path for path in (web.data_dir / "blobs").rglob("*") if path.is_file())


def api_papers(web: WebServer, person: Person) -> list[dict[str, Any]]:
    with web.api() as api:
        answer = api.get("/documents", headers={"Authorization": f"Bearer {person.token}"})
    assert answer.status_code == 200, answer.text
    return list(answer.json()["items"])


def choose_type(page: Page, name: str, *, english: bool = False) -> None:
    page.goto("/papers")
    page.get_by_role("link", name="Add a paper" if english else "Thêm giấy tờ").click()
    page.get_by_label("Type of paper" if english else "Loại giấy tờ").select_option(label=name)
    page.get_by_role("button", name="Continue" if english else "Tiếp tục").click()


def field(page: Page, label: str) -> Any:
    """A control by its label, whether or not the label adds "(không bắt buộc)"."""
    return page.get_by_label(re.compile(rf"^{re.escape(label)}( \(không bắt buộc\))?$"))


def fill_cccd(page: Page, details: dict[str, str] = CCCD_DETAILS) -> None:
    for label, value in details.items():
        field(page, label).fill(value)


def attach(page: Page, data: bytes, *, name: str = "cccd-mat-truoc.png", mime: str = "image/png") -> None:
    page.get_by_label("Ảnh hoặc bản quét").set_input_files({"name": name, "mimeType": mime, "buffer": data})


def add_cccd_through_the_pages(page: Page, scan: bytes) -> None:
    choose_type(page, "Căn cước công dân")
    h1(page).to_have_text("Thêm: Căn cước công dân")
    fill_cccd(page)
    attach(page, scan)
    page.get_by_role("button", name="Lưu").click()
    h1(page).to_have_text("Căn cước công dân")


def detail(page: Page, label: str) -> Any:
    """The value beside a label in the paper's summary list."""
    return page.locator(".summary-row").filter(has=page.get_by_text(label, exact=True)).locator("dd")


def check_the_scan_opens(page: Page, context: BrowserContext, scan: bytes) -> None:
    """The scan's link opens it: the same bytes, its own type, shown in place and never cached."""
    href = page.get_by_role("link", name="cccd-mat-truoc.png").get_attribute("href")
    assert href is not None
    opened = context.request.get(href)
    assert opened.status == 200
    assert opened.headers["content-type"] == "image/png"
    assert opened.headers["content-disposition"].startswith("inline")
    assert "cccd-mat-truoc.png" in opened.headers["content-disposition"]
    assert opened.headers["cache-control"] == "no-store"
    assert opened.body() == scan


def add_a_version_without_a_new_scan(page: Page) -> None:
    """From the paper's page: the form prefilled, one answer changed, no file given (the old scan stays)."""
    page.get_by_role("link", name="Cập nhật").click()
    h1(page).to_have_text("Cập nhật: Căn cước công dân")
    expect(page.get_by_label("Quê quán")).to_have_value(CCCD_DETAILS["Quê quán"])
    expect(page.get_by_label("Ngày cấp")).to_have_value("15/04/2021")
    expect(page.get_by_role("radio", name="Nam", exact=True)).to_be_checked()
    check_page(page, "paper-update")
    page.get_by_label("Nơi thường trú").fill("45 Trần Phú, phường Hải Châu, Đà Nẵng")
    page.get_by_role("button", name="Lưu").click()
    h1(page).to_have_text("Căn cước công dân")
    expect(page.get_by_role("status")).to_contain_text("Đã lưu phiên bản mới")
    expect(detail(page, "Nơi thường trú")).to_have_text("45 Trần Phú, phường Hải Châu, Đà Nẵng")
    expect(page.get_by_role("link", name="cccd-mat-truoc.png")).to_be_visible()
    versions = page.get_by_role("list").filter(has_text="Phiên bản 1")
    expect(versions).to_contain_text(re.compile(r"Phiên bản 2, lưu lúc \d\d/\d\d/\d{4} \d\d:\d\d \(hiện tại\)"))


def delete_with_confirmation(page: Page, web: WebServer, person: Person) -> None:
    """Deleting asks first and says what is lost, then goes back to the list with a notice."""
    page.get_by_role("link", name="Xóa giấy tờ").click()
    h1(page).to_have_text("Xóa giấy tờ này?")
    expect(page.get_by_text("không thể khôi phục")).to_be_visible()
    check_page(page, "paper-delete")
    blobs_before = stored_blobs(web)
    page.get_by_role("button", name="Xác nhận").click()
    h1(page).to_have_text("Giấy tờ")
    expect(page.get_by_role("status")).to_contain_text("Đã xóa giấy tờ")
    expect(page.get_by_role("heading", name="Căn cước công dân")).to_have_count(0)
    assert api_papers(web, person) == []
    assert len(stored_blobs(web)) < len(blobs_before)  # the scan's ciphertext went too


def cccd_fields(person: Person) -> dict[str, Any]:
    return {
        "number": person.national_id,
        "full_name": person.data["full_name"],
        "date_of_birth": person.data["date_of_birth"],
        "sex": "nam",
        "nationality": "Việt Nam",
        "place_of_origin": "Đà Nẵng",
        "place_of_residence": "12 Lê Lợi, Đà Nẵng",
        "issue_date": "2021-04-15",
        "expiry_date": "2035-03-02",
        "issued_by": "Cục Cảnh sát QLHC về TTXH",
    }


def upload_through_the_api(web: WebServer, person: Person, type_code: str, fields: dict[str, Any]) -> str:
    with web.api() as api:
        answer = api.post(
            "/documents",
            data={"type": type_code, "fields": json.dumps(fields)},
            files={"file": ("scan.png", png(), "image/png")},
            headers={"Authorization": f"Bearer {person.token}"},
        )
    assert answer.status_code == 201, answer.text
    return str(answer.json()["id"])


def submitted_dossier(web: WebServer, person: Person, procedure: str) -> str:
    """A dossier started, completed with a value for each missing field, and submitted; its code."""
    auth = {"Authorization": f"Bearer {person.token}"}
    with web.api() as api:
        fields = {f["name"]: f for f in api.get(f"/procedures/{procedure}").json()["fields"]}
        started = api.post("/applications", json={"procedure_code": procedure}, headers=auth)
        assert started.status_code == 201, started.text
        application = started.json()
        samples = {"string": "Giá trị bổ sung", "date": "2026-01-05", "int": 1}
        values: dict[str, Any] = {}
        for name in application["missing_fields"]:
            choices = fields[name].get("choices") or []
            kind = fields[name]["type"]
            values[name] = choices[0] if kind == "enum" else choices[:1] if kind == "list" else samples[kind]
        if values:
            patched = api.patch(f"/applications/{application['id']}", json={"fields": values}, headers=auth)
            assert patched.status_code == 200, patched.text
        done = api.post(f"/applications/{application['id']}/submit", headers=auth)
        assert done.status_code == 200, done.text
    return str(done.json()["dossier_code"])


# -- agencies, officers and signed papers ----------------------------------------------------------------------------
def congdanso(web: WebServer, *args: str) -> dict[str, Any]:
    """The operator's CLI on the server's own data directory (as bench/qr.py does)."""
    cli = Path(sys.executable).with_name("congdanso")
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin")} | web.env
    done = subprocess.run([str(cli), *args], env=env, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    answer: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return answer


class Agency:
    """An issuing agency with a counter officer, both made with the CLI."""

    def __init__(self, web: WebServer) -> None:
        self.web = web
        self.code, self.name = f"STP-WEB-{secrets.token_hex(3)}", "Sở Tư pháp thành phố Đà Nẵng"
        creds = congdanso(
            web, "agency", "create", "--code", self.code, "--name", self.name, "--scopes", "documents:issue", "--json"
        )
        phone = make_phone()
        officer = ["--phone", phone, "--name", "Trần Thị Bích", "--agency", self.code, "--pin", OFFICER_PIN]
        congdanso(web, "officer", "create", *officer, "--json")
        with web.api() as api:
            form = {"grant_type": "client_credentials", "scope": "documents:issue"} | creds
            token = api.post("/oauth/token", data=form)
            assert token.status_code == 200, token.text
            self.token = str(token.json()["access_token"])
            challenge = api.post("/auth/login", json={"phone": phone, "pin": OFFICER_PIN})
            assert challenge.status_code == 202, challenge.text
            verify = {"challenge_id": challenge.json()["challenge_id"], "code": web.code_for(phone)}
            tokens = api.post("/auth/otp/verify", json=verify)
            assert tokens.status_code == 200, tokens.text
            self.officer = str(tokens.json()["access_token"])

    def proof(self, person: Person) -> None:
        """The counter: the officer scans the citizen's QR and confirms the card (identity level 2)."""
        with self.web.api() as api:
            qr = api.get("/me/qr", headers={"Authorization": f"Bearer {person.token}"})
            assert qr.status_code == 200, qr.text
            officer = {"Authorization": f"Bearer {self.officer}"}
            scan = api.post("/verify/qr", json={"token": qr.json()["token"]}, headers=officer)
            assert scan.status_code == 200 and scan.json()["valid"], scan.text
            proofing = api.post(
                "/identity/proofings", json={"presence_id": scan.json()["presence_id"]}, headers=officer
            )
            assert proofing.status_code == 201, proofing.text

    def issue(self, person: Person) -> str:
        """A criminal record certificate no. 1, signed, pushed into the citizen's wallet."""
        fields = {
            "full_name": person.data["full_name"],
            "date_of_birth": person.data["date_of_birth"],
            "national_id": person.national_id,
            "form": "1",
            "content": "Không có án tích.",
            "issue_date": "2026-01-10",
            "issued_by": self.name,
        }
        body = {"national_id": person.national_id, "type": "criminal_record", "fields": fields}
        with self.web.api() as api:
            answer = api.post("/issuer/documents", json=body, headers={"Authorization": f"Bearer {self.token}"})
        assert answer.status_code == 201, answer.text
        return str(answer.json()["id"])


@pytest.fixture(scope="module")
def agency(web: WebServer) -> Agency:
    return Agency(web)


# -- the core flow ---------------------------------------------------------------------------------------------------
class TestAddOpenUpdateDelete:
    def test_a_cccd_with_its_scan_from_adding_to_deleting(
        self, page: Page, context: BrowserContext, web: WebServer
    ) -> None:
        person = registered(web)
        signed_in(context, web, person)
        scan = png()
        page.goto("/papers")
        check_page(page, "papers-empty")
        page.get_by_role("link", name="Thêm giấy tờ").click()
        h1(page).to_have_text("Thêm giấy tờ")
        check_page(page, "papers-choose")
        options = page.get_by_label("Loại giấy tờ").locator("option")
        expect(options).to_contain_text(["Căn cước công dân", "Hộ chiếu phổ thông", "Giấy phép lái xe"])
        page.get_by_label("Loại giấy tờ").select_option(label="Căn cước công dân")
        page.get_by_role("button", name="Tiếp tục").click()

        # The type's own form, with what the account already knows filled in.
        h1(page).to_have_text("Thêm: Căn cước công dân")
        expect(page.get_by_label("Số định danh cá nhân")).to_have_value(person.national_id)
        expect(page.get_by_label("Họ và tên")).to_have_value(person.data["full_name"])
        expect(page.get_by_label("Ngày sinh")).to_have_value("02/03/1995")
        expect(page.get_by_role("radio", name="Nam", exact=True)).to_be_checked()
        expect(page.get_by_label(re.compile(r"^Có giá trị đến"))).to_be_visible()
        expect(page.get_by_text("(không bắt buộc)").first).to_be_visible()  # the expiry date: some cards have none
        scan_input = page.get_by_label("Ảnh hoặc bản quét")
        expect(scan_input).to_have_attribute("capture", "environment")  # a phone offers its camera
        expect(scan_input).to_have_attribute("accept", "image/*,application/pdf")
        check_page(page, "papers-add-cccd")
        fill_cccd(page)
        attach(page, scan)
        page.get_by_role("button", name="Lưu").click()

        # Its page: every field by its label, the choice by its label, dates as people write them.
        h1(page).to_have_text("Căn cước công dân")
        expect(page.get_by_role("status")).to_contain_text("Đã lưu giấy tờ")
        expect(detail(page, "Giới tính")).to_have_text("Nam")
        expect(detail(page, "Ngày sinh")).to_have_text("02/03/1995")
        expect(detail(page, "Nơi thường trú")).to_have_text(CCCD_DETAILS["Nơi thường trú"])
        expect(detail(page, "Nguồn")).to_have_text("Do bạn tải lên")
        expect(detail(page, "Trạng thái")).to_have_text("Còn hiệu lực")
        expect(detail(page, "Hiệu lực đến")).to_have_text("02/03/2035")
        check_page(page, "paper")

        check_the_scan_opens(page, context, scan)

        # Listed with its status and expiry.
        page.get_by_role("link", name="Quay lại danh sách giấy tờ").click()
        card = page.get_by_role("listitem").filter(has=page.get_by_role("heading", name="Căn cước công dân"))
        expect(card).to_contain_text("Còn hiệu lực")
        expect(card).to_contain_text("02/03/2035")
        check_page(page, "papers-list")
        card.get_by_role("link", name="Căn cước công dân").click()
        add_a_version_without_a_new_scan(page)
        delete_with_confirmation(page, web, person)

    def test_adding_a_paper_with_a_scan_works_without_javascript(self, browser: Browser, web: WebServer) -> None:
        person = registered(web)
        context = new_context(browser, web, javascript=False)
        try:
            signed_in(context, web, person)
            page = context.new_page()
            scan = png("darkred")
            add_cccd_through_the_pages(page, scan)
            expect(detail(page, "Giới tính")).to_have_text("Nam")
            href = page.get_by_role("link", name="cccd-mat-truoc.png").get_attribute("href")
            assert href is not None
            assert context.request.get(href).body() == scan
            page.get_by_role("link", name="Quay lại danh sách giấy tờ").click()
            expect(page.get_by_role("heading", name="Căn cước công dân")).to_be_visible()
        finally:
            context.close()


class TestErrors:
    def test_a_wrong_file_type_then_a_bad_date_keep_what_was_typed(
        self, page: Page, context: BrowserContext, web: WebServer
    ) -> None:
        person = registered(web)
        signed_in(context, web, person)
        blobs_before = stored_blobs(web)
        choose_type(page, "Căn cước công dân")
        fill_cccd(page)
        attach(page, b"%!PS-Adobe-3.0 not a photo\n" * 20, name="scan.png")  # named .png, but not one
        page.get_by_role("button", name="Lưu").click()
        expect(page).to_have_title(re.compile(r"^Lỗi: "))
        summary = page.get_by_role("alert")
        expect(summary).to_contain_text("Có lỗi cần sửa")
        expect(summary).to_be_focused()
        summary.get_by_role("link", name=re.compile("PDF, JPEG, PNG, WebP hoặc HEIC")).click()
        expect(page.get_by_label("Ảnh hoặc bản quét")).to_be_focused()
        expect(page.get_by_text("Hãy chọn lại tệp")).to_be_visible()
        expect(page.get_by_label("Quê quán")).to_have_value(CCCD_DETAILS["Quê quán"])
        expect(page.get_by_label("Ngày cấp")).to_have_value("15/04/2021")
        check_page(page, "papers-add-errors")

        page.get_by_label("Ngày cấp").fill("31/02/2021")
        attach(page, png())
        page.get_by_role("button", name="Lưu").click()
        summary = page.get_by_role("alert")
        summary.get_by_role("link", name="Nhập một ngày có thật, ví dụ 02/03/1995").click()
        expect(page.get_by_label("Ngày cấp")).to_be_focused()
        expect(page.get_by_label("Ngày cấp")).to_have_value("31/02/2021")
        expect(page.get_by_label("Nơi thường trú")).to_have_value(CCCD_DETAILS["Nơi thường trú"])
        assert api_papers(web, person) == []
        assert stored_blobs(web) == blobs_before  # the refused scans were discarded

    def test_a_missing_answer_and_someone_elses_id_number_are_named(
        self, page: Page, context: BrowserContext, web: WebServer
    ) -> None:
        person = registered(web)
        signed_in(context, web, person)
        choose_type(page, "Căn cước công dân")
        fill_cccd(page, CCCD_DETAILS | {"Cơ quan cấp": ""})
        page.get_by_label("Số định danh cá nhân").fill(registered(web).national_id)
        page.get_by_role("button", name="Lưu").click()
        summary = page.get_by_role("alert")
        expect(summary.get_by_role("link")).to_have_text(["Nhập số CCCD của chính bạn", "Nhập cơ quan cấp"])
        expect(page.locator("#issued_by-error")).to_contain_text("Nhập cơ quan cấp")

    def test_someone_elses_paper_and_scan_are_not_found(
        self, page: Page, context: BrowserContext, web: WebServer
    ) -> None:
        owner = registered(web)
        paper = upload_through_the_api(web, owner, "cccd", cccd_fields(owner))
        file_id = api_papers(web, owner)[0]["files"][0]["id"]
        signed_in(context, web, registered(web))
        for path in (f"/papers/{paper}", f"/papers/{paper}/files/{file_id}", f"/papers/{paper}/update"):
            answer = page.goto(path)
            assert answer is not None and answer.status == 404, path
            h1(page).to_have_text("Không tìm thấy trang")

    def test_an_upload_without_its_csrf_token_is_refused_and_stores_nothing(
        self, page: Page, context: BrowserContext, web: WebServer
    ) -> None:
        person = registered(web)
        signed_in(context, web, person)
        page.goto("/papers/add/cccd")  # the browser now holds its CSRF cookie
        cookie = next(c["value"] for c in context.cookies() if c["name"] == "cds_csrf")
        blobs_before = stored_blobs(web)
        fields = {"number": person.national_id, "full_name": "Nguyễn Văn An", "date_of_birth": "02/03/1995"}
        scan = {"name": "scan.png", "mimeType": "image/png", "buffer": png()}
        for form in (
            fields | {"file": scan},  # no token
            {"_csrf_token": "0" * 128} | fields | {"file": scan},  # a forged one
            fields | {"file": scan, "_csrf_token": cookie},  # a real one, but after the file
        ):
            answer = context.request.post(f"{web.base_url}/papers/add/cccd", multipart=form)
            assert answer.status == 403, answer.text()
            page.set_content(answer.text())
            h1(page).to_have_text("Bạn không thể thực hiện thao tác này")
        assert stored_blobs(web) == blobs_before
        assert api_papers(web, person) == []
        # The same request with its token first is taken (the refusals above were the token's alone).
        answer = context.request.post(
            f"{web.base_url}/papers/add/cccd", multipart={"_csrf_token": cookie} | fields | {"file": scan}
        )
        assert answer.status == 422  # the card's other details are missing: the form again, nothing stored
        assert stored_blobs(web) == blobs_before


# -- signed papers, held papers --------------------------------------------------------------------------------------
class TestSignedPapers:
    def test_an_agencys_paper_waits_for_level_2_then_shows_its_source_and_qr(
        self, page: Page, context: BrowserContext, web: WebServer, agency: Agency
    ) -> None:
        person = registered(web)
        signed_in(context, web, person)
        agency.issue(person)
        page.goto("/papers")
        held = page.get_by_text("Có 1 giấy tờ cơ quan cấp cho bạn đang chờ")
        expect(held).to_be_visible()
        expect(page.get_by_role("link", name="xác nhận danh tính ở trang Tài khoản")).to_have_attribute(
            "href", "/account"
        )
        expect(page.get_by_role("heading", name="Phiếu lý lịch tư pháp")).to_have_count(0)
        check_page(page, "papers-held")

        agency.proof(person)
        page.goto("/papers")
        expect(held).to_have_count(0)
        card = page.get_by_role("listitem").filter(has=page.get_by_role("heading", name="Phiếu lý lịch tư pháp"))
        expect(card).to_contain_text(f"Do {agency.name} cấp")
        card.get_by_role("link", name="Phiếu lý lịch tư pháp").click()
        h1(page).to_have_text("Phiếu lý lịch tư pháp")
        expect(detail(page, "Nguồn")).to_have_text(f"Do {agency.name} cấp")
        expect(detail(page, "Loại phiếu")).to_have_text("Phiếu lý lịch tư pháp số 1")
        qr = page.get_by_role("img", name="Mã QR xác thực giấy tờ này")
        expect(qr).to_be_visible()
        assert (qr.get_attribute("src") or "").startswith("data:image/svg+xml")
        verify = page.get_by_role("link", name="Mở trang xác thực công khai")
        expect(verify).to_have_attribute("href", re.compile(r"/api/v1/verify/documents\?token="))
        found = zxingcpp.read_barcodes(Image.open(io.BytesIO(qr.screenshot())))
        assert [code.text for code in found] == [verify.get_attribute("href")]  # a camera reads the same address
        expect(page.get_by_role("link", name="Cập nhật")).to_have_count(0)
        check_page(page, "paper-signed")

        # Its update route refuses, and says why.
        paper_url = page.url.split("?")[0]
        page.goto(f"{paper_url}/update")
        h1(page).to_have_text("Giấy tờ này không thể sửa")
        check_page(page, "paper-readonly")
        token = next(c["value"] for c in context.cookies() if c["name"] == "cds_csrf")
        answer = context.request.post(f"{paper_url}/update", multipart={"_csrf_token": token, "content": "Sửa"})
        assert answer.status == 409
        assert agency.name in answer.text()


class TestPapersInUse:
    def test_a_paper_an_open_dossier_relies_on_is_kept_and_the_page_says_which(
        self, page: Page, context: BrowserContext, web: WebServer, agency: Agency
    ) -> None:
        person = registered(web)
        agency.proof(person)
        paper = upload_through_the_api(web, person, "cccd", cccd_fields(person))
        dossier_code = submitted_dossier(web, person, "passport_issue")
        signed_in(context, web, person)
        page.goto(f"/papers/{paper}/delete")
        page.get_by_role("button", name="Xác nhận").click()
        h1(page).to_have_text("Chưa thể xóa giấy tờ này")
        expect(page.get_by_role("alert")).to_contain_text(f"mã hồ sơ: {dossier_code}")
        check_page(page, "paper-in-use")
        assert [p["id"] for p in api_papers(web, person)] == [paper]


# -- every page in English -------------------------------------------------------------------------------------------
class TestInEnglish:
    def test_every_page_in_english(self, page: Page, context: BrowserContext, web: WebServer, agency: Agency) -> None:
        person = registered(web)
        signed_in(context, web, person)
        agency.issue(person)
        page.goto("/papers?lang=en")
        expect(page.get_by_text("1 paper an agency issued to you is waiting")).to_be_visible()
        check_page(page, "papers-held")
        page.get_by_role("link", name="Add a paper").click()
        page.get_by_role("button", name="Continue").click()  # no type chosen
        expect(page).to_have_title(re.compile(r"^Error: "))
        expect(page.get_by_role("alert")).to_contain_text("Choose the type of paper")
        check_page(page, "papers-choose-errors")
        page.get_by_label("Type of paper").select_option(label="Citizen identity card")
        page.get_by_role("button", name="Continue").click()
        h1(page).to_have_text("Add: Citizen identity card")
        expect(page.get_by_role("radio", name="Male", exact=True)).to_be_checked()
        check_page(page, "papers-add-cccd")
        page.get_by_role("button", name="Save").click()  # the card's own details still missing
        expect(page.get_by_role("alert")).to_contain_text("There is a problem")
        expect(page.get_by_role("alert").get_by_role("link").first).to_have_text("Enter “Place of origin”")
        check_page(page, "papers-add-errors")

        agency.proof(person)
        paper = upload_through_the_api(web, person, "cccd", cccd_fields(person))
        page.goto("/papers")
        check_page(page, "papers-list")
        page.goto(f"/papers/{paper}")
        expect(detail(page, "Sex")).to_have_text("Male")
        expect(detail(page, "Source")).to_have_text("Added by you")
        check_page(page, "paper")
        page.get_by_role("link", name="Update").click()
        check_page(page, "paper-update")
        page.goto(f"/papers/{paper}/delete")
        expect(page.get_by_text("cannot be recovered")).to_be_visible()
        check_page(page, "paper-delete")
        page.goto("/papers")
        page.get_by_role("link", name="Criminal record certificate").click()
        expect(detail(page, "Source")).to_have_text(f"Issued by {agency.name}")
        expect(detail(page, "Form")).to_have_text("Criminal record certificate no. 1")
        expect(page.get_by_role("img", name="Verification QR code of this paper")).to_be_visible()
        check_page(page, "paper-signed")
        page.goto(page.url.split("?")[0] + "/update")
        h1(page).to_have_text("This paper cannot be changed")
        check_page(page, "paper-readonly")
