"""Synthetic citizens and their papers, valid by the service's own rules and plainly fake.

Citizen number `n` always gets the same CCCD number, phone, name and papers, so a seed can be extended (`start`) and
its citizens found again. CCCD numbers are Đà Nẵng's (province 048) with the century, sex and birth-year digits
agreeing with the holder; the serial part is `n // 120`, so numbers stay distinct up to 120 million citizens. Phones
are `09` and eight digits of `n` (kept in E.164, as registration keeps them): distinct up to 100 million. Every
seeded citizen is at identity level 1 and holds papers they uploaded themselves, without scans.
"""

from __future__ import annotations

from datetime import date

from identity.holder import HolderProfile
from identity.validation import Sex, cccd_problems, normalize_phone

FAMILY = ("Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh", "Phan", "Võ", "Đặng", "Bùi")
MIDDLE = {"nam": ("Văn", "Hữu", "Minh", "Đức"), "nu": ("Thị", "Ngọc", "Thanh", "Thu")}
GIVEN = ("An", "Bình", "Chi", "Dũng", "Giang", "Hà", "Khoa", "Lan", "Mai", "Nam", "Phúc", "Quân", "Trang", "Vy")
YEARS = 60  # birth years 1950..2009
MAX_CITIZENS = 100_000_000
PAPER_TYPES = ("diploma", "health_insurance", "residence")


def profile(n: int) -> HolderProfile:
    """Citizen number `n`'s identity."""
    if not 0 <= n < MAX_CITIZENS:
        raise ValueError(f"a seeded citizen's number is 0 to {MAX_CITIZENS - 1}")
    sex: Sex = "nu" if n % 2 else "nam"
    year = 1950 + (n // 2) % YEARS
    century_digit = (0 if year < 2000 else 2) + (1 if sex == "nu" else 0)
    national_id = f"048{century_digit}{year % 100:02d}{n // (2 * YEARS):06d}"
    born = date(year, 1 + n % 12, 1 + n % 28)
    if problems := cccd_problems(national_id, date_of_birth=born, sex=sex):
        raise AssertionError(f"seeded CCCD {national_id}: {problems}")  # the generator's own bug, never input
    name = f"{FAMILY[n % 10]} {MIDDLE[sex][(n // 10) % 4]} {GIVEN[(n // 40) % 14]}"
    return HolderProfile(national_id, name, born, normalize_phone(f"09{n:08d}"), sex)


def papers(holder: HolderProfile, n: int, count: int) -> list[tuple[str, dict[str, object]]]:
    """`count` papers (type, fields) of citizen number `n`, cycling through `PAPER_TYPES`."""
    return [_paper(PAPER_TYPES[k % len(PAPER_TYPES)], holder, n, k) for k in range(count)]


def _paper(type_code: str, holder: HolderProfile, n: int, k: int) -> tuple[str, dict[str, object]]:
    born = holder.date_of_birth
    if type_code == "diploma":
        return type_code, {
            "title": "Bằng tốt nghiệp trung học phổ thông",
            "holder_name": holder.full_name,
            "date_of_birth": born.isoformat(),
            "institution": "Trường THPT Phan Châu Trinh, Đà Nẵng",
            "graduation_year": born.year + 18,
            "serial_number": f"DN-{n}-{k}",
            "issue_date": date(born.year + 18, 7, 15).isoformat(),
        }
    if type_code == "health_insurance":
        return type_code, {
            "card_number": f"DN{4800000000000 + n * 16 + k % 16:013d}",
            "full_name": holder.full_name,
            "date_of_birth": born.isoformat(),
            "sex": holder.sex,
            "registered_hospital": "Trung tâm Y tế quận Hải Châu",
            "valid_from": "2026-01-01",
            "valid_to": "2026-12-31",
        }
    return type_code, {
        "full_name": holder.full_name,
        "national_id": holder.national_id,
        "permanent_address": f"{1 + n % 200} Lê Duẩn, Hải Châu, Đà Nẵng",
        "household_head": holder.full_name,
        "relationship_to_head": "Chủ hộ",
        "issue_date": "2025-03-01",
    }
