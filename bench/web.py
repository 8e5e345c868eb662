"""The citizen web app: the wallet page with 50 papers rendered by the server against `GET /api/v1/documents?limit=50`
(same wallet, same run); the cold-load transfer of the wallet page (gzip, HTML + CSS + JS); Lighthouse (mobile
preset, Debian's Chromium) on the landing, wallet and form pages; and the passport application in a real browser from
the landing page to "submitted": page loads and server time.

`python -m bench.web` (also run by `python -m bench`). Goals (checked by reading `bench/results.json`, never asserted
on time here): page ≥ 0.7× the API's throughput; ≤ 60 KB cold load; Lighthouse accessibility 100, best practices ≥ 95,
performance ≥ 90; ≤ 8 page loads for the passport application. A run fails only when a page or request errs.
"""

from __future__ import annotations

import asyncio
import json
import re
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import httpx
from playwright.sync_api import Page, Response, sync_playwright

from bench.forms import _FIRST_CITIZEN, PROCEDURE, _big_wallet, answer_for
from bench.foundation import PIN, Citizen, Wallet, wallet_server
from bench.harness import REPO_ROOT, LoadResult, load, percentile, record

CONCURRENCY = 4
SECONDS = 5.0
WARMUP = 1.0
LIGHTHOUSE = REPO_ROOT / "bench" / "lighthouse" / "node_modules" / "lighthouse" / "cli" / "index.js"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
_ASSETS = re.compile(r'(?:src|href)="(/static/[^"]+)"')


def _measured(url: str, headers: dict[str, str]) -> LoadResult:
    asyncio.run(load(url, concurrency=CONCURRENCY, duration=WARMUP, max_requests=100_000, headers=headers))
    result = asyncio.run(load(url, concurrency=CONCURRENCY, duration=SECONDS, max_requests=100_000, headers=headers))
    if result.errors:
        raise RuntimeError(f"{result.errors} of {result.requests} requests to {url} failed")
    return result


def page_vs_api(wallet: Wallet, token: str) -> dict[str, float]:
    """The same 50 papers, as the page the citizen sees and as the API's JSON list."""
    page = _measured(f"{wallet.server.base_url}/papers", {"Cookie": f"cds_at={token}"})
    api = _measured(f"{wallet.api}/documents?limit=50", {"Authorization": f"Bearer {token}"})
    print(f"  page /papers: {page}\n  api /documents?limit=50: {api}")
    return {
        "web.wallet_page_50.rps": page.rps,
        "web.wallet_page_50.p50_ms": page.p50_ms,
        "web.wallet_page_50.p99_ms": page.p99_ms,
        "web.api_documents_50.rps": api.rps,
        "web.api_documents_50.p50_ms": api.p50_ms,
        "web.wallet_page_vs_api_50.rps_ratio": page.rps / api.rps,
    }


def cold_load(wallet: Wallet, token: str) -> dict[str, float]:
    """Bytes on the wire for a first visit of the wallet page: the HTML and every script and stylesheet it loads."""
    headers = {"Cookie": f"cds_at={token}", "Accept-Encoding": "gzip"}
    sizes: dict[str, int] = {}
    with httpx.Client(base_url=wallet.server.base_url, timeout=30) as client:
        html = client.get("/papers", headers=headers)
        html.raise_for_status()
        sizes["/papers"] = html.num_bytes_downloaded
        for asset in sorted(set(_ASSETS.findall(html.text))):
            if asset.split("?", 1)[0].endswith((".css", ".js")):
                response = client.get(asset, headers={"Accept-Encoding": "gzip"})
                response.raise_for_status()
                sizes[asset] = response.num_bytes_downloaded
    total = sum(sizes.values())
    print("  cold load: " + ", ".join(f"{name} {size / 1024:.1f} KB" for name, size in sizes.items()))
    return {
        "web.cold_load.total_kb": total / 1024,
        "web.cold_load.html_kb": sizes["/papers"] / 1024,
        "web.cold_load.html_uncompressed_kb": len(html.content) / 1024,
    }


def lighthouse(url: str, cookie: str | None, *, attempts: int = 2) -> dict[str, float]:
    """Lighthouse's scores ×100; a run whose Chromium failed to start is tried again once."""
    for attempt in range(attempts):
        try:
            return _lighthouse_once(url, cookie)
        except RuntimeError:
            if attempt + 1 == attempts:
                raise
    raise AssertionError("unreachable")


def _lighthouse_once(url: str, cookie: str | None) -> dict[str, float]:
    if not LIGHTHOUSE.exists():
        raise RuntimeError("bench/lighthouse/node_modules is missing: run `npm ci --prefix bench/lighthouse`")
    with tempfile.TemporaryDirectory(prefix="bench-lh-") as tmp:
        report = Path(tmp) / "report.json"
        command = [
            "node",
            str(LIGHTHOUSE),
            url,
            "--quiet",
            "--output=json",
            f"--output-path={report}",
            f"--chrome-path={CHROMIUM}",
            "--chrome-flags=--headless=new --no-sandbox --disable-gpu",
            "--only-categories=performance,accessibility,best-practices",
        ]
        if cookie:
            command.append("--extra-headers=" + json.dumps({"Cookie": cookie}))
        done = subprocess.run(
            command,
            check=False,
            capture_output=True,
            text=True,
            timeout=300,
            env={"PATH": "/usr/bin:/bin", "HOME": tmp},
        )
        if done.returncode != 0:
            raise RuntimeError(f"lighthouse {url} failed: {done.stderr[-2000:]}")
        categories = json.loads(report.read_text())["categories"]
    return {name: float(category["score"]) * 100 for name, category in categories.items()}


