"""The pieces of an attestation that need no database: canonical fields and the QR budget of the paper's name."""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Callable
from datetime import UTC, datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from crypto.tokens import IssuedToken
from wallet.attestations import (
    MAX_QR_VERSION,
    b64url,
    canonical_fields,
    fields_hash,
    qr_version,
    render_qr,
    verification_url,
)
from wallet.issuer import fit_to_qr

BASE = "https://congdanso.example.vn/api/v1/verify/documents"
_values = st.one_of(st.none(), st.integers(), st.text(max_size=20), st.lists(st.text(max_size=5), max_size=3))


class TestCanonicalFields:
    @given(st.dictionaries(st.text(max_size=10), _values, max_size=8))
    def test_key_order_does_not_matter(self, fields: dict[str, object]) -> None:
        shuffled = dict(reversed(list(fields.items())))
        assert canonical_fields(fields) == canonical_fields(shuffled)
        assert json.loads(canonical_fields(fields)) == fields

    def test_sorted_compact_utf8(self) -> None:
        fields = {"title": "Giấy chứng nhận", "graduation_year": 2017, "major": None}
        expected = '{"graduation_year":2017,"major":null,"title":"Giấy chứng nhận"}'.encode()
        assert canonical_fields(fields) == expected
        assert fields_hash(fields) == b64url(hashlib.sha256(expected).digest())


class TestQrVersion:
    @given(st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.", max_size=1800))
    def test_the_version_is_the_one_the_drawing_has(self, token: str) -> None:
        url = verification_url(BASE, token)
        assert qr_version(url) == render_qr(url).version

    @settings(max_examples=60)
    @given(
        st.one_of(
            st.text(min_size=1, max_size=400),
            st.text(alphabet="0123456789", min_size=1, max_size=400),
            st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 $%*+-./:", min_size=1, max_size=400),
            st.text(alphabet="漢字日本語の証明書", min_size=1, max_size=200),
        )
    )
    def test_any_content_gets_the_drawings_version(self, content: str) -> None:
        # whichever mode segno picks (numeric, alphanumeric, kanji, bytes in ISO-8859-1 or UTF-8)
        assert qr_version(content) == render_qr(content).version


OVERHEAD = 700  # the token's other claims, header and signature


def _signer(overhead: int = OVERHEAD) -> tuple[list[str], Callable[[str], IssuedToken]]:
    """A fake signer whose token grows with the name, as a JWS does."""
    names: list[str] = []

    def sign(name: str) -> IssuedToken:
        names.append(name)
        token = "x" * overhead + b64url(json.dumps(name).encode())
        return IssuedToken(token, "jti", datetime(2030, 1, 1, tzinfo=UTC))

    return names, sign


class TestNameBudget:
    def test_a_name_that_fits_is_signed_once_and_whole(self) -> None:
        names, sign = _signer()
        issued = fit_to_qr("Căn cước công dân", sign, BASE)
        assert names == ["Căn cước công dân"]
        assert qr_version(verification_url(BASE, issued.token)) <= MAX_QR_VERSION

    def test_a_long_name_keeps_the_longest_prefix_that_fits(self) -> None:
        title = "Giấy chứng nhận quyền sử dụng đất, quyền sở hữu nhà ở và tài sản khác gắn liền với đất. " * 4
        _names, sign = _signer()
        issued = fit_to_qr(title, sign, BASE)
        assert qr_version(verification_url(BASE, issued.token)) <= MAX_QR_VERSION
        kept = json.loads(_decoded_name(issued.token))
        assert kept.endswith("…") and title.startswith(kept[:-1])
        longer = title[: len(kept)].rstrip() + "…"  # one more character of the name no longer fits
        _, sign_again = _signer()
        assert qr_version(verification_url(BASE, sign_again(longer).token)) > MAX_QR_VERSION


def _decoded_name(token: str) -> str:
    part = token[OVERHEAD:]
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)).decode()
