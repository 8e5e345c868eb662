"""The public check of a printed paper at /verify (UI.md "Public"): a result an agency issued and signed, checked by
anyone without signing in, by its token, by the whole address its QR opens, or by a photo of the QR; forged, unknown,
revoked and expired codes said `Không hợp lệ` with their reason in words; the empty and the over-long field refused
with the error summary; both languages, a phone and without JavaScript.

The agency, the citizen's level 2 and the issuing go through the CLI and the API, as the agency's own system would;
an expired paper is made by moving its attestation's last day into the past in the server's database (the server
runs on the real clock)."""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Any
from urllib.parse import urlencode

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect
from sqlalchemy import create_engine, update

from api.settings import Settings
from crypto.clock import SystemClock
from crypto.keyring import KeyringFile
from crypto.tokens import TokenSigner
from tests.web.conftest import Person, check_page, new_context, registered
from tests.web.scan_world import forged_token, qr_png
from tests.web.server import WebServer
from tests.web.test_papers import Agency, png
from tests.web.world import bearer, ok
from wallet.attestations import ATTESTATION_TYP, VERIFY_AUDIENCE
from wallet.models import Attestation

DOSSIER = "000.00.20.H17-261124-0001"
KIND_VI, KIND_EN = "Phiếu lý lịch tư pháp", "Criminal record certificate"
HOLDER = "Đặng Thu Hà"


@pytest.fixture(scope="module")
def agency(web: WebServer) -> Agency:
    return Agency(web)


def issue(web: WebServer, agency: Agency, person: Person) -> dict[str, Any]:
    """A criminal record certificate the agency signs into the citizen's wallet: its id and verification."""
    fields = {
        "full_name": person.data["full_name"],
        "date_of_birth": person.data["date_of_birth"],
        "national_id": person.national_id,
        "form": "1",
        "content": "Không có án tích.",
        "issue_date": "2026-01-10",
        "issued_by": agency.name,
    }
    body = {"national_id": person.national_id, "type": "criminal_record", "fields": fields, "dossier_code": DOSSIER}
    with web.api() as api:
        return ok(api.post("/issuer/documents", json=body, headers=bearer(agency.token)), 201)


@pytest.fixture(scope="module")
def holder(web: WebServer, agency: Agency) -> Person:
    person = registered(web, full_name=HOLDER)
    agency.proof(person)
    return person


@pytest.fixture(scope="module")
def result(web: WebServer, agency: Agency, holder: Person) -> dict[str, Any]:
    return issue(web, agency, holder)


def check(page: Page, code: str, *, lang: str = "vi") -> None:
    page.get_by_label("Mã QR" if lang == "vi" else "QR code", exact=True).fill(code)
    page.get_by_role("button", name="Kiểm tra" if lang == "vi" else "Check", exact=True).click()


def h1(page: Page) -> Any:
    return expect(page.get_by_role("heading", level=1))


def detail(page: Page, label: str) -> Any:
    """The value beside a label of the paper's details."""
    return page.locator(".summary-row").filter(has=page.get_by_text(label, exact=True)).locator("dd")


def unrecorded_token(web: WebServer) -> str:
    """An attestation signed with the server's own key that no agency ever issued (nothing recorded under it)."""
    settings = Settings(data_dir=web.data_dir, env="dev", public_url=web.base_url)
    signer = TokenSigner(KeyringFile(settings.resolved_keyring_file), issuer=web.base_url, clock=SystemClock())
    issued = signer.issue(typ=ATTESTATION_TYP, audience=VERIFY_AUDIENCE, subject="x", ttl=timedelta(days=30))
    return issued.token


def tampered(token: str) -> str:
    """One character of the claims changed: the signature no longer covers them."""
    header, claims, signature = token.split(".")
    middle = len(claims) // 2
    changed = "A" if claims[middle] != "A" else "B"
    return f"{header}.{claims[:middle]}{changed}{claims[middle + 1 :]}.{signature}"


def expired(web: WebServer, token: str) -> None:
    """The attestation's last day was yesterday, in the server's own database (see the module's docstring)."""
    engine = create_engine(f"sqlite:///{web.data_dir / 'wallet.db'}")
    with engine.begin() as connection:
        yesterday = date.today() - timedelta(days=1)  # noqa: DTZ011 - the server's day, on the same machine
        connection.execute(update(Attestation).where(Attestation.token == token).values(valid_until=yesterday))  # type: ignore[arg-type]
    engine.dispose()


