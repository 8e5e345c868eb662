"""The body scanner: nesting depth outside strings and UTF-8 validity, however the body is split into chunks."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from api.json_guard import BodyScanner, MalformedJson

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(alphabet=st.sampled_from('ab[]{}"\\ễ\n')),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner, max_size=3),
    max_leaves=20,
)


def depth_of(value: Any) -> int:
    if isinstance(value, list):
        return 1 + max((depth_of(v) for v in value), default=0)
    if isinstance(value, dict):
        return 1 + max((depth_of(v) for v in value.values()), default=0)
    return 0


def scan(body: bytes, cuts: list[int], max_depth: int) -> None:
    scanner = BodyScanner(max_depth)
    points = sorted({c % (len(body) + 1) for c in cuts})
    for start, end in zip([0, *points], [*points, len(body)], strict=True):
        scanner.feed(body[start:end])
    scanner.feed(b"", final=True)


@given(json_values, st.lists(st.integers(min_value=0), max_size=6))
def test_accepts_exactly_the_bodies_within_the_bound(value: Any, cuts: list[int]) -> None:
    body = json.dumps(value, ensure_ascii=False).encode()
    depth = depth_of(value)
    scan(body, cuts, max_depth=max(depth, 1))
    if depth > 1:
        with pytest.raises(MalformedJson):
            scan(body, cuts, max_depth=depth - 1)


@given(st.binary(min_size=1), st.lists(st.integers(min_value=0), max_size=4))
def test_refuses_every_invalid_utf8(body: bytes, cuts: list[int]) -> None:
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        with pytest.raises(MalformedJson):
            scan(body.replace(b"[", b" ").replace(b"{", b" "), cuts, max_depth=1)


def test_an_escape_split_across_chunks_still_hides_the_quote() -> None:
    scanner = BodyScanner(1)
    for chunk in (b'["\\', b'"[[[', b'"]'):
        scanner.feed(chunk)
    assert scanner.depth == 0 and not scanner.in_string
