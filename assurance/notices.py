"""What the assurance services tell people (Vietnamese; SMS, email and in-app). Never a six-digit number but in
code messages, so nobody mistakes a notice for a code."""

from __future__ import annotations

from datetime import datetime

from identity.notices import IF_NOT_YOU, Notice, vietnam_time

RECOVERY_CODE_SMS = (
    "Công Dân Số: mã khôi phục tài khoản của bạn là {code}, hiệu lực 5 phút. Chỉ nhập mã này khi bạn đang khôi "
    "phục tài khoản; không chia sẻ với bất kỳ ai, kể cả cán bộ."
)


def _released(count: int) -> str:
    return f" {count} giấy tờ do cơ quan cấp đang chờ bạn đã được đưa vào ví." if count else ""


def level_two(at: datetime, how: str, released: int) -> Notice:
    return Notice(
        "Tài khoản đã được xác thực danh tính mức 2",
        f"Công Dân Số: danh tính của bạn đã được xác thực mức 2 {how} lúc {vietnam_time(at)}.{_released(released)} "
        f"{IF_NOT_YOU}",
    )


def recovered(at: datetime, how: str, released: int) -> Notice:
    return Notice(
        "Tài khoản Công Dân Số đã được khôi phục",
        f"Công Dân Số: tài khoản của bạn đã được khôi phục {how} lúc {vietnam_time(at)}: số điện thoại và mã PIN "
        f"mới đã được đặt, mọi phiên đăng nhập và ứng dụng xác thực cũ đã bị thu hồi.{_released(released)}",
    )


def recovered_old_phone(at: datetime, how: str) -> Notice:
    return Notice(
        "Tài khoản Công Dân Số đã chuyển sang số điện thoại khác",
        f"Công Dân Số: tài khoản gắn với số điện thoại này đã được khôi phục {how} lúc {vietnam_time(at)} và từ nay "
        f"dùng một số điện thoại khác. {IF_NOT_YOU}",
    )


def closed_as_impostor(at: datetime, how: str) -> Notice:
    return Notice(
        "Tài khoản Công Dân Số đã bị đóng",
        f"Công Dân Số: người mang số định danh mà tài khoản của bạn đăng ký đã xác thực danh tính {how} lúc "
        f"{vietnam_time(at)}. Tài khoản đăng ký bằng số điện thoại này đã bị đóng và giấy tờ trong đó đã bị xóa "
        "vĩnh viễn. Nếu đó là số định danh của bạn, hãy mang thẻ CCCD đến bộ phận một cửa.",
    )


def paper_held() -> Notice:
    return Notice(
        "Có giấy tờ đang chờ bạn",
        "Công Dân Số: một cơ quan vừa cấp giấy tờ cho bạn. Để nhận, hãy xác thực danh tính mức 2: mang thẻ CCCD đến "
        "bộ phận một cửa, hoặc đăng nhập bằng tài khoản định danh điện tử quốc gia (VNeID).",
    )


def counter(officer_name: str, agency_name: str) -> str:
    return f"tại bộ phận một cửa ({agency_name}, cán bộ {officer_name})"


def eid(provider: str) -> str:
    return f"bằng tài khoản định danh điện tử ({provider})"
