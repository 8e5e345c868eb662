"""What the counter-scan tests and benchmark feed the scan page: a citizen's real QR token (through the API), the same
token as a PNG photo and as a `.y4m` video for Chromium's fake camera, an expired token signed with the server's own
key, and a Chromium that films that video."""

from __future__ import annotations

import io
from datetime import timedelta
from pathlib import Path

import segno
from playwright.sync_api import Browser, Playwright

from api.settings import Settings
from crypto.clock import SystemClock
from crypto.keyring import KeyringFile
from crypto.tokens import TokenSigner
from identity.qr import QR_AUDIENCE, QR_TYP
from tests.web.conftest import CHROMIUM, Person
from tests.web.server import WebServer
from tests.web.world import bearer, ok

# The fake camera's picture: VGA, the QR drawn in the middle as big as fits with its quiet zone.
WIDTH, HEIGHT = 640, 480


def qr_token(web: WebServer, person: Person) -> str:
    """A fresh QR token of the citizen, as `GET /me/qr` gives their app."""
    with web.api() as api:
        return str(ok(api.get("/me/qr", headers=bearer(person.token)))["token"])


def qr_png(token: str) -> bytes:
    out = io.BytesIO()
    segno.make(token, error="m", boost_error=False, micro=False).save(out, kind="png", scale=6, border=4)
    return out.getvalue()


def qr_y4m(token: str, path: Path, frames: int = 2) -> Path:
    """A YUV4MPEG2 video of the QR (grey picture: Y plane only matters, chroma neutral) that Chromium loops."""
    matrix = [list(row) for row in segno.make(token, error="m", boost_error=False, micro=False).matrix]
    border = 4
    side = len(matrix) + 2 * border
    scale = min(WIDTH, HEIGHT) // side
    left, top = (WIDTH - side * scale) // 2, (HEIGHT - side * scale) // 2
    luma = bytearray(b"\xff" * (WIDTH * HEIGHT))
    for r, row in enumerate(matrix):
        for c, dark in enumerate(row):
            if dark:
                y0, x0 = top + (r + border) * scale, left + (c + border) * scale
                for y in range(y0, y0 + scale):
                    luma[y * WIDTH + x0 : y * WIDTH + x0 + scale] = b"\x00" * scale
    chroma = b"\x80" * (WIDTH // 2 * HEIGHT // 2)
    frame = b"FRAME\n" + bytes(luma) + chroma + chroma
    path.write_bytes(f"YUV4MPEG2 W{WIDTH} H{HEIGHT} F30:1 Ip A1:1 C420jpeg\n".encode() + frame * frames)
    return path


def expired_token(web: WebServer, token: str) -> str:
    """The citizen's QR token as the server would sign it, but past its expiry (the server has no clock to move)."""
    import jwt

    subject = str(jwt.decode(token, options={"verify_signature": False})["sub"])
    settings = Settings(data_dir=web.data_dir, env="dev", public_url=web.base_url)
    signer = TokenSigner(KeyringFile(settings.resolved_keyring_file), issuer=web.base_url, clock=SystemClock())
    return signer.issue(typ=QR_TYP, audience=QR_AUDIENCE, subject=subject, ttl=timedelta(seconds=-60)).token


def forged_token(token: str) -> str:
    """The same claims under someone else's signature."""
    header, claims, signature = token.split(".")
    flipped = ("A" if signature[0] != "A" else "B") + signature[1:]
    return f"{header}.{claims}.{flipped}"


def camera_browser(playwright: Playwright, video: Path) -> Browser:
    """A Chromium of its own whose camera films `video` (the flag is per browser, not per page)."""
    return playwright.chromium.launch(
        executable_path=CHROMIUM,
        args=[
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--use-fake-device-for-media-stream",
            "--use-fake-ui-for-media-stream",
            f"--use-file-for-fake-video-capture={video}",
        ],
    )
