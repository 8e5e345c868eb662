"""Identity-assurance errors: each carries a stable `code`; HTTP statuses live only in `api/errors.py`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence


class AssuranceError(Exception):
    code = "assurance_error"
    title = "Lỗi xác thực danh tính"
    keeps_changes = False

    def __init__(self, detail: str = "") -> None:
        super().__init__(detail or self.title)
        self.detail = detail or self.title


class AssuranceInvalid(AssuranceError):
    """Every problem with a proofing or recovery request at once, by field name."""

    code = "validation_failed"
    title = "Dữ liệu không hợp lệ"

    def __init__(self, errors: Mapping[str, Sequence[str]]) -> None:
        super().__init__("; ".join(f"{k}: {', '.join(v)}" for k, v in errors.items()))
        self.errors = {k: list(v) for k, v in errors.items()}


class PresenceNotFound(AssuranceError):
    """No valid QR scan by this officer with that id (unknown, expired, or another officer's)."""

    code = "presence_not_found"
    title = "Không tìm thấy lượt quét mã QR còn hiệu lực của cán bộ này"


class CitizenUnavailable(AssuranceError):
    code = "citizen_not_found"
    title = "Không tìm thấy tài khoản công dân"


class EidNotConfigured(AssuranceError):
    code = "eid_not_configured"
    title = "Đăng nhập bằng định danh điện tử quốc gia chưa được bật"


class EidStateInvalid(AssuranceError):
    """The callback names no login we started in this browser, or one already used or expired."""

    code = "eid_state_invalid"
    title = "Phiên đăng nhập định danh điện tử không hợp lệ hoặc đã được dùng; hãy bắt đầu lại"


class EidFailed(AssuranceError):
    """The provider refused, or what it answered did not verify (signature, issuer, audience, expiry, nonce)."""

    code = "eid_failed"
    title = "Không xác thực được với nhà cung cấp định danh điện tử"


class EidLevelInsufficient(AssuranceError):
    code = "eid_level_insufficient"
    title = "Tài khoản định danh điện tử chưa ở mức 2"


class EidIdentityMismatch(AssuranceError):
    code = "eid_identity_mismatch"
    title = "Số định danh của tài khoản định danh điện tử khác với tài khoản đang đăng nhập"


class EidTicketInvalid(AssuranceError):
    code = "eid_ticket_invalid"
    title = "Vé đăng nhập không hợp lệ, đã dùng hoặc đã hết hạn"


class EidUnavailable(AssuranceError):
    code = "eid_unavailable"
    title = "Không kết nối được nhà cung cấp định danh điện tử; vui lòng thử lại sau"


class AccountChanged(AssuranceError):
    """The account changed between the check and the change (e.g. a registration meanwhile): nothing was done."""

    code = "account_changed"
    title = "Tài khoản vừa thay đổi; hãy thực hiện lại"