def lighthouse_pages(wallet: Wallet, token: str, draft_id: str) -> dict[str, float]:
    results: dict[str, float] = {}
    cookie = f"cds_at={token}"
    for name, path, with_cookie in (
        ("landing", "/", False),
        ("wallet", "/papers", True),
        ("form", f"/applications/{draft_id}", True),
    ):
        scores = lighthouse(f"{wallet.server.base_url}{path}", cookie if with_cookie else None)
        print(f"  lighthouse {name}: " + ", ".join(f"{k} {v:.0f}" for k, v in scores.items()))
        results |= {f"web.lighthouse.{name}.{category}": score for category, score in scores.items()}
    return results


def passport_in_the_browser(wallet: Wallet, citizen: Citizen) -> dict[str, float]:
    """From the landing page to a submitted passport application, as a citizen with a full wallet does it."""
    loads: list[float] = []  # the pages the citizen saw (an HTML answer after any redirect)
    server: list[float] = []  # every page request's time at the server, the POSTs' included

    def count(response: Response) -> None:
        request = response.request
        if request.resource_type not in ("document", "xhr", "fetch") or "/static/" in request.url:
            return
        timing = request.timing
        server.append(max(0.0, timing["responseStart"] - timing["requestStart"]) / 1000)
        if response.status == 200 and "text/html" in (response.headers.get("content-type") or ""):
            loads.append(server[-1])

    with sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        page = browser.new_context(base_url=wallet.server.base_url, viewport={"width": 390, "height": 844}).new_page()
        page.on("response", count)
        started = time.perf_counter()
        _apply(page, wallet, citizen)
        seconds = time.perf_counter() - started
        browser.close()
    print(
        f"  passport in the browser: {len(loads)} page loads, {len(server)} requests, "
        f"server {sum(server) * 1000:.0f} ms, {seconds:.2f} s in all"
    )
    return {
        "web.passport_flow.page_loads": float(len(loads)),
        "web.passport_flow.requests": float(len(server)),
        "web.passport_flow.server_ms": sum(server) * 1000,
        "web.passport_flow.server_p50_ms": percentile(server, 50) * 1000,
        "web.passport_flow.wall_s": seconds,
    }


def _apply(page: Page, wallet: Wallet, citizen: Citizen) -> None:
    page.goto("/")
    page.get_by_role("link", name="Đăng nhập", exact=True).click()
    page.get_by_label("Số CCCD").fill(citizen.national_id)
    page.get_by_label("Mã PIN").fill(PIN)
    page.get_by_role("button", name="Đăng nhập").click()
    page.get_by_label("Mã xác thực").fill(wallet.outbox.code_for(citizen.e164))
    page.get_by_role("button", name="Xác nhận").click()
    page.get_by_role("link", name="Dịch vụ công", exact=True).click()
    page.get_by_role("link", name=re.compile("hộ chiếu", re.IGNORECASE)).first.click()
    page.get_by_role("button", name="Bắt đầu").click()
    page.get_by_role("button", name="Nộp hồ sơ").wait_for()
    _answer_missing(page, wallet)
    page.get_by_role("button", name="Nộp hồ sơ").click()
    page.get_by_text("Mã hồ sơ").first.wait_for()


def _answer_missing(page: Page, wallet: Wallet) -> None:
    """The asked fields the wallet cannot fill (for the passport: why it is asked), answered as a person would."""
    with httpx.Client(timeout=30) as client:
        procedure = client.get(f"{wallet.api}/procedures/{PROCEDURE}").json()
    for spec in procedure["fields"]:
        if "source" in spec or not spec["required"]:
            continue
        answer = answer_for(spec)
        labels = {c["value"]: c["label"] for c in spec.get("choice_labels", [])}
        if spec["type"] == "enum":
            page.get_by_label(labels.get(answer, str(answer)), exact=True).check()
        elif spec["type"] == "list":
            for value in answer:
                page.get_by_label(labels.get(value, str(value)), exact=True).check()
        else:
            page.get_by_label(spec["label"], exact=True).fill(str(answer))


def main() -> None:
    with wallet_server() as wallet, httpx.Client(timeout=30.0, trust_env=False) as client:
        token = _big_wallet(wallet, client)
        citizen = Citizen(_FIRST_CITIZEN["big_wallet"])
        draft = client.post(
            f"{wallet.api}/applications",
            json={"procedure_code": PROCEDURE},
            headers={"Authorization": f"Bearer {token}"},
        ).json()
        print("web: the wallet page (50 papers) against GET /api/v1/documents?limit=50")
        record(page_vs_api(wallet, token))
        print("web: cold load of the wallet page")
        record(cold_load(wallet, token))
        print("web: Lighthouse (mobile) on the landing, wallet and form pages")
        record(lighthouse_pages(wallet, token, draft["id"]))
        print("web: the passport application in the browser")
        record(passport_in_the_browser(wallet, citizen))


if __name__ == "__main__":
    main()
