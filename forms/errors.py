"""E-form errors: each carries a stable `code` and a Vietnamese `title`; HTTP statuses live only in `api/errors.py`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence


class FormsError(Exception):
    code = "forms_error"
    title = "Lỗi hồ sơ trực tuyến"
    keeps_changes = False

    def __init__(self, detail: str = "") -> None:
        super().__init__(detail or self.title)
        self.detail = detail or self.title


class CatalogInvalid(FormsError):
    """The procedure catalog file cannot be used; raised at start, never during a request."""

    code = "catalog_invalid"
    title = "Danh mục thủ tục không hợp lệ"

    def __init__(self, problems: Sequence[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = list(problems)


class ProcedureNotFound(FormsError):
    code = "procedure_not_found"
    title = "Không tìm thấy thủ tục"


class ApplicationNotFound(FormsError):
    code = "application_not_found"
    title = "Không tìm thấy hồ sơ"


class ApplicationInvalid(FormsError):
    """Every problem with an application's values at once, by field name (the shape of `FieldsInvalid`)."""

    code = "validation_failed"
    title = "Thông tin hồ sơ không hợp lệ"

    def __init__(self, errors: Mapping[str, Sequence[str]]) -> None:
        super().__init__("; ".join(f"{k}: {', '.join(v)}" for k, v in errors.items()))
        self.errors = {k: list(v) for k, v in errors.items()}


class FieldReadOnly(FormsError):
    """A value prefilled from an issuer-signed paper: the state already certified it."""

    code = "field_read_only"
    title = "Thông tin lấy từ giấy tờ do cơ quan nhà nước cấp không thể sửa"

    def __init__(self, fields: Sequence[str]) -> None:
        super().__init__(", ".join(fields))
        self.errors = {name: ["prefilled from an issuer-signed paper; read-only"] for name in fields}


class ApplicationIncomplete(FormsError):
    """Submission refused: required fields or papers are still missing."""

    code = "application_incomplete"
    title = "Hồ sơ còn thiếu thông tin hoặc giấy tờ"

    def __init__(self, missing_fields: Sequence[str], missing_documents: Sequence[str]) -> None:
        super().__init__(
            "; ".join(
                part
                for part in (
                    f"missing fields: {', '.join(missing_fields)}" if missing_fields else "",
                    f"missing documents: {', '.join(missing_documents)}" if missing_documents else "",
                )
                if part
            )
        )
        self.errors = {name: ["required"] for name in missing_fields} | {
            f"documents.{code}": ["required"] for code in missing_documents
        }


class TooManyDrafts(FormsError):
    """The citizen already holds as many drafts as one may (`FormsDeps.max_drafts`): submit or delete one first."""

    code = "too_many_drafts"
    title = "Đã có quá nhiều hồ sơ nháp"


class ApplicationNotEditable(FormsError):
    """The dossier is not a draft nor waiting for the citizen (`needs_info`)."""

    code = "application_not_editable"
    title = "Hồ sơ đã nộp, không thể sửa"


class AlreadySubmitted(FormsError):
    code = "application_already_submitted"
    title = "Hồ sơ đã được nộp"


class InvalidTransition(FormsError):
    code = "invalid_status_transition"
    title = "Không thể chuyển hồ sơ sang trạng thái này"


class NotSubmitted(FormsError):
    code = "application_not_submitted"
    title = "Hồ sơ chưa được nộp"


class AlreadyRated(FormsError):
    code = "already_rated"
    title = "Hồ sơ đã được đánh giá"


class NotPermitted(FormsError):
    code = "forbidden"
    title = "Không có quyền thực hiện"
