"""Consent errors: each carries a stable `code` and a Vietnamese `title`; HTTP statuses live only in `api/errors.py`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence


class ConsentError(Exception):
    code = "consent_error"
    title = "Lỗi chia sẻ dữ liệu"  # user-facing titles in Vietnamese
    # True when the state changed before the error (an expiry noticed on the way) must still be committed.
    keeps_changes = False

    def __init__(self, detail: str = "") -> None:
        super().__init__(detail or self.title)
        self.detail = detail or self.title


class ConsentInvalid(ConsentError):
    """Every problem with a request or an approval at once, by field name."""

    code = "validation_failed"
    title = "Dữ liệu không hợp lệ"

    def __init__(self, errors: Mapping[str, Sequence[str]]) -> None:
        super().__init__("; ".join(f"{k}: {', '.join(v)}" for k, v in errors.items()))
        self.errors = {k: list(v) for k, v in errors.items()}


class ConsentRequestNotFound(ConsentError):
    """Unknown, or not the caller's (another citizen's or another agency's request looks the same)."""

    code = "consent_request_not_found"
    title = "Không tìm thấy yêu cầu chia sẻ dữ liệu"


class ConsentRequestNotPending(ConsentError):
    """The request was already approved or denied, or it expired (7 days after it was made)."""

    code = "consent_request_not_pending"
    title = "Yêu cầu chia sẻ dữ liệu đã được xử lý hoặc đã hết hạn"
    keeps_changes = True


class TooManyPendingRequests(ConsentError):
    """The national ID already has as many pending requests as one may (`ConsentDeps.max_pending_requests`), from
    any agency; room comes back as the citizen answers them or they expire."""

    code = "too_many_pending_requests"
    title = "Công dân đang có quá nhiều yêu cầu chia sẻ dữ liệu chờ xử lý"


class ConsentNotFound(ConsentError):
    code = "consent_not_found"
    title = "Không tìm thấy sự đồng ý"


class ConsentRevoked(ConsentError):
    code = "consent_revoked"
    title = "Công dân đã rút lại sự đồng ý"
    keeps_changes = True


class ConsentExpired(ConsentError):
    code = "consent_expired"
    title = "Sự đồng ý đã hết hạn"
    keeps_changes = True


class ConsentNotActive(ConsentError):
    """Revoking a consent that already ended by expiry."""

    code = "consent_not_active"
    title = "Sự đồng ý không còn hiệu lực"
    keeps_changes = True


class ConsentRequired(ConsentError):
    """The consent does not cover this (a field-restricted consent shares no files)."""

    code = "consent_required"
    title = "Công dân chưa đồng ý chia sẻ nội dung này"


class AssuranceRequired(ConsentError):
    """Approving a consent needs identity level 2 (proofed at a counter or by national e-ID)."""

    code = "assurance_required"
    title = "Cần xác thực danh tính mức 2 (tại bộ phận một cửa hoặc bằng VNeID) để chia sẻ giấy tờ"


class FreshFactorNeeded(ConsentError):
    """Approving needs a fresh OTP/TOTP code unless the login is under 5 minutes old."""

    code = "fresh_factor_required"
    title = "Cần nhập mã xác thực mới để tiếp tục"


class NotPermitted(ConsentError):
    """The caller may not act for an agency here (wrong role, missing scope, inactive officer or agency)."""

    code = "forbidden"
    title = "Không có quyền thực hiện thao tác này"
