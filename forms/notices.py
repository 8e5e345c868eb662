"""The words of the notices a citizen gets when their dossier moves (SMS, email and in the app, in Vietnamese)."""

from __future__ import annotations

from forms.catalog import Procedure

_LABELS = {
    "submitted": "Đã nộp",
    "processing": "Đang giải quyết",
    "needs_info": "Cần bổ sung",
    "completed": "Đã có kết quả",
    "rejected": "Từ chối giải quyết",
}
_SENTENCES = {
    "submitted": "đã được nộp thành công tới {agency}",
    "processing": "đang được {agency} giải quyết",
    "needs_info": "cần bổ sung thông tin theo yêu cầu của {agency}; vui lòng cập nhật và nộp lại",
    "completed": "đã được {agency} giải quyết xong",
    "rejected": "đã bị {agency} từ chối giải quyết",
}
# Notes are the agency's words: kept short enough for a couple of SMS segments around them.
_NOTE_LIMIT = 300


def status_notice(procedure: Procedure, dossier_code: str, status: str, note: str | None) -> tuple[str, str]:
    """(subject, body) telling the citizen their dossier moved to `status`."""
    subject = f"Hồ sơ {dossier_code}: {_LABELS[status]}"
    sentence = _SENTENCES[status].format(agency=procedure.agency.name)
    body = f"Hồ sơ {procedure.name} (mã {dossier_code}) {sentence}."
    if note:
        shortened = note if len(note) <= _NOTE_LIMIT else note[: _NOTE_LIMIT - 1] + "…"
        body += f" Ghi chú: {shortened}"
    if status == "completed":
        body += " Kết quả (nếu có) đã được lưu vào Ví giấy tờ của bạn, kèm mã QR xác thực."
    return subject, body
