"""The identity QR's fast drawing: the very symbol segno draws at the same version and mask, every token the
service can issue fits it, and anything that does not takes segno's automatic path."""

from __future__ import annotations

import io
import secrets
from datetime import UTC, datetime

import pytest
import segno
from hypothesis import given, settings
from hypothesis import strategies as st

from crypto.clock import FrozenClock
from crypto.keyring import Keyring
from crypto.tokens import TokenSigner
from identity import qr_render
from identity.qr import QR_AUDIENCE, QR_TTL, QR_TYP, QrCapacityExceeded, identity_qr_svg, qr_svg
from tests import qr_raster

NOW = datetime(2026, 11, 24, 8, 0, tzinfo=UTC)
# The longest public URL the tests of the service use, and a qr_id as long as its column allows (40; issued: 22).
LONGEST_ISSUER = "https://congdanso.dichvucong.gov.vn"
LONGEST_QR_ID = "Q" * 40


def _segno(content: bytes) -> segno.QRCode:
    return segno.make(
        content, error="m", mode="byte", version=15, mask=qr_render.FIXED_MASK, boost_error=False, micro=False
    )


def _segno_svg(content: bytes) -> str:
    out = io.BytesIO()
    _segno(content).save(out, kind="svg", scale=4, xmldecl=False, svgns=True, nl=False)
    return out.getvalue().decode()


def _token(issuer: str, subject: str) -> str:
    ring = Keyring.generate(now=NOW, development=True)
    signer = TokenSigner(lambda: ring, issuer=issuer, clock=FrozenClock(NOW))
    return signer.issue(typ=QR_TYP, audience=QR_AUDIENCE, subject=subject, ttl=QR_TTL).token


class TestSameSymbolAsSegno:
    @settings(max_examples=40, deadline=None)
    @given(st.binary(max_size=qr_render.CAPACITY))
    def test_module_for_module(self, content: bytes) -> None:
        expected = ["".join("1" if module else "0" for module in row) for row in _segno(content).matrix]
        assert qr_render.matrix_rows(content) == expected

    @settings(max_examples=20, deadline=None)
    @given(st.binary(max_size=qr_render.CAPACITY))
    def test_byte_for_byte_in_svg(self, content: bytes) -> None:
        assert qr_render.svg(content) == _segno_svg(content)

    @pytest.mark.parametrize("length", [0, 1, qr_render.CAPACITY - 1, qr_render.CAPACITY])
    def test_at_the_edges_of_the_capacity(self, length: int) -> None:
        content = secrets.token_bytes(length)
        assert qr_render.svg(content) == _segno_svg(content)

    def test_more_than_the_capacity_is_refused(self) -> None:
        with pytest.raises(ValueError, match="413 bytes"):
            qr_render.matrix_rows(b"x" * (qr_render.CAPACITY + 1))


class TestIdentityQr:
    def test_the_longest_token_the_service_issues_fits_and_decodes(self) -> None:
        token = _token(LONGEST_ISSUER, LONGEST_QR_ID)
        assert len(token) <= qr_render.CAPACITY
        svg = identity_qr_svg(token)
        assert svg == qr_render.svg(token.encode())  # the fixed-version path, not the fallback
        decoded = qr_raster.decode_svg(svg)
        assert [d.text for d in decoded] == [token]
        assert decoded[0].ec_level == "M"

    def test_a_development_token_decodes_too(self) -> None:
        token = _token("http://127.0.0.1:8000", secrets.token_urlsafe(16))
        assert [d.text for d in qr_raster.decode_svg(identity_qr_svg(token))] == [token]

    def test_an_over_long_token_takes_the_automatic_path_which_refuses_above_version_15(self) -> None:
        with pytest.raises(QrCapacityExceeded):
            identity_qr_svg("x" * (qr_render.CAPACITY + 1))

    def test_a_token_the_fast_path_does_not_encode_falls_back_to_segno(self) -> None:
        text = "Mã định danh " + "x" * 40  # not ASCII: segno chooses its encoding
        assert identity_qr_svg(text) == qr_svg(text)
        assert [d.text for d in qr_raster.decode_svg(identity_qr_svg(text))] == [text]
