"""Public services in a real browser (UI.md: "Public services"): the procedures, a procedure's page, `Bắt đầu` giving
a form filled from the wallet with each value's source and the issuer-signed ones locked, submission with
`Mã hồ sơ`, the agency asking for more and the citizen resubmitting, the result linked (or held until level 2), the
rating once, deleting a draft, the errors summarised, with and without JavaScript, in Vietnamese and English.

The wallet, the identity proofing and the agencies' side are set up through the API and the `congdanso` CLI, as an
operator and the agencies' systems would."""

from __future__ import annotations

import itertools
import json
import os
import re
import subprocess
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from bench.papers import birth_certificate_fields, cccd_fields, full_wallet, passport_fields, small_pdf
from tests.factories import make_phone
from tests.web.conftest import Person, check_page, new_context, registered, shot, signed_in
from tests.web.server import WebServer

PASSPORT = "passport_issue"
PASSPORT_VI = "Cấp hộ chiếu phổ thông ở trong nước"
PASSPORT_EN = "Issuance of an ordinary passport in Vietnam"
AGENCY = "ca_xnc"  # the agency the passport procedure names
DOSSIER_CODE = re.compile(r"HS-\d{8}-[A-Z0-9]{6}")
EXPIRED_VI = "Cấp lại do hộ chiếu hết hạn hoặc sắp hết hạn"
EXPIRED_EN = "New passport: the old one has expired or is about to"
_codes = itertools.count(1)


# -- the world around the pages: the operator's CLI, agencies, officers, papers ----------------------------------------
def congdanso(web: WebServer, *args: str, check: bool = True) -> dict[str, Any] | None:
    """The operator's CLI on the server's data directory (as bench/qr.py runs it); its JSON answer (None when it
    failed and `check` is off)."""
    cli = Path(sys.executable).with_name("congdanso")
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "WALLET_ENV": "dev", "WALLET_LOG_LEVEL": "warning"}
    env["WALLET_DATA_DIR"] = str(web.data_dir)
    done = subprocess.run(
        [str(cli), *args, "--json"], env=env, capture_output=True, text=True, timeout=120, check=False
    )
    if done.returncode != 0 and not check:
        return None
    assert done.returncode == 0, f"congdanso {' '.join(args)}: {done.stderr}"
    answer: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return answer


def ok(answer: httpx.Response, status: int = 200) -> dict[str, Any]:
    assert answer.status_code == status, answer.text
    return dict(answer.json())


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


PROCESSING = ("applications:process", "documents:issue", "stats:read")


def agency_token(web: WebServer, code: str, *scopes: str) -> str | None:
    """An agency made with the CLI, its token by client credentials (None if the code is taken)."""
    creds = congdanso(
        web, "agency", "create", "--code", code, "--name", f"Cơ quan {code}", "--scopes", *scopes, check=False
    )
    if creds is None:
        return None
    form = {
        "grant_type": "client_credentials",
        "client_id": creds["client_id"],
        "client_secret": creds["client_secret"],
    }
    with web.api() as api:
        return str(ok(api.post("/oauth/token", data=form))["access_token"])


def officer_token(web: WebServer, agency: str) -> str:
    """An officer of `agency` made with the CLI, signed in by phone, PIN and the SMS code."""
    phone, pin = make_phone(), "135790"
    congdanso(web, "officer", "create", "--phone", phone, "--name", "Trần Thị Bích", "--agency", agency, "--pin", pin)
    with web.api() as api:
        challenge = ok(api.post("/auth/login", json={"phone": phone, "pin": pin}), 202)
        verify = {"challenge_id": challenge["challenge_id"], "code": web.code_for(phone)}
        return str(ok(api.post("/auth/otp/verify", json=verify))["access_token"])


@dataclass
class Agencies:
    """The passport office (its token acts on its dossiers), an issuer of ID cards, and a counter's officer."""

    passport_office: str
    issuer: str
    counter: str


