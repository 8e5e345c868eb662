"""The QR image: level M, version 15 or lower, decodable; and the limits of the QR service."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crypto.clock import FrozenClock
from crypto.keyring import Keyring
from crypto.tokens import TokenSigner
from identity.qr import MAX_QR_VERSION, QR_AUDIENCE, QR_TTL, QR_TYP, QrCapacityExceeded, QrService, qr_svg, render_qr
from tests import qr_raster

NOW = datetime(2026, 11, 24, 8, 0, tzinfo=UTC)


def _token(issuer: str) -> str:
    ring = Keyring.generate(now=NOW, development=True)
    signer = TokenSigner(lambda: ring, issuer=issuer, clock=FrozenClock(NOW))
    subject = secrets.token_urlsafe(16)  # the shape of a citizen's qr_id
    return signer.issue(typ=QR_TYP, audience=QR_AUDIENCE, subject=subject, ttl=QR_TTL).token


class TestRender:
    @pytest.mark.parametrize(
        "issuer", ["http://127.0.0.1:8000", "https://congdanso.gov.vn", "https://congdanso.dichvucong.gov.vn"]
    )
    def test_our_tokens_fit_version_15_at_level_m(self, issuer: str) -> None:
        code = render_qr(_token(issuer))
        assert code.error == "M"
        assert int(code.version) <= MAX_QR_VERSION

    def test_a_token_too_long_for_version_15_is_refused(self) -> None:
        with pytest.raises(QrCapacityExceeded):
            render_qr("x" * 500)

    @settings(max_examples=25, deadline=None)
    @given(
        st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.", min_size=1, max_size=400)
    )
    def test_the_svg_decodes_back(self, text: str) -> None:
        decoded = qr_raster.decode_svg(qr_svg(text))
        assert [d.text for d in decoded] == [text]

    @pytest.mark.skipif(not qr_raster.HAVE_RESVG, reason="resvg_py not installed")
    def test_both_rasterizers_agree(self) -> None:
        svg = qr_svg(_token("https://congdanso.gov.vn"))
        real = qr_raster.rasterize_with_resvg(svg)
        ours = qr_raster.rasterize_segno_path(svg, pixels_per_unit=4)
        assert real.size == ours.size
        assert real.point(lambda p: 255 if p > 127 else 0).tobytes() == ours.tobytes()

    def test_the_fallback_rasterizer_refuses_what_it_does_not_understand(self) -> None:
        with pytest.raises(ValueError, match="segno"):
            qr_raster.rasterize_segno_path("<svg><circle r='1'/></svg>")
        svg = qr_svg("abc").replace('d="M', 'd="C1 2 3 4 5 6M')
        with pytest.raises(ValueError, match="unsupported"):
            qr_raster.rasterize_segno_path(svg)


class TestServiceLimits:
    @pytest.mark.parametrize("ttl", [timedelta(minutes=5, seconds=1), timedelta(0), timedelta(hours=1)])
    def test_a_qr_token_never_lives_more_than_five_minutes(self, ttl: timedelta) -> None:
        fake: Any = object()
        with pytest.raises(ValueError, match="5 minutes"):
            QrService(fake, fake, fake, ttl=ttl)
