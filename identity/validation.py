"""Vietnamese identifiers: CCCD numbers (Circular 59/2021 layout) and mobile phone numbers."""

from __future__ import annotations

import re
from datetime import date
from typing import Literal

Sex = Literal["nam", "nu"]

PROVINCE_CODES: dict[str, str] = {
    "001": "Hà Nội", "002": "Hà Giang", "004": "Cao Bằng", "006": "Bắc Kạn", "008": "Tuyên Quang",
    "010": "Lào Cai", "011": "Điện Biên", "012": "Lai Châu", "014": "Sơn La", "015": "Yên Bái",
    "017": "Hòa Bình", "019": "Thái Nguyên", "020": "Lạng Sơn", "022": "Quảng Ninh", "024": "Bắc Giang",
    "025": "Phú Thọ", "026": "Vĩnh Phúc", "027": "Bắc Ninh", "030": "Hải Dương", "031": "Hải Phòng",
    "033": "Hưng Yên", "034": "Thái Bình", "035": "Hà Nam", "036": "Nam Định", "037": "Ninh Bình",
    "038": "Thanh Hóa", "040": "Nghệ An", "042": "Hà Tĩnh", "044": "Quảng Bình", "045": "Quảng Trị",
    "046": "Thừa Thiên Huế", "048": "Đà Nẵng", "049": "Quảng Nam", "051": "Quảng Ngãi", "052": "Bình Định",
    "054": "Phú Yên", "056": "Khánh Hòa", "058": "Ninh Thuận", "060": "Bình Thuận", "062": "Kon Tum",
    "064": "Gia Lai", "066": "Đắk Lắk", "067": "Đắk Nông", "068": "Lâm Đồng", "070": "Bình Phước",
    "072": "Tây Ninh", "074": "Bình Dương", "075": "Đồng Nai", "077": "Bà Rịa – Vũng Tàu", "079": "Hồ Chí Minh",
    "080": "Long An", "082": "Tiền Giang", "083": "Bến Tre", "084": "Trà Vinh", "086": "Vĩnh Long",
    "087": "Đồng Tháp", "089": "An Giang", "091": "Kiên Giang", "092": "Cần Thơ", "093": "Hậu Giang",
    "094": "Sóc Trăng", "095": "Bạc Liêu", "096": "Cà Mau",
}  # fmt: skip

_CCCD = re.compile(r"[0-9]{12}")
_MOBILE_PREFIXES = ("3", "5", "7", "8", "9")


def cccd_problems(number: str, *, date_of_birth: date | None = None, sex: Sex | None = None) -> list[str]:
    """Why `number` is not a valid CCCD for this holder; empty when it is.

    The 4th digit encodes century and sex (0/1: 1900s male/female, 2/3: 2000s, 4/5: 2100s) and the next two
    the last digits of the birth year, so a number must agree with the holder's date of birth and sex.
    """
    if not _CCCD.fullmatch(number):
        return ["must be exactly 12 digits"]
    problems = []
    if number[:3] not in PROVINCE_CODES:
        problems.append(f"unknown province code {number[:3]}")
    century_digit = int(number[3])
    if century_digit > 5:
        problems.append("the century/sex digit must be 0 to 5")
        return problems
    if date_of_birth is not None:
        century = 1900 + 100 * (century_digit // 2)
        if not (century <= date_of_birth.year < century + 100):
            problems.append("the century digit does not match the date of birth")
        if int(number[4:6]) != date_of_birth.year % 100:
            problems.append("the birth-year digits do not match the date of birth")
    if sex is not None and (century_digit % 2 == 1) != (sex == "nu"):
        problems.append("the sex digit does not match the declared sex")
    return problems


def cccd_sex(number: str) -> Sex:
    return "nu" if int(number[3]) % 2 else "nam"


def normalize_phone(raw: str) -> str | None:
    """E.164 form (+84 and 9 digits) of a Vietnamese mobile number, or None if it is not one."""
    digits = re.sub(r"[\s.\-()]", "", raw)
    if digits.startswith("+84"):
        national = digits[3:]
    elif digits.startswith("84") and len(digits) == 11:
        national = digits[2:]
    elif digits.startswith("0"):
        national = digits[1:]
    else:
        return None
    if not re.fullmatch(r"[0-9]{9}", national) or not national.startswith(_MOBILE_PREFIXES):
        return None
    return "+84" + national


def mask_national_id(number: str) -> str:
    """Show only the last 4 digits: enough for an officer to match a card, useless to a collector."""
    return "*" * (len(number) - 4) + number[-4:]


def is_valid_pin(pin: str) -> bool:
    return len(pin) == 6 and pin.isascii() and pin.isdigit()
