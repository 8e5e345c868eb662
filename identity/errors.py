"""Identity errors: each carries a stable `code`; HTTP statuses live only in `api/errors.py`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence


class IdentityError(Exception):
    code = "identity_error"
    title = "Lỗi xác thực"  # user-facing titles in Vietnamese
    # True when the state changed before the error (a counted failure) must still be committed.
    keeps_changes = False

    def __init__(self, detail: str = "") -> None:
        super().__init__(detail or self.title)
        self.detail = detail or self.title


class ValidationFailed(IdentityError):
    code = "validation_failed"
    title = "Dữ liệu không hợp lệ"

    def __init__(self, errors: Mapping[str, Sequence[str]]) -> None:
        super().__init__("; ".join(f"{k}: {', '.join(v)}" for k, v in errors.items()))
        self.errors = {k: list(v) for k, v in errors.items()}


class AlreadyRegistered(IdentityError):
    """No longer raised: a registration for a taken ID answers like any other (no account oracle). Kept so that
    clients and the error table built against it still resolve."""

    code = "already_registered"
    title = "Số định danh này đã được đăng ký"


class InvalidCredentials(IdentityError):
    code = "invalid_credentials"
    title = "Số định danh hoặc mã PIN không đúng"


class OtpInvalid(IdentityError):
    code = "otp_invalid"
    title = "Mã xác thực không đúng"
    keeps_changes = True


class OtpExpired(IdentityError):
    code = "otp_expired"
    title = "Mã xác thực đã hết hạn"


class OtpAttemptsExceeded(IdentityError):
    code = "otp_attempts_exceeded"
    title = "Nhập sai quá số lần cho phép; hãy đăng nhập lại"
    keeps_changes = True


class RateLimited(IdentityError):
    code = "rate_limited"
    title = "Quá nhiều yêu cầu; vui lòng thử lại sau"

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"Vui lòng thử lại sau {retry_after} giây")
        self.retry_after = retry_after


class InvalidToken(IdentityError):
    code = "invalid_token"
    title = "Phiên đăng nhập không hợp lệ"


class SessionExpired(IdentityError):
    code = "session_expired"
    title = "Phiên đăng nhập đã hết hạn"


class RefreshTokenReused(IdentityError):
    code = "refresh_token_reused"
    title = "Mã làm mới đã được dùng; mọi phiên liên quan đã bị thu hồi"
    keeps_changes = True


class Forbidden(IdentityError):
    code = "forbidden"
    title = "Không có quyền thực hiện thao tác này"


class InsufficientScope(Forbidden):
    code = "insufficient_scope"
    title = "Cơ quan chưa được cấp quyền (scope) cho thao tác này"


class FreshFactorRequired(IdentityError):
    code = "fresh_factor_required"
    title = "Cần nhập mã xác thực mới (SMS hoặc ứng dụng xác thực đang dùng)"


class TotpNotEnrolled(IdentityError):
    code = "totp_not_enrolled"
    title = "Chưa đăng ký ứng dụng xác thực"


class InvalidClient(IdentityError):
    code = "invalid_client"
    title = "Thông tin ứng dụng không đúng"


class InvalidScope(IdentityError):
    code = "invalid_scope"
    title = "Phạm vi truy cập không hợp lệ"


class UnsupportedGrantType(IdentityError):
    code = "unsupported_grant_type"
    title = "Kiểu cấp quyền không được hỗ trợ"


class AgencyExists(IdentityError):
    code = "agency_exists"
    title = "Mã cơ quan đã tồn tại"


class UnknownAgency(IdentityError):
    code = "unknown_agency"
    title = "Không tìm thấy cơ quan"


class OfficerExists(IdentityError):
    code = "officer_exists"
    title = "Số điện thoại cán bộ đã tồn tại"