@pytest.fixture(scope="module")
def agencies(web: WebServer) -> Agencies:
    # Unique per instance: other modules use this fixture on the same server process too.
    suffix = uuid.uuid4().hex[:10]
    counter_agency = f"web_svc_counter_{suffix}"
    congdanso(web, "agency", "create", "--code", counter_agency, "--name", "Bộ phận một cửa phường Hải Châu")
    issuer = agency_token(web, f"web_svc_issuer_{suffix}", "documents:issue")
    assert issuer is not None
    # Another module on the same server may have made the passport office already: then one of its officers acts.
    office = agency_token(web, AGENCY, *PROCESSING) or officer_token(web, AGENCY)
    # Made by another module with other scopes: the operator grants what working the dossiers needs.
    congdanso(web, "agency", "scopes", "--code", AGENCY, "--add", *PROCESSING)
    return Agencies(passport_office=office, issuer=issuer, counter=officer_token(web, counter_agency))


def proofed(web: WebServer, person: Person, agencies: Agencies) -> None:
    """Level 2: the counter officer scans the citizen's QR and confirms the physical card."""
    with web.api() as api:
        qr = ok(api.get("/me/qr", headers=bearer(person.token)))["token"]
        scan = ok(api.post("/verify/qr", json={"token": qr}, headers=bearer(agencies.counter)))
        proof = {"presence_id": scan["presence_id"]}
        assert ok(api.post("/identity/proofings", json=proof, headers=bearer(agencies.counter)), 201)


def upload(web: WebServer, person: Person, type_code: str, fields: dict[str, Any]) -> str:
    with web.api() as api:
        answer = api.post(
            "/documents",
            data={"type": type_code, "fields": json.dumps(fields, ensure_ascii=False)},
            files=[("file", (f"{type_code}.pdf", small_pdf(type_code), "application/pdf"))],
            headers=bearer(person.token),
        )
    return str(ok(answer, 201)["id"])


def issue(web: WebServer, agencies: Agencies, person: Person, type_code: str, fields: dict[str, Any]) -> str:
    body = {"national_id": person.national_id, "type": type_code, "fields": fields}
    with web.api() as api:
        return str(ok(api.post("/issuer/documents", json=body, headers=bearer(agencies.issuer)), 201)["id"])


def citizen(web: WebServer, agencies: Agencies, *, signed_card: bool = True, level2: bool = True) -> Person:
    """A citizen whose wallet holds every paper the procedures read; the ID card issued by an agency (so its values
    are certified) unless `signed_card` is off."""
    person = registered(web)
    if level2:
        proofed(web, person, agencies)
    for type_code, fields in full_wallet(person.data):
        if type_code == "cccd" and signed_card:
            issue(web, agencies, person, "cccd", fields)
        else:
            upload(web, person, type_code, fields)
    return person


def dossier_of(web: WebServer, person: Person, application_id: str) -> dict[str, Any]:
    with web.api() as api:
        return ok(api.get(f"/applications/{application_id}", headers=bearer(person.token)))


def submitted_by_api(web: WebServer, person: Person) -> str:
    with web.api() as api:
        draft = ok(api.post("/applications", json={"procedure_code": PASSPORT}, headers=bearer(person.token)), 201)
        path = f"/applications/{draft['id']}"
        ok(api.patch(path, json={"fields": {"request_kind": "het_han"}}, headers=bearer(person.token)))
        ok(api.post(f"{path}/submit", headers=bearer(person.token)))
    return str(draft["id"])


def agency_moves(web: WebServer, agencies: Agencies, application_id: str, status: str, note: str | None = None) -> None:
    body = {"status": status} | ({"note": note} if note else {})
    with web.api() as api:
        path = f"/agency/applications/{application_id}/status"
        ok(api.post(path, json=body, headers=bearer(agencies.passport_office)))


def agency_result(web: WebServer, agencies: Agencies, application_id: str) -> str:
    fields = {
        "title": "Quyết định cấp hộ chiếu phổ thông",
        "decision_number": "45/QĐ-XNC",
        "issue_date": "2026-11-24",
        "issued_by": "Phòng Quản lý xuất nhập cảnh",
        "summary": "Cấp hộ chiếu phổ thông cho công dân",
    }
    with web.api() as api:
        path = f"/agency/applications/{application_id}/result"
        return str(ok(api.post(path, json={"fields": fields}, headers=bearer(agencies.passport_office)), 201)["id"])


@pytest.fixture
def person_page(context: BrowserContext, web: WebServer, agencies: Agencies) -> tuple[Person, Page]:
    """A citizen with a full wallet whose ID card an agency issued, signed in on a page."""
    person = citizen(web, agencies)
    signed_in(context, web, person)
    return person, context.new_page()


