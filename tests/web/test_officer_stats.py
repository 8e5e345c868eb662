"""The agency's statistics in a real browser (issue 12, deliverable 5; UI.md: "One-stop counter and agency staff",
Statistics): the figures equal those computed here from the test's own dossiers, a period changes them (and a
verdict), a missed target says so in words, the CSV holds the same figures, both languages, phone and desktop, axe.

This module runs its own server: the statistics count every dossier of the agency, and other modules' passports
would count too on the shared one. Dossiers are made through the API; their times are then set in the database to
known values (the server's clock is the wall clock)."""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from statistics import median
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, ViewportSize, expect
from sqlalchemy import update

from forms.models import Application
from identity.notices import VIETNAM
from storage.db import create_db_engine, sqlite_url, transaction
from tests.integration.wallet_helpers import full_wallet
from tests.web.conftest import Person, check_page, new_context, registered
from tests.web.server import WebServer
from tests.web.world import Staff, bearer, new_agency, new_staff, ok, staff_signed_in

PASSPORT = "passport_issue"
OFFICE = "ca_xnc"
DESKTOP: ViewportSize = {"width": 1280, "height": 800}
WHOLE_VI = "Số liệu của mọi thủ tục so với chỉ tiêu quốc gia"
WHOLE_EN = "Figures of all procedures beside the national targets"


@pytest.fixture(scope="module")
def web() -> Iterator[WebServer]:
    with WebServer() as server:
        yield server


@dataclass(frozen=True)
class Dossier:
    """One of the test's dossiers: what the API answered at submission and the times given to it."""

    answer: dict[str, Any]
    submitted_days_ago: float | None  # None: a draft
    login_seconds: float = 0
    decided_after: timedelta | None = None
    status: str = "submitted"
    rating: int | None = None
    overdue: bool = False


@dataclass
class World:
    staff: Staff
    dossiers: list[Dossier]

    def figures(self, *, within_days: float | None = None) -> dict[str, Any]:
        """The page's figures, computed from the test's own dossiers (optionally those of the last days)."""
        mine = [d for d in self.dossiers if within_days is None or (d.submitted_days_ago or 0) < within_days]
        sent = [d for d in mine if d.submitted_days_ago is not None]
        deciding = [d.decided_after.total_seconds() for d in sent if d.decided_after]
        scores = [d.rating for d in mine if d.rating is not None]
        fields = sum(len(d.answer["fields"]) for d in sent)
        return {
            "started": len(mine),
            "submitted": len(sent),
            "completed": sum(d.status == "completed" for d in mine),
            "rejected": sum(d.status == "rejected" for d in mine),
            "to_submit": median(d.login_seconds for d in sent),
            "prefill": sum(len(d.answer["prefilled"]) for d in sent) / fields,
            "reused": sum(1 for d in sent for a in d.answer["attached_documents"] if a["origin"] != "uploaded"),
            "satisfaction": sum(s >= 4 for s in scores) / len(scores),
            "ratings": len(scores),
            "processing": median(deciding),
            "overdue": sum(d.overdue for d in mine),
        }


def api(web: WebServer, method: str, path: str, token: str, status: int = 200, **kw: Any) -> dict[str, Any]:
    with web.api() as client:
        return ok(client.request(method, path, headers=bearer(token), **kw), status)


def citizen(web: WebServer) -> Person:
    person = registered(web)
    for type_code, fields in full_wallet(person.data)[:2]:  # the ID card and the birth certificate
        data = {"type": type_code, "fields": json.dumps(fields, ensure_ascii=False)}
        api(web, "POST", "/documents", person.token, 201, data=data)
    return person


def passport(web: WebServer, person: Person, *, submit: bool = True) -> dict[str, Any]:
    draft = api(web, "POST", "/applications", person.token, 201, json={"procedure_code": PASSPORT})
    if not submit:
        return draft
    path = f"/applications/{draft['id']}"
    api(web, "PATCH", path, person.token, json={"fields": {"request_kind": "het_han"}})
    api(web, "POST", f"{path}/submit", person.token)
    return draft | {"status": "submitted"}


