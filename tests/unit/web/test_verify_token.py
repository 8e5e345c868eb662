"""What the public check at /verify takes from its field: the bare token, or the verification address a phone's
camera reads off the printed QR (the address `wallet.attestations.verification_url` builds)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from wallet.attestations import verification_url
from web.controllers.verify import token_of

BASE64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
tokens = st.lists(st.text(BASE64URL, min_size=1, max_size=200), min_size=3, max_size=3).map(".".join)
bases = st.sampled_from(
    ["http://127.0.0.1:8000/api/v1/verify/documents", "https://congdanso.gov.vn/api/v1/verify/documents"]
)


@given(tokens)
def test_a_bare_token_is_itself(token: str) -> None:
    assert token_of(f"  {token}\n") == token


@given(tokens, bases)
def test_the_address_gives_its_token(token: str, base: str) -> None:
    assert token_of(verification_url(base, token)) == token
    assert token_of(f"{verification_url(base, token)}&lang=en") == token


def test_an_address_without_a_token_is_left_for_the_verifier_to_refuse() -> None:
    assert token_of("https://example.vn/?q=1") == "https://example.vn/?q=1"


def test_blank_is_blank() -> None:
    assert token_of("   ") == ""
