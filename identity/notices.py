"""What the identity services tell people by SMS and email (Vietnamese), and the masking of what they show.

Security notices name the time in Vietnam's time zone and say what to do if it was not the person: go to a one-stop
counter or sign in with national e-ID, the two ways back into an account whose factors someone else controls. They
never carry a six-digit number, so nobody mistakes one for a code (and tests read codes by that shape).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

VIETNAM = timezone(timedelta(hours=7), "ICT")  # no daylight saving time
IF_NOT_YOU = (
    "Nếu không phải bạn, hãy đến bộ phận một cửa gần nhất hoặc đăng nhập bằng tài khoản định danh điện tử "
    "quốc gia (VNeID) để bảo vệ tài khoản."
)
OTP_SMS = "Công Dân Số: mã xác thực của bạn là {code}, hiệu lực 5 phút. Không chia sẻ mã này với bất kỳ ai."


@dataclass(frozen=True)
class Notice:
    subject: str
    body: str


def vietnam_time(moment: datetime) -> str:
    """`08:05 ngày 24/11/2026`, in Vietnam's time."""
    local = moment.astimezone(VIETNAM)
    return f"{local:%H:%M} ngày {local:%d/%m/%Y}"


def last_four(digits: str | None) -> str:
    return (digits or "")[-4:]


def masked_phone(phone: str | None) -> str:
    """A phone shown by its last 4 digits only (`***5678`), as in an authenticator app's account list."""
    return f"***{last_four(phone)}" if phone else "tài khoản"


def authenticator_added(at: datetime, *, replaced: bool) -> Notice:
    what = "Một ứng dụng xác thực mới đã thay thế ứng dụng cũ" if replaced else "Một ứng dụng xác thực đã được gắn"
    return Notice(
        "Ứng dụng xác thực mới cho tài khoản Công Dân Số",
        f"Công Dân Số: {what} cho tài khoản của bạn lúc {vietnam_time(at)}; từ nay mã đăng nhập lấy từ ứng dụng "
        f"này. {IF_NOT_YOU}",
    )


def authenticator_removed(at: datetime) -> Notice:
    return Notice(
        "Ứng dụng xác thực đã được gỡ khỏi tài khoản Công Dân Số",
        f"Công Dân Số: Ứng dụng xác thực đã được gỡ khỏi tài khoản của bạn lúc {vietnam_time(at)}; từ nay mã "
        f"đăng nhập được gửi qua SMS. {IF_NOT_YOU}",
    )


def registration_attempted(at: datetime) -> Notice:
    """To the owner of an account whose national ID someone tried to register again."""
    return Notice(
        "Có người thử đăng ký tài khoản bằng số định danh của bạn",
        f"Công Dân Số: Lúc {vietnam_time(at)}, có người dùng số định danh của bạn để đăng ký một tài khoản mới; "
        "không có tài khoản nào được tạo và tài khoản của bạn không thay đổi. Nếu đó là bạn: bạn đã có tài khoản, "
        "hãy đăng nhập. Nếu không phải bạn: bạn không cần làm gì; nếu lo ngại, hãy đến bộ phận một cửa gần nhất "
        "hoặc đăng nhập bằng tài khoản định danh điện tử quốc gia (VNeID).",
    )


def cannot_register(at: datetime, *, national_id: str, retry_minutes: int) -> str:
    """To the phone typed in a registration that cannot go ahead (the ID is taken, or its registration is under way).
    It says no more than that, and what to do."""
    return (
        f"Công Dân Số: Lúc {vietnam_time(at)}, số định danh có 4 số cuối {last_four(national_id)} không thể đăng ký "
        f"với số điện thoại này vào lúc này. Nếu bạn vừa đăng ký, hãy dùng mã đã nhận hoặc thử lại sau "
        f"{retry_minutes} phút. Nếu bạn đã có tài khoản, hãy đăng nhập. Cần hỗ trợ, hãy đến bộ phận một cửa hoặc "
        "đăng nhập bằng tài khoản định danh điện tử quốc gia (VNeID). Nếu bạn không đăng ký, hãy bỏ qua tin này."
    )