def set_times(web: WebServer, dossier: Dossier, now: datetime) -> None:
    """The dossier's clock columns as the scenario says (the server's own clock cannot be moved)."""
    values: dict[str, Any] = {}
    if dossier.submitted_days_ago is not None:
        submitted = now - timedelta(days=dossier.submitted_days_ago)
        values = {
            "created_at": submitted - timedelta(minutes=30),
            "login_at": submitted - timedelta(seconds=dossier.login_seconds),
            "submitted_at": submitted,
            "decided_at": submitted + dossier.decided_after if dossier.decided_after else None,
            "due_at": now - timedelta(days=1) if dossier.overdue else now + timedelta(days=5),
        }
    engine = create_db_engine(sqlite_url(web.data_dir / "wallet.db"), pool_size=1)
    try:
        with transaction(engine) as session:
            if values:
                session.execute(update(Application).where(Application.id == dossier.answer["id"]).values(**values))
    finally:
        engine.dispose()


@pytest.fixture(scope="module")
def world(web: WebServer) -> World:
    """Four passports: completed in a day (3 min to submit, rated 5), rejected in two (7 min, rated 2), one left
    overdue 40 days ago (4 min), one draft; the officer proofed one citizen at the counter."""
    agency = new_agency(web, "applications:process", "stats:read", code=OFFICE, name="Phòng Quản lý xuất nhập cảnh")
    staff = new_staff(web, agency, name="Phạm Thu Hà")
    agency_token = agency.token(web)
    first, second = citizen(web), citizen(web)
    qr = api(web, "GET", "/me/qr", first.token)["token"]
    scan = api(web, "POST", "/verify/qr", staff.token, json={"token": qr})
    api(web, "POST", "/identity/proofings", staff.token, 201, json={"presence_id": scan["presence_id"]})

    dossiers = [
        Dossier(passport(web, first), 2, 180, timedelta(days=1), "completed", 5),
        Dossier(passport(web, second), 3, 420, timedelta(days=2), "rejected", 2),
        Dossier(passport(web, second), 40, 240, overdue=True),
        Dossier(passport(web, first, submit=False), None, status="draft"),
    ]
    now = datetime.now(UTC)
    for dossier in dossiers:
        if dossier.status in ("completed", "rejected"):
            body = {"status": dossier.status} | ({"note": "Thiếu ảnh"} if dossier.status == "rejected" else {})
            api(web, "POST", f"/agency/applications/{dossier.answer['id']}/status", agency_token, json=body)
        if dossier.rating:
            owner = first if dossier is dossiers[0] else second
            rating = {"score": dossier.rating}
            api(web, "POST", f"/applications/{dossier.answer['id']}/rating", owner.token, 201, json=rating)
        set_times(web, dossier, now)
    # The answers at submission hold the prefilled fields and the attached papers.
    for index, dossier in enumerate(dossiers):
        owner = first if index in (0, 3) else second
        answer = api(web, "GET", f"/applications/{dossier.answer['id']}", owner.token)
        dossiers[index] = Dossier(answer, *list(vars(dossier).values())[1:])
    return World(staff, dossiers)


# -- how the page writes figures -----------------------------------------------------------------------------------
def number(value: float, english: bool) -> str:
    text = f"{value:.1f}".rstrip("0").rstrip(".")
    return text if english else text.replace(".", ",")


def row(page: Page, table: str, figure: str) -> Any:
    return (
        page.get_by_role("table", name=table)
        .get_by_role("row")
        .filter(has=page.get_by_role("rowheader", name=figure, exact=True))
    )


def agency_rows(page: Page, table: str = WHOLE_VI) -> dict[str, tuple[str, str, str]]:
    """Figure → (value, national target, result) in a table, each cell without its phone-size label."""
    cells: list[list[str]] = (
        page.get_by_role("table", name=table)
        .locator("tbody tr")
        .evaluate_all(
            """rows => rows.map(row => [...row.children].map(cell => [...cell.childNodes]
            .filter(node => !(node.classList && node.classList.contains('cell-label')))
            .map(node => node.textContent).join('').replace(/\\s+/g, ' ').trim()))"""
        )
    )
    return {figure: (value, target, result) for figure, value, target, result in cells}


def duration_vi(seconds: float) -> str:
    minutes, secs = divmod(round(seconds), 60)
    return f"{minutes} phút {secs} giây"


