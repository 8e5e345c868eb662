"""Builders of valid test data: CCCD numbers that agree with their holder, phones, registrations."""

from __future__ import annotations

import itertools
import json
import os
import re
import secrets
import time
from datetime import date
from pathlib import Path
from typing import Any

from identity.validation import normalize_phone
from tests.log_audit import record_marker

# Against a running stack (WALLET_TEST_BASE_URL) several processes register into one database and one dev outbox:
# each starts its numbers at a random place so that their citizens' ID numbers and phones do not meet.
_OFFSET = secrets.randbelow(800_000) if os.environ.get("WALLET_TEST_BASE_URL") else 0
_serials = itertools.count(100001 + _OFFSET)
_phones = itertools.count(1000000 + _OFFSET * 10)


def make_cccd(date_of_birth: date, *, sex: str = "nam", province: str = "048") -> str:
    century_digit = 2 * ((date_of_birth.year - 1900) // 100) + (1 if sex == "nu" else 0)
    national_id = f"{province}{century_digit}{date_of_birth.year % 100:02d}{next(_serials) % 1_000_000:06d}"
    record_marker("national ID", national_id)
    return national_id


def make_phone() -> str:
    phone = f"090{next(_phones) % 10_000_000:07d}"
    record_marker("phone", phone)
    record_marker("phone", f"+84{phone[1:]}")
    return phone


def registration(**overrides: Any) -> dict[str, Any]:
    dob = overrides.pop("dob", date(1995, 3, 2))
    sex = overrides.pop("sex_for_id", "nam")
    data = {
        "national_id": make_cccd(dob, sex=sex),
        "full_name": "Nguyễn Văn An",
        "date_of_birth": dob.isoformat(),
        "phone": make_phone(),
        "pin": "246810",
    }
    data.update(overrides)
    _record_citizen(data)
    return data


def _record_citizen(data: dict[str, Any]) -> None:
    """Every value a test citizen registers with is a marker the log audit looks for (`tests.log_audit`)."""
    for field, kind in (("national_id", "national ID"), ("full_name", "full name"), ("pin", "PIN")):
        if isinstance(data.get(field), str):
            record_marker(kind, data[field])
    if isinstance(data.get("phone"), str) and (normalized := normalize_phone(data["phone"])):
        record_marker("phone", normalized)
        record_marker("phone", data["phone"])


def outbox_lines(outbox: Path) -> list[dict[str, Any]]:
    if not outbox.exists():
        return []
    return [json.loads(line) for line in outbox.read_text(encoding="utf-8").splitlines() if line.strip()]


# Through a stack the SMS may be sent by another worker's dispatcher a moment after the answer (tests/stack/e2e.py).
CODE_WAIT = 10.0 if os.environ.get("WALLET_TEST_BASE_URL") else 3.0


def sms_codes(outbox: Path, *, to: str | None = None) -> list[tuple[int, str]]:
    """Each OTP sent by SMS (to a given E.164 number, if named), oldest first, with its line's place in the outbox."""
    found = []
    for place, line in enumerate(outbox_lines(outbox)):
        sms = line["channel"] == "sms" and (to is None or line["to"] == to)
        if sms and (match := re.search(r"\b(\d{6})\b", line["body"])):
            found.append((place, match.group(1)))
    return found


def last_code(outbox: Path, *, to: str | None = None, wait: float = CODE_WAIT) -> str:
    """The OTP in the newest SMS (to a given E.164 number, if named). Waits up to `wait` seconds for it: a request
    delivers its SMS before answering, unless the app's periodic dispatcher claimed it first and sends it a moment
    later."""
    deadline = time.monotonic() + wait
    while True:
        if codes := sms_codes(outbox, to=to):
            record_marker("OTP code", codes[-1][1])
            return codes[-1][1]
        if time.monotonic() >= deadline:
            raise AssertionError("no OTP found in the outbox")
        time.sleep(0.02)


def e164(phone: str) -> str:
    normalized = normalize_phone(phone)
    assert normalized is not None, phone
    return normalized