class TestAGenuineResult:
    def test_by_its_token_then_by_the_address_its_qr_opens(self, page: Page, result: dict[str, Any]) -> None:
        answer = page.goto("/verify")
        assert answer is not None and answer.status == 200
        assert "'unsafe-inline'" not in answer.headers["content-security-policy"]
        h1(page).to_have_text("Kiểm tra giấy tờ")
        expect(page).to_have_title(re.compile("^Kiểm tra giấy tờ"))
        expect(page.get_by_text("bằng mã QR in trên giấy tờ")).to_be_visible()
        check_page(page, "verify-form")

        check(page, result["verification"]["token"])
        h1(page).to_have_text("Hợp lệ")
        expect(page).to_have_title(re.compile("^Hợp lệ"))
        expect(page.get_by_text("đã cấp và ký số giấy tờ này")).to_be_visible()
        expect(detail(page, "Loại giấy tờ")).to_have_text(KIND_VI)
        expect(detail(page, "Cơ quan cấp")).to_contain_text("Sở Tư pháp thành phố Đà Nẵng")
        expect(detail(page, "Mã hồ sơ")).to_have_text(DOSSIER)
        expect(detail(page, "Hiệu lực đến")).to_have_text("Không thời hạn")
        assert HOLDER not in page.content()  # the code holds no name: the page shows none
        check_page(page, "verify-valid")

        page.get_by_role("link", name="Kiểm tra giấy tờ khác").click()
        h1(page).to_have_text("Kiểm tra giấy tờ")
        check(page, result["verification"]["url"])  # what a phone's QR reader shows: the whole address
        h1(page).to_have_text("Hợp lệ")
        # The address bar shows the short check of the token alone, to keep or share.
        expect(page).to_have_url(
            re.compile(r"/verify\?" + re.escape(urlencode({"token": result["verification"]["token"]})) + "$")
        )

    def test_in_english(self, page: Page, result: dict[str, Any]) -> None:
        page.goto("/verify?lang=en")
        h1(page).to_have_text("Check a paper")
        check_page(page, "verify-form")
        check(page, result["verification"]["url"], lang="en")
        h1(page).to_have_text("Valid")
        expect(detail(page, "Type of paper")).to_have_text(KIND_EN)
        expect(detail(page, "Dossier code")).to_have_text(DOSSIER)
        expect(page.get_by_role("link", name="Check another paper")).to_be_visible()
        check_page(page, "verify-valid")
        page.get_by_role("link", name="Tiếng Việt").click()
        h1(page).to_have_text("Hợp lệ")


class TestNotValid:
    def test_forged_tampered_unknown_and_garbage_codes_say_why(
        self, page: Page, web: WebServer, result: dict[str, Any]
    ) -> None:
        token = result["verification"]["token"]
        cases = {
            tampered(token): "Chữ ký không khớp",
            forged_token(token): "Chữ ký không khớp",
            unrecorded_token(web): "Chưa từng có giấy tờ nào được cấp với mã này",
            "không phải mã": "Đây không phải mã xác thực của Công Dân Số",
        }
        for code, reason in cases.items():
            page.goto("/verify")
            check(page, code)
            h1(page).to_have_text("Không hợp lệ")
            expect(page.locator("main")).to_contain_text(reason)
            expect(page.get_by_text("Không chấp nhận giấy tờ này làm bằng chứng")).to_be_visible()
            expect(page.get_by_text("Loại giấy tờ")).to_have_count(0)  # nothing of a paper for a code not ours
        check_page(page, "verify-invalid")
        page.goto(f"/verify?{urlencode({'token': tampered(token), 'lang': 'en'})}")
        h1(page).to_have_text("Not valid")
        expect(page.locator("main")).to_contain_text("The signature does not match")
        check_page(page, "verify-invalid")

    def test_a_revoked_result(self, page: Page, web: WebServer, agency: Agency, holder: Person) -> None:
        revoked = issue(web, agency, holder)
        with web.api() as api:
            ok(api.post(f"/issuer/documents/{revoked['id']}/revoke", headers=bearer(agency.token)))
        page.goto("/verify")
        check(page, revoked["verification"]["token"])
        h1(page).to_have_text("Không hợp lệ")
        expect(page.locator("main")).to_contain_text("Cơ quan cấp đã thu hồi giấy tờ này")
        expect(detail(page, "Loại giấy tờ")).to_have_text(KIND_VI)  # which paper was revoked
        check_page(page, "verify-revoked")
        page.goto(f"/verify?{urlencode({'token': revoked['verification']['token'], 'lang': 'en'})}")
        expect(page.locator("main")).to_contain_text("The issuing agency has revoked this paper")

    def test_an_expired_result_says_since_when(
        self, page: Page, web: WebServer, agency: Agency, holder: Person
    ) -> None:
        old = issue(web, agency, holder)
        expired(web, old["verification"]["token"])
        page.goto(f"/verify?{urlencode({'token': old['verification']['token']})}")
        h1(page).to_have_text("Không hợp lệ")
        yesterday = (date.today() - timedelta(days=1)).strftime("%d/%m/%Y")  # noqa: DTZ011 - as above
        expect(page.locator("main")).to_contain_text(f"đã hết hạn ngày {yesterday}")
        expect(detail(page, "Hiệu lực đến")).to_have_text(yesterday)


