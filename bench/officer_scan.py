"""The counter's camera scan in a real browser: Chromium's fake camera films a citizen's fresh QR token (a `.y4m` made
from its segno matrix); the time from pressing "Bật camera" to the verified result's heading on screen (getUserMedia,
the first frames, decoding by the vendored zxing-wasm polyfill, `POST /officer/scan`, `QrService.verify`, the redirect
and the result page), and from the video's first frame to the same. A new browser per scan, as the fake camera's file
is fixed at launch; the page is open and its decoder loaded before the button is pressed, as at a real counter.

`python -m bench.officer_scan`. Goal (read from `bench/results.json`, never asserted here): p50 < 500 ms.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from playwright.sync_api import sync_playwright

from bench.harness import percentile, record
from tests.web.conftest import new_context, registered
from tests.web.scan_world import camera_browser, qr_token, qr_y4m
from tests.web.server import WebServer
from tests.web.world import new_agency, new_staff, staff_signed_in

SCANS = 20

# Resolves with [ms from the click, ms from the video's first frame] once the result's heading is on screen.
_MEASURE = """() => new Promise((resolve, reject) => {
  const video = document.querySelector('#scan-camera video');
  let clicked = 0, firstFrame = 0;
  video.addEventListener('playing', () => { firstFrame = performance.now(); }, { once: true });
  const seen = () => {
    const heading = document.querySelector('h1');
    if (heading && heading.textContent.includes('Hợp lệ')) {
      const now = performance.now();
      watcher.disconnect();
      resolve([now - clicked, now - (firstFrame || clicked)]);
    }
  };
  const watcher = new MutationObserver(seen);
  watcher.observe(document.documentElement, { childList: true, subtree: true, characterData: true });
  setTimeout(() => reject(new Error('no result within 10 s')), 10000);
  clicked = performance.now();
  document.querySelector('.camera-start').click();
})"""


def scan_times(web: WebServer, scans: int = SCANS) -> tuple[list[float], list[float]]:
    staff = new_staff(web, new_agency(web, name="Bộ phận một cửa (bench)"))
    person = registered(web)
    from_click: list[float] = []
    from_frame: list[float] = []
    with sync_playwright() as playwright, tempfile.TemporaryDirectory() as tmp:
        for n in range(scans):
            video = qr_y4m(qr_token(web, person), Path(tmp) / f"qr{n}.y4m")
            browser = camera_browser(playwright, video)
            try:
                context = new_context(browser, web, permissions=["camera"])
                staff_signed_in(context, web, staff)
                page = context.new_page()
                page.goto("/officer/scan")
                page.wait_for_selector("#scan-camera[data-decoder]", state="attached")
                click_ms, frame_ms = page.evaluate(_MEASURE)
                from_click.append(float(click_ms))
                from_frame.append(float(frame_ms))
            finally:
                browser.close()
    return from_click, from_frame


def main() -> None:
    with WebServer() as web:
        from_click, from_frame = scan_times(web)
    record(
        {
            "officer_scan.camera_to_result.p50_ms": percentile(from_click, 50),
            "officer_scan.camera_to_result.p95_ms": percentile(from_click, 95),
            "officer_scan.first_frame_to_result.p50_ms": percentile(from_frame, 50),
            "officer_scan.first_frame_to_result.p95_ms": percentile(from_frame, 95),
            "officer_scan.scans": float(len(from_click)),
        }
    )


if __name__ == "__main__":
    main()