def application_id_of(page: Page) -> str:
    expect(page).to_have_url(re.compile(r"/applications/[^/?#]+"))  # a boosted navigation updates it when done
    match = re.search(r"/applications/([^/?#]+)", page.url)
    assert match, page.url
    return match.group(1)


# -- the steps of the main flow ----------------------------------------------------------------------------------------
def open_the_procedure_from_the_navigation(page: Page) -> None:
    page.goto("/papers")
    page.get_by_role("navigation").get_by_role("link", name="Dịch vụ công").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Dịch vụ công")
    expect(page.get_by_role("link", name="Dịch vụ công")).to_have_attribute("aria-current", "page")
    check_page(page, "services-list")
    page.get_by_role("link", name=PASSPORT_VI, exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(PASSPORT_VI)
    expect(page.get_by_text("Phòng Quản lý xuất nhập cảnh - Công an tỉnh, thành phố")).to_be_visible()
    expect(page.get_by_text("Có trong ví", exact=True)).to_have_count(3)  # ID card, birth certificate, passport
    check_page(page, "services-procedure")


def check_the_prefilled_form(page: Page, person: Person) -> None:
    place = page.get_by_label("Nơi sinh", exact=True)
    expect(place).to_have_value(birth_certificate_fields(person.data)["place_of_birth"])
    expect(place).to_be_editable()
    expect(place).to_have_accessible_description(re.compile("Giấy khai sinh.*do bạn tải lên"))
    name = page.get_by_label("Họ, chữ đệm và tên")
    expect(name).to_have_value(person.data["full_name"])
    expect(name).not_to_be_editable()
    expect(name).to_have_accessible_description(re.compile("Căn cước.*do cơ quan cấp.*không (thể )?sửa"))
    expect(page.get_by_label("Ngày cấp thẻ căn cước")).to_have_value("10/04/2021")  # dd/mm/yyyy
    expect(page.get_by_label("Giới tính")).to_have_value("Nam")  # a locked choice reads as its label
    number = page.get_by_label("Số hộ chiếu phổ thông được cấp lần gần nhất (nếu có)")
    expect(number).to_have_value(passport_fields(person.data)["passport_number"])
    expect(page.get_by_role("group", name="Nội dung đề nghị")).to_have_accessible_description(re.compile("Còn thiếu"))
    check_page(page, "services-form")


def check_the_submitted_dossier(page: Page, web: WebServer, person: Person) -> dict[str, Any]:
    expect(page.get_by_role("status")).to_contain_text("Hồ sơ của bạn đã được nộp")
    code_row = page.get_by_role("definition").filter(has_text=DOSSIER_CODE)
    expect(page.get_by_text("Mã hồ sơ")).to_be_visible()
    expect(code_row).to_have_count(1)
    expect(page.get_by_text("Đã nộp", exact=True).first).to_be_visible()
    expect(page.get_by_text(EXPIRED_VI)).to_be_visible()  # the declared values as labels, not codes
    check_page(page, "services-submitted")
    dossier = dossier_of(web, person, application_id_of(page))
    assert dossier["status"] == "submitted" and dossier["fields"]["request_kind"] == "het_han"
    assert dossier["dossier_code"] in code_row.inner_text()
    return dossier


def amend_what_the_agency_asks(page: Page, web: WebServer, person: Person, application_id: str, note: str) -> None:
    page.goto(f"/applications/{application_id}")
    expect(page.get_by_role("heading", name="Cơ quan yêu cầu bổ sung")).to_be_visible()
    expect(page.get_by_text(note).first).to_be_visible()
    check_page(page, "services-needs-info")
    page.get_by_label("Nơi sinh", exact=True).fill("Bệnh viện Phụ sản – Nhi, thành phố Đà Nẵng")
    page.get_by_role("button", name="Nộp hồ sơ").click()
    expect(page.get_by_role("status")).to_contain_text("đã được nộp")
    expect(page.get_by_role("heading", name="Cơ quan yêu cầu bổ sung")).to_have_count(0)
    history = page.get_by_role("list").filter(has_text="Yêu cầu bổ sung thông tin")
    expect(history).to_contain_text(note)
    expect(history).to_contain_text("Nộp lại hồ sơ")
    assert dossier_of(web, person, application_id)["fields"]["place_of_birth"].endswith("thành phố Đà Nẵng")


def rate_once(page: Page) -> None:
    page.get_by_label("5 – Rất hài lòng").check()
    page.get_by_label("Nhận xét").fill("Nhanh, không phải khai lại.")
    page.get_by_role("button", name="Đánh giá").click()
    expect(page.get_by_role("status")).to_contain_text("Cảm ơn")
    expect(page.get_by_text("5/5")).to_be_visible()
    expect(page.get_by_text("Nhanh, không phải khai lại.")).to_be_visible()
    expect(page.get_by_role("button", name="Đánh giá")).to_have_count(0)  # once
    check_page(page, "services-rated")


# -- the tests -------------------------------------------------------------------------------------------------------
class TestStartAndSubmit:
    def test_a_full_wallet_fills_the_form_and_the_dossier_goes_to_the_agency_and_back(
        self, person_page: tuple[Person, Page], web: WebServer, agencies: Agencies
    ) -> None:
        person, page = person_page
        open_the_procedure_from_the_navigation(page)
        page.get_by_role("button", name="Bắt đầu").click()
        application_id = application_id_of(page)
        check_the_prefilled_form(page, person)
        page.get_by_label(EXPIRED_VI).check()
        page.get_by_role("button", name="Nộp hồ sơ").click()
        dossier = check_the_submitted_dossier(page, web, person)

        note = "Nơi sinh cần ghi rõ tỉnh, thành phố theo giấy khai sinh."
        agency_moves(web, agencies, application_id, "needs_info", note)
        amend_what_the_agency_asks(page, web, person, application_id, note)

        result_id = agency_result(web, agencies, application_id)
        page.goto(f"/applications/{application_id}")
        expect(page.get_by_text("Đã có kết quả", exact=True).first).to_be_visible()
        result = page.get_by_role("link", name=re.compile("Mở kết quả"))
        expect(result).to_have_attribute("href", f"/papers/{result_id}")
        check_page(page, "services-completed")
        rate_once(page)
        assert dossier_of(web, person, application_id)["rating"]["score"] == 5

        page.get_by_role("link", name="Dịch vụ công").first.click()
        mine = page.get_by_role("listitem").filter(has_text=dossier["dossier_code"])
        expect(mine).to_contain_text(PASSPORT_VI)
        expect(mine).to_contain_text("Đã có kết quả")
        check_page(page, "services-list-with-dossiers")

    def test_without_javascript_start_fill_and_submit(
        self, browser: Browser, web: WebServer, agencies: Agencies
    ) -> None:
        person = citizen(web, agencies, signed_card=False)
        context = new_context(browser, web, javascript=False)
        try:
            signed_in(context, web, person)
            page = context.new_page()
            page.goto("/services")
            page.get_by_role("link", name=PASSPORT_VI, exact=True).click()
            page.get_by_role("button", name="Bắt đầu").click()
            name = page.get_by_label("Họ, chữ đệm và tên")
            expect(name).to_be_editable()  # a self-uploaded ID card certifies nothing
            expect(name).to_have_accessible_description(re.compile("Căn cước.*do bạn tải lên"))
            page.get_by_label("Cấp hộ chiếu lần đầu").check()
            page.get_by_label("Nơi thường trú").fill("12 Trần Phú, Hải Châu, Đà Nẵng")
            page.get_by_role("button", name="Nộp hồ sơ").click()
            expect(page.get_by_text(DOSSIER_CODE)).to_be_visible()
            expect(page.get_by_text("Mã hồ sơ")).to_be_visible()
            dossier = dossier_of(web, person, application_id_of(page))
            assert dossier["status"] == "submitted" and dossier["fields"]["request_kind"] == "lan_dau"
            assert dossier["fields"]["permanent_address"] == "12 Trần Phú, Hải Châu, Đà Nẵng"
            shot(page, "services-submitted-no-js")  # axe needs JavaScript
        finally:
            context.close()


class TestErrors:
    def test_submitting_with_a_field_and_a_paper_missing_names_both(self, page: Page, web: WebServer) -> None:
        person = registered(web)
        upload(web, person, "birth_certificate", birth_certificate_fields(person.data))
        signed_in(page.context, web, person)
        page.goto(f"/services/{PASSPORT}")
        expect(page.get_by_text("Chưa có trong ví")).to_have_count(2)  # the ID card and the passport
        page.get_by_role("button", name="Bắt đầu").click()
        page.get_by_label("Nơi sinh", exact=True).fill("")  # cleared: the birth certificate fills it again
        page.get_by_role("button", name="Nộp hồ sơ").click()
        expect(page).to_have_title(re.compile(r"^Lỗi: "))
        summary = page.get_by_role("alert")
        expect(summary).to_contain_text("Có lỗi cần sửa")
        expect(summary).to_be_focused()
        for text in ("Vui lòng chọn “Nội dung đề nghị”", "Vui lòng nhập “Họ, chữ đệm và tên”", "Bổ sung Căn cước"):
            expect(summary.get_by_role("link", name=re.compile(re.escape(text)))).to_be_visible()
        expect(summary).not_to_contain_text("Nơi sinh")
        check_page(page, "services-form-errors")
        summary.get_by_role("link", name="Vui lòng chọn “Nội dung đề nghị”").click()
        expect(page.get_by_label("Cấp hộ chiếu lần đầu")).to_be_focused()
        group = page.get_by_role("group", name="Nội dung đề nghị")
        expect(group).to_contain_text("Vui lòng chọn “Nội dung đề nghị”")  # the message by the field too
        summary.get_by_role("link", name=re.compile("Bổ sung Căn cước")).click()
        add = page.get_by_role("link", name="Thêm Căn cước công dân vào hồ sơ")
        expect(add).to_be_focused()
        assert dossier_of(web, person, application_id_of(page))["status"] == "draft"
        expect(page.get_by_role("link", name="thêm từ trang Giấy tờ").first).to_have_attribute(
            "href", re.compile(r"^/papers/add\?type=cccd&next=/applications/")
        )

    def test_a_missing_paper_is_added_from_the_dossier_into_the_wallet(self, page: Page, web: WebServer) -> None:
        person = registered(web)
        signed_in(page.context, web, person)
        page.goto(f"/services/{PASSPORT}")
        page.get_by_role("button", name="Bắt đầu").click()
        application_id = application_id_of(page)
        page.get_by_role("link", name="Thêm Căn cước công dân vào hồ sơ").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Thêm vào hồ sơ: Căn cước công dân")
        expect(page.get_by_label("Số định danh cá nhân")).to_have_value(person.national_id)  # the account's own
        check_page(page, "services-upload")
        card = cccd_fields(person.data)
        page.get_by_label("Quê quán").fill(card["place_of_origin"])
        page.get_by_label("Nơi thường trú").fill(card["place_of_residence"])
        page.get_by_label("Ngày cấp").fill("31/02/2021")
        page.get_by_label("Cơ quan cấp").fill(card["issued_by"])
        page.get_by_label("Ảnh hoặc bản quét").set_input_files(
            files=[{"name": "cccd.pdf", "mimeType": "application/pdf", "buffer": small_pdf("cccd")}]
        )
        page.get_by_role("button", name="Lưu").click()
        expect(page.get_by_role("alert")).to_contain_text("Có lỗi cần sửa")
        expect(page.get_by_label("Quê quán")).to_have_value(card["place_of_origin"])  # kept as typed
        check_page(page, "services-upload-errors")
        page.get_by_label("Ngày cấp").fill("10/04/2021")
        page.get_by_label("Ảnh hoặc bản quét").set_input_files(
            files=[{"name": "cccd.pdf", "mimeType": "application/pdf", "buffer": small_pdf("cccd")}]
        )
        page.get_by_role("button", name="Lưu").click()
        expect(page.get_by_role("status")).to_contain_text("Giấy tờ đã được lưu vào ví và đính kèm hồ sơ")
        expect(page.get_by_label("Họ, chữ đệm và tên")).to_have_value(person.data["full_name"])
        dossier = dossier_of(web, person, application_id)
        attached = {a["type"]: a for a in dossier["attached_documents"]}
        assert attached["cccd"]["origin"] == "uploaded" and "cccd" not in dossier["missing_documents"]
        with web.api() as api:
            papers = ok(api.get("/documents", headers=bearer(person.token)))["items"]
        assert [p["id"] for p in papers if p["type"] == "cccd"] == [attached["cccd"]["document_id"]]

    def test_a_wrong_date_is_named_and_what_was_typed_stays(self, page: Page, web: WebServer) -> None:
        person = registered(web)
        upload(web, person, "passport", passport_fields(person.data))
        signed_in(page.context, web, person)
        page.goto(f"/services/{PASSPORT}")
        page.get_by_role("button", name="Bắt đầu").click()
        page.get_by_label("Nơi sinh", exact=True).fill("Huế")
        page.get_by_label("Ngày cấp hộ chiếu lần gần nhất").fill("31/02/2022")
        page.get_by_role("button", name="Lưu").click()
        summary = page.get_by_role("alert")
        expect(summary.get_by_role("link", name="Nhập một ngày có thật, ví dụ 02/03/1995")).to_be_visible()
        expect(page.get_by_label("Ngày cấp hộ chiếu lần gần nhất")).to_have_value("31/02/2022")
        expect(page.get_by_label("Nơi sinh", exact=True)).to_have_value("Huế")
        page.get_by_label("Ngày cấp hộ chiếu lần gần nhất").fill("11/05/2022")
        page.get_by_role("button", name="Lưu").click()
        expect(page.get_by_role("status")).to_contain_text("Đã lưu bản nháp")
        fields = dossier_of(web, person, application_id_of(page))["fields"]
        assert (fields["previous_passport_issue_date"], fields["place_of_birth"]) == ("2022-05-11", "Huế")

    def test_a_certified_value_changed_anyway_is_refused(
        self, person_page: tuple[Person, Page], web: WebServer
    ) -> None:
        person, page = person_page
        page.goto(f"/services/{PASSPORT}")
        page.get_by_role("button", name="Bắt đầu").click()
        name = page.get_by_label("Họ, chữ đệm và tên")
        expect(name).to_have_attribute("readonly", "")
        name.evaluate("input => { input.readOnly = false; input.value = 'Nguyễn Văn Khác'; }")
        page.get_by_role("button", name="Lưu").click()
        summary = page.get_by_role("alert")
        expect(summary.get_by_role("link", name=re.compile("giấy tờ do cơ quan cấp nên không thể sửa"))).to_be_visible()
        expect(page.get_by_label("Họ, chữ đệm và tên")).to_have_value("Nguyễn Văn Khác")  # shown back as sent
        assert dossier_of(web, person, application_id_of(page))["fields"]["full_name"] == person.data["full_name"]


class TestPapersOfTheDossier:
    def test_one_of_several_papers_of_a_type_can_be_chosen(
        self, person_page: tuple[Person, Page], web: WebServer
    ) -> None:
        person, page = person_page
        older = passport_fields(person.data) | {"passport_number": "B7654321", "issue_date": "2012-05-10"}
        older_id = upload(web, person, "passport", older | {"expiry_date": "2022-05-10"})
        page.goto(f"/services/{PASSPORT}")
        page.get_by_role("button", name="Bắt đầu").click()
        number = page.get_by_label("Số hộ chiếu phổ thông được cấp lần gần nhất (nếu có)")
        expect(number).to_have_value("C1234567")  # the valid one first
        choice = page.get_by_label("Chọn Hộ chiếu phổ thông để nộp kèm")
        choice.select_option(older_id)
        page.get_by_role("button", name="Lưu").click()
        expect(number).to_have_value("B7654321")
        dossier = dossier_of(web, person, application_id_of(page))
        attached = {a["type"]: a["document_id"] for a in dossier["attached_documents"]}
        assert attached["passport"] == older_id


class TestDrafts:
    def test_a_draft_is_deleted_after_a_confirmation(self, page: Page, web: WebServer) -> None:
        person = registered(web)
        signed_in(page.context, web, person)
        page.goto(f"/services/{PASSPORT}")
        page.get_by_role("button", name="Bắt đầu").click()
        application_id = application_id_of(page)
        page.goto("/services")
        page.get_by_role("link", name=f"Bản nháp – {PASSPORT_VI}").click()
        page.get_by_role("link", name="Xóa bản nháp này").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Xóa bản nháp?")
        check_page(page, "services-delete")
        page.get_by_role("button", name="Xác nhận").click()
        expect(page.get_by_role("status")).to_contain_text("Đã xóa bản nháp")
        expect(page.get_by_role("link", name=re.compile("Bản nháp"))).to_have_count(0)
        with web.api() as api:
            assert api.get(f"/applications/{application_id}", headers=bearer(person.token)).status_code == 404
        page.goto(f"/applications/{application_id}")
        expect(page.get_by_role("heading", level=1)).to_have_text("Không tìm thấy trang")


class TestHeldResult:
    def test_a_result_for_level_1_waits_for_level_2(self, page: Page, web: WebServer, agencies: Agencies) -> None:
        person = citizen(web, agencies, signed_card=False, level2=False)
        application_id = submitted_by_api(web, person)
        agency_result(web, agencies, application_id)
        signed_in(page.context, web, person)
        page.goto(f"/applications/{application_id}")
        expect(page.get_by_text("Kết quả đang chờ xác thực danh tính mức 2.")).to_be_visible()
        expect(page.get_by_role("link", name=re.compile("Mở kết quả"))).to_have_count(0)
        check_page(page, "services-held-result")
        page.goto(f"/applications/{application_id}?lang=en")
        expect(page.get_by_text("The result is waiting for level 2 identity verification.")).to_be_visible()
        check_page(page, "services-held-result")


class TestEnglish:
    def test_every_page_in_english_with_the_choices_labelled_in_english(
        self, person_page: tuple[Person, Page], web: WebServer, agencies: Agencies
    ) -> None:
        _person, page = person_page
        page.goto("/services?lang=en")
        expect(page.get_by_role("heading", level=1)).to_have_text("Public services")
        check_page(page, "services-list")
        page.get_by_role("link", name=PASSPORT_EN, exact=True).click()
        expect(page.get_by_text("In your wallet", exact=True)).to_have_count(3)
        check_page(page, "services-procedure")
        page.get_by_role("button", name="Start").click()
        expect(page.get_by_label("Surname, middle and given names")).not_to_be_editable()
        expect(page.get_by_label("Sex", exact=True)).to_have_value("Male")
        for label in ("First passport", EXPIRED_EN, "New passport: the old one was lost"):
            expect(page.get_by_label(label)).to_be_visible()
        check_page(page, "services-form")
        page.get_by_role("button", name="Submit").click()
        expect(page.get_by_role("alert")).to_contain_text("There is a problem")
        expect(page.get_by_role("alert").get_by_role("link", name="Choose “Request”")).to_be_visible()
        check_page(page, "services-form-errors")
        page.get_by_label(EXPIRED_EN).check()
        page.get_by_role("button", name="Submit").click()
        expect(page.get_by_text("Dossier code")).to_be_visible()
        expect(page.get_by_text(EXPIRED_EN)).to_be_visible()
        check_page(page, "services-submitted")
        application_id = application_id_of(page)
        agency_moves(web, agencies, application_id, "needs_info", "Ghi rõ nơi sinh.")
        page.goto(f"/applications/{application_id}")
        expect(page.get_by_role("heading", name="The agency asks for more")).to_be_visible()
        check_page(page, "services-needs-info")
        page.get_by_role("button", name="Submit").click()
        expect(page.get_by_role("status")).to_contain_text("Your dossier has been submitted")
        agency_result(web, agencies, application_id)
        page.goto(f"/applications/{application_id}")
        expect(page.get_by_role("link", name=re.compile("Open the result"))).to_be_visible()
        check_page(page, "services-completed")
        page.get_by_label("4 – Satisfied").check()
        page.get_by_role("button", name="Rate").click()
        expect(page.get_by_text("You rated this service 4 out of 5")).to_be_visible()
        check_page(page, "services-rated")
        page.goto("/services")
        expect(page.get_by_role("listitem").filter(has_text=re.compile("HS-.* – " + PASSPORT_EN))).to_contain_text(
            "Completed"
        )
        check_page(page, "services-list-with-dossiers")
        page.get_by_role("link", name=PASSPORT_EN, exact=True).click()
        page.get_by_role("button", name="Start").click()
        page.goto(f"/applications/{application_id_of(page)}/papers/birth_certificate")
        expect(page.get_by_role("heading", level=1)).to_have_text("Add to the dossier: Birth certificate")
        check_page(page, "services-upload")
        page.get_by_role("link", name="Back to the dossier").click()
        page.get_by_role("link", name="Delete this draft").click()
        check_page(page, "services-delete")