# -- the tests -----------------------------------------------------------------------------------------------------
class TestStatistics:
    def test_the_figures_are_those_of_the_dossiers_and_a_period_changes_them(
        self, context: BrowserContext, web: WebServer, world: World
    ) -> None:
        staff_signed_in(context, web, world.staff)
        page = context.new_page()
        page.goto("/officer/stats")
        expect(page.get_by_role("heading", level=1)).to_have_text("Thống kê")
        nav = page.get_by_role("navigation").get_by_role("link", name="Thống kê")
        expect(nav).to_have_attribute("aria-current", "page")
        check_page(page, "officer-stats")

        want = world.figures()
        rows = agency_rows(page)
        assert rows["Hồ sơ đã bắt đầu"] == (str(want["started"]), "Không có chỉ tiêu quốc gia", "–")
        assert rows["Hồ sơ đã nộp"][0] == str(want["submitted"])
        assert rows["Hồ sơ đã hoàn thành"][0] == str(want["completed"])
        assert rows["Hồ sơ bị từ chối"][0] == str(want["rejected"])
        login = rows["Thời gian trung vị từ đăng nhập đến khi nộp"]
        assert login == (duration_vi(want["to_submit"]), "Dưới 5 phút", "✓ Đạt"), login  # 4 min: under 5
        assert rows["Trường được điền sẵn từ ví"][0] == f"{number(want['prefill'] * 100, False)}%"
        assert rows["Giấy tờ dùng lại từ ví / tải lên"][0] == f"{want['reused']} dùng lại, 0 tải lên"
        happy = rows["Công dân hài lòng (chấm 4 hoặc 5)"]
        share = f"{number(want['satisfaction'] * 100, False)}% trên {want['ratings']} lượt đánh giá"
        assert happy == (share, "Tối thiểu 95%", "✗ Chưa đạt"), happy  # 50%: the target is missed, in words
        assert rows["Thời gian xử lý trung vị"][0] == "1 ngày 12 giờ"  # the median of one and two days
        assert want["processing"] == 1.5 * 86_400
        assert rows["Hồ sơ quá hạn"] == (str(want["overdue"]), "Không có hồ sơ nào", "✗ Chưa đạt")
        expect(page.get_by_text("Số chỉ tiêu chưa đạt: 2").first).to_be_visible()
        passport_table = "Số liệu của Cấp hộ chiếu phổ thông ở trong nước so với chỉ tiêu quốc gia"
        expect(row(page, passport_table, "Hồ sơ quá hạn")).to_contain_text("Chưa đạt")
        expect(row(page, passport_table, "Thời gian xử lý trung vị")).to_contain_text("Trong vòng 8 ngày làm việc")
        expect(page.get_by_role("img", name="Công dân hài lòng theo từng thủ tục")).to_be_visible()
        expect(page.get_by_role("img", name="Xác minh danh tính theo từng cán bộ")).to_be_visible()
        officers = page.get_by_role("table", name="Xác minh và khôi phục theo từng cán bộ")
        expect(officers.get_by_role("row").filter(has_text="Phạm Thu Hà")).to_contain_text("1")

    def test_a_period_changes_the_figures_and_the_csv_holds_them(
        self, context: BrowserContext, web: WebServer, world: World
    ) -> None:
        staff_signed_in(context, web, world.staff)
        page = context.new_page()
        page.goto("/officer/stats")
        want = world.figures()

        # The last 30 days leave out the dossier of 40 days ago: its overdue mark goes, and the median time to
        # submit becomes exactly 5 minutes, which misses the target (under 5).
        page.get_by_role("link", name="30 ngày qua").click()
        expect(page).to_have_url(re.compile(r"from="))
        expect(page.get_by_text("Hồ sơ nộp từ ")).to_be_visible()
        recent = world.figures(within_days=30)
        rows = agency_rows(page)
        assert rows["Hồ sơ đã nộp"][0] == str(recent["submitted"]) == str(want["submitted"] - 1)
        login = rows["Thời gian trung vị từ đăng nhập đến khi nộp"]
        assert login == (duration_vi(recent["to_submit"]), "Dưới 5 phút", "✗ Chưa đạt"), login
        assert rows["Hồ sơ quá hạn"] == ("0", "Không có hồ sơ nào", "✓ Đạt")

        # The CSV of this period: the same figures, with a BOM for Excel.
        with page.expect_download() as download:
            page.get_by_role("link", name="Tải CSV").click()
        assert download.value.suggested_filename.startswith("thong-ke-") and download.value.suggested_filename.endswith(
            ".csv"
        )
        raw = Path(download.value.path()).read_bytes()
        assert raw.startswith(b"\xef\xbb\xbf")
        table = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
        assert table[0][:3] == ["Thủ tục", "Mã thủ tục", "Hồ sơ đã bắt đầu"]
        passport_row = next(r for r in table if len(r) > 1 and r[1] == PASSPORT)
        assert passport_row[2:7] == [str(recent[k]) for k in ("started", "submitted", "completed", "rejected")] + [
            str(round(recent["to_submit"]))
        ]
        assert passport_row[-1] == "0" and passport_row[-2] == "8"
        assert ["Phạm Thu Hà", "Phòng Quản lý xuất nhập cảnh", "1", "0", "0"] in table

        # Typed dates: only the dossier of 40 days ago.
        day = (datetime.now(UTC) - timedelta(days=40)).astimezone(VIETNAM).strftime("%d/%m/%Y")
        page.get_by_role("textbox", name="Từ ngày").fill(day)
        page.get_by_role("textbox", name="Đến ngày").fill(day)
        page.get_by_role("button", name="Xem").click()
        expect(page.get_by_text(f"Hồ sơ nộp từ {day} đến {day}")).to_be_visible()
        rows = agency_rows(page)
        assert (rows["Hồ sơ đã nộp"][0], rows["Hồ sơ quá hạn"][0]) == ("1", "1")
        assert rows["Thời gian trung vị từ đăng nhập đến khi nộp"][0] == duration_vi(240)

        # A date that is not one: the error summary, the field's message.
        page.get_by_role("textbox", name="Từ ngày").fill("31/02/2026")
        page.get_by_role("button", name="Xem").click()
        expect(page).to_have_title(re.compile(r"^Lỗi: Thống kê – "))
        expect(page.get_by_role("alert")).to_contain_text("Có lỗi cần sửa")
        expect(page.get_by_role("link", name="Nhập một ngày có thật, ví dụ 02/03/2026")).to_be_visible()
        check_page(page, "officer-stats-error")

    def test_in_english_on_a_desktop_and_by_keyboard(self, browser: Browser, web: WebServer, world: World) -> None:
        context = new_context(browser, web, viewport=DESKTOP)
        try:
            staff_signed_in(context, web, world.staff)
            page = context.new_page()
            page.goto("/officer/stats?lang=en")
            expect(page.get_by_role("heading", level=1)).to_have_text("Statistics")
            happy = row(page, WHOLE_EN, "Satisfied citizens (rated 4 or 5)")
            expect(happy).to_contain_text("Missed")
            expect(happy).to_contain_text("At least 95%")
            expect(page.get_by_role("img", name="Median time from login to submission, per procedure")).to_be_visible()
            expect(page.get_by_role("link", name="Download CSV")).to_be_visible()
            check_page(page, "officer-stats-en-desktop")
            page.goto("/officer/stats")  # the cookie keeps English
            expect(page.get_by_role("heading", level=1)).to_have_text("Statistics")
            page.set_viewport_size({"width": 390, "height": 844})
            check_page(page, "officer-stats-en")
            page.goto("/officer/stats?lang=vi")
            page.set_viewport_size(DESKTOP)
            check_page(page, "officer-stats-desktop")

            # By keyboard alone: Tab to the first date, type both, Enter.
            for _ in range(30):
                page.keyboard.press("Tab")
                if page.evaluate("document.activeElement.id") == "from":
                    break
            page.keyboard.type("01/01/2021")
            page.keyboard.press("Tab")
            page.keyboard.type("31/12/2021")
            page.keyboard.press("Enter")
            expect(page.get_by_text("Hồ sơ nộp từ 01/01/2021 đến 31/12/2021")).to_be_visible()
            assert agency_rows(page)["Hồ sơ đã bắt đầu"][0] == "0"
        finally:
            context.close()

    def test_without_javascript_the_period_form_works(self, browser: Browser, web: WebServer, world: World) -> None:
        context = new_context(browser, web, javascript=False)
        try:
            staff_signed_in(context, web, world.staff)
            page = context.new_page()
            page.goto("/officer/stats")
            page.get_by_role("textbox", name="Từ ngày").fill("01/01/2020")
            page.get_by_role("textbox", name="Đến ngày").fill("31/12/2020")
            page.get_by_role("button", name="Xem").click()
            expect(page.get_by_text("Hồ sơ nộp từ 01/01/2020 đến 31/12/2020")).to_be_visible()
            assert agency_rows(page)["Hồ sơ đã bắt đầu"][0] == "0"
        finally:
            context.close()