class TestTheField:
    def test_empty_and_over_long_codes_get_the_error_summary(self, page: Page) -> None:
        page.goto("/verify")
        check(page, "   ")
        summary = page.get_by_role("alert")
        expect(summary.get_by_role("heading", name="Có lỗi cần sửa")).to_be_visible()
        expect(summary.get_by_role("link", name="Nhập mã QR, hoặc địa chỉ mà mã mở ra")).to_have_attribute(
            "href", "#token"
        )
        expect(summary).to_be_focused()
        expect(page).to_have_title(re.compile("^Lỗi: Kiểm tra giấy tờ"))
        field = page.get_by_label("Mã QR", exact=True)
        expect(field).to_have_attribute("aria-invalid", "true")
        expect(field).to_have_accessible_description(re.compile("Nhập mã QR, hoặc địa chỉ mà mã mở ra"))
        check_page(page, "verify-error")

        answer = page.goto(f"/verify?token={'e' * 5000}")
        assert answer is not None and answer.status == 422
        expect(page.get_by_role("alert")).to_contain_text("dài hơn nhiều so với một mã xác thực")
        page.goto("/verify?lang=en&token=")
        expect(page.get_by_role("alert")).to_contain_text("Enter the QR code, or the address it opens")
        expect(page).to_have_title(re.compile("^Error: Check a paper"))
        check_page(page, "verify-error")


class TestAPhoto:
    def test_a_photo_of_the_printed_qr(self, page: Page, result: dict[str, Any]) -> None:
        page.goto("/verify")
        photo = {"name": "qr.png", "mimeType": "image/png", "buffer": qr_png(result["verification"]["url"])}
        page.get_by_label("Ảnh mã QR").set_input_files(photo)
        page.get_by_role("button", name="Kiểm tra ảnh").click()
        h1(page).to_have_text("Hợp lệ")
        expect(detail(page, "Mã hồ sơ")).to_have_text(DOSSIER)

    def test_a_photo_without_a_qr_and_a_form_without_its_csrf_token(
        self, page: Page, context: BrowserContext, web: WebServer, result: dict[str, Any]
    ) -> None:
        page.goto("/verify")
        page.get_by_label("Ảnh mã QR").set_input_files({"name": "x.png", "mimeType": "image/png", "buffer": png()})
        page.get_by_role("button", name="Kiểm tra ảnh").click()
        expect(page.get_by_role("alert")).to_contain_text("Không tìm thấy mã QR trong ảnh")
        check_page(page, "verify-photo-error")
        photo = {"name": "qr.png", "mimeType": "image/png", "buffer": qr_png(result["verification"]["url"])}
        refused = context.request.post(f"{web.base_url}/verify/photo", multipart={"photo": photo}, max_redirects=0)
        assert refused.status == 403, refused.status


class TestWithoutJavaScript:
    def test_the_token_the_address_and_the_photo(
        self, browser: Browser, web: WebServer, result: dict[str, Any]
    ) -> None:
        context = new_context(browser, web, javascript=False)
        try:
            page = context.new_page()
            page.goto("/verify")
            check(page, result["verification"]["token"])
            h1(page).to_have_text("Hợp lệ")
            page.get_by_role("link", name="Kiểm tra giấy tờ khác").click()
            check(page, result["verification"]["url"])
            h1(page).to_have_text("Hợp lệ")
            page.goto("/verify")
            check(page, "")
            expect(page.get_by_role("alert")).to_contain_text("Nhập mã QR")
            photo = {"name": "qr.png", "mimeType": "image/png", "buffer": qr_png(result["verification"]["url"])}
            page.get_by_label("Ảnh mã QR").set_input_files(photo)
            page.get_by_role("button", name="Kiểm tra ảnh").click()
            h1(page).to_have_text("Hợp lệ")
        finally:
            context.close()
