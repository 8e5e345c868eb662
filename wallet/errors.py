"""Wallet errors: each carries a stable `code` and a Vietnamese `title`; HTTP statuses live only in `api/errors.py`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence


class WalletError(Exception):
    code = "wallet_error"
    title = "Lỗi ví giấy tờ"  # user-facing titles in Vietnamese
    # True when the state changed before the error must still be committed.
    keeps_changes = False

    def __init__(self, detail: str = "") -> None:
        super().__init__(detail or self.title)
        self.detail = detail or self.title


class DocumentNotFound(WalletError):
    code = "document_not_found"
    title = "Không tìm thấy giấy tờ"


class FileNotFound(WalletError):
    code = "file_not_found"
    title = "Không tìm thấy tệp"


class UnknownDocumentType(WalletError):
    code = "unknown_document_type"
    title = "Loại giấy tờ không hợp lệ"


class FieldsInvalid(WalletError):
    """Every problem with a paper's fields at once, by field name (the shape of `identity.errors.ValidationFailed`)."""

    code = "validation_failed"
    title = "Thông tin giấy tờ không hợp lệ"

    def __init__(self, errors: Mapping[str, Sequence[str]]) -> None:
        super().__init__("; ".join(f"{k}: {', '.join(v)}" for k, v in errors.items()))
        self.errors = {k: list(v) for k, v in errors.items()}


class FileTooLarge(WalletError):
    code = "file_too_large"
    title = "Tệp quá lớn"


class UnsupportedFileType(WalletError):
    code = "unsupported_file_type"
    title = "Định dạng tệp không được hỗ trợ"


class QuotaExceeded(WalletError):
    code = "quota_exceeded"
    title = "Vượt quá dung lượng lưu trữ"


class TooManyDocuments(WalletError):
    """The citizen holds as many papers as one wallet may (`WalletConfig.max_documents`)."""

    code = "too_many_documents"
    title = "Ví đã có số giấy tờ tối đa"


class StorageUnavailable(WalletError):
    code = "storage_unavailable"
    title = "Kho lưu trữ tạm thời không khả dụng"


class DocumentCorrupted(WalletError):
    """A ciphertext failed to open or a file's SHA-256 did not match: the stored data was damaged or tampered with."""

    code = "document_corrupted"
    title = "Dữ liệu giấy tờ bị hỏng hoặc bị sửa đổi"


class IssuerSignedReadonly(WalletError):
    code = "issuer_signed_readonly"
    title = "Giấy tờ do cơ quan nhà nước cấp không thể chỉnh sửa"


class DocumentInUse(WalletError):
    """The paper belongs to a dossier an agency is still deciding: deleting it would leave the agency without it."""

    code = "document_in_use"
    title = "Giấy tờ đang được dùng trong hồ sơ chưa giải quyết xong"

    def __init__(self, held_by: Sequence[str]) -> None:
        super().__init__(f"{self.title}: {', '.join(held_by)}")
        self.held_by = list(held_by)


class FreshFactorRequired(WalletError):
    code = "fresh_factor_required"
    title = "Cần nhập mã xác thực mới để tiếp tục"


class CitizenNotFound(WalletError):
    """An agency named a national ID that belongs to no active account."""

    code = "citizen_not_found"
    title = "Không tìm thấy công dân"


class VerificationNotFound(WalletError):
    """The paper carries no signed attestation (only issuer-signed papers have a verification QR)."""

    code = "verification_not_found"
    title = "Giấy tờ không có mã xác thực"


class MalformedBody(WalletError):
    code = "malformed_request"
    title = "Yêu cầu không hợp lệ"
