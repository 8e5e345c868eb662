"""The log audit's checker finds a test citizen's data or a secret in a line, and is not fooled by our own ids."""

from __future__ import annotations

import json

from tests.log_audit import scan

MARKERS = {
    "001095012345": "national ID",
    "+84901234567": "phone",
    "Nguyễn Văn An": "full name",
    "246810": "PIN",
    "135792": "OTP code",
}
JWT = "eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiJjaXRpemVuIn0.c2lnbmF0dXJlLWJ5dGVz"


def line(**fields: object) -> tuple[str, int, str]:
    fields = {"event": "x", "timestamp": "2026-11-24T08:00:00.135792Z", **fields}
    return ("1.jsonl", 1, json.dumps(fields, ensure_ascii=False))


class TestScan:
    def test_a_clean_line_passes(self) -> None:
        assert scan([line(outbox_id="0193f0e2-8c1a-7b1e-9f00-135792abcdef", request_id="ab135792" * 4)], MARKERS) == []

    def test_each_marker_is_found(self) -> None:
        found = scan(
            [
                line(national_id="001095012345"),
                line(to="+84901234567"),
                line(detail="Xin chào Nguyễn Văn An"),
                line(pin="246810"),
                line(body="Mã OTP của bạn là 135792"),
            ],
            MARKERS,
        )
        assert [f.what for f in found] == ["national ID", "phone", "full name", "PIN", "OTP code"]

    def test_a_token_or_a_secret_is_found_by_its_shape(self) -> None:
        found = scan(
            [line(authorization=f"Bearer {JWT}"), line(refresh="r3Fq9Zk-Lm2_xYvT8wPaQeN5sJdHcGuB7oK1iV4nM6A")], {}
        )
        assert [f.what.split()[1] for f in found] == ["JWT", "43-character"]

    def test_an_escaped_name_is_found_too(self) -> None:
        escaped = ("1.jsonl", 1, json.dumps({"event": "x", "name": "Nguyễn Văn An"}))
        assert [f.what for f in scan([escaped], MARKERS)] == ["full name"]

    def test_a_marker_inside_a_longer_number_is_not_a_hit(self) -> None:
        assert scan([line(size=12468100)], MARKERS) == []
