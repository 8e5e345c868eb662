"""The human-readable answer of `GET /verify/documents` for whoever scans a printed result with a phone camera:
one small Vietnamese page, self-contained (no scripts, images, fonts or other requests), the state said in words
and not only by colour, and nothing beyond what the attestation holds."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from html import escape

from wallet.catalog import CATALOG
from wallet.issuer_schemas import AttestedDocument, DocumentVerification, VerificationStatus

# Only inline styles; nothing else may load, run or frame the page.
PAGE_CSP = "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
VIETNAM = timezone(timedelta(hours=7))

# state → (icon, headline, explanation, css class)
_STATES: dict[VerificationStatus, tuple[str, str, str, str]] = {
    "active": ("✔", "HỢP LỆ", "Giấy tờ do cơ quan nhà nước cấp, chữ ký số hợp lệ và đang còn hiệu lực.", "ok"),
    "revoked": ("✖", "ĐÃ BỊ THU HỒI", "Cơ quan cấp đã thu hồi giấy tờ này. Giấy tờ không còn giá trị sử dụng.", "bad"),
    "expired": ("✖", "ĐÃ HẾT HIỆU LỰC", "Giấy tờ này đã hết thời hạn sử dụng.", "bad"),
    "superseded": ("⚠", "ĐÃ ĐƯỢC THAY THẾ", "Đã có phiên bản mới hơn của giấy tờ này; bản này hết giá trị.", "warn"),
    "invalid": (
        "✖",
        "KHÔNG HỢP LỆ",
        "Không xác thực được mã này: mã bị sửa đổi, không đầy đủ hoặc không do hệ thống Công Dân Số cấp.",
        "bad",
    ),
}

_STYLE = """
body{margin:0;font:1.05rem/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1a1a1a;background:#f4f4f4}
main{max-width:40rem;margin:0 auto;padding:1rem}
h1{font-size:1.3rem;margin:.5rem 0 1rem}
.state{border:3px solid;border-radius:.5rem;padding:1rem;margin-bottom:1rem;background:#fff}
.state p{margin:.25rem 0 0}
.headline{font-size:1.6rem;font-weight:700;margin:0}
.ok{border-color:#0b6e2b;color:#0b6e2b}.bad{border-color:#a50e0e;color:#a50e0e}.warn{border-color:#8a4b00;color:#8a4b00}
.state p.explain{color:#1a1a1a}
dl{background:#fff;border-radius:.5rem;padding:1rem;margin:0}
dt{font-weight:600;margin-top:.6rem}dt:first-child{margin-top:0}
dd{margin:0;overflow-wrap:anywhere}
footer{font-size:.9rem;color:#444;margin-top:1rem}
"""


def render_verification_page(result: DocumentVerification) -> str:
    icon, headline, explanation, tone = _STATES[result.status]
    details = _details(result.document) if result.document else ""
    return f"""<!doctype html>
<html lang="vi">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>{escape(headline.capitalize())} – Xác thực giấy tờ – Công Dân Số</title>
<style>{_STYLE}</style>
</head>
<body>
<main>
<h1>Kết quả xác thực giấy tờ</h1>
<section class="state {tone}" role="status" aria-live="polite">
<p class="headline"><span aria-hidden="true">{icon}</span> {escape(headline)}</p>
<p class="explain">{escape(explanation)}</p>
</section>
{details}
<footer><p>Trang này chỉ hiển thị các thông tin có trong mã xác thực do Công Dân Số ký số
(Thông tư 01/2023/TT-VPCP); không chứa nội dung giấy tờ hay thông tin cá nhân.</p></footer>
</main>
</body>
</html>
"""


def _details(document: AttestedDocument) -> str:
    kind = CATALOG[document.type].name_vi if document.type in CATALOG else document.type
    rows = [
        ("Tên giấy tờ", document.document_name),
        ("Loại giấy tờ", kind),
        ("Cơ quan cấp", f"{document.issuer.name} ({document.issuer.code})"),
        ("Hệ thống cấp", document.issuing_system),
        ("Mã hồ sơ", document.dossier_code or "Không có"),
        ("Mã thủ tục hành chính", document.procedure_code or "Không có"),
        ("Thời điểm cấp", _when(document.issued_at)),
        ("Có giá trị đến", _day(document.valid_until) if document.valid_until else "Không thời hạn"),
        ("Phiên bản", str(document.version)),
        ("Mã người yêu cầu (đã mã hoá, không phải số định danh)", document.requester_hash),
    ]
    items = "\n".join(f"<dt>{escape(label)}</dt><dd>{escape(value)}</dd>" for label, value in rows)
    return f'<dl aria-label="Thông tin giấy tờ">\n{items}\n</dl>'


def _when(moment: datetime) -> str:
    return moment.astimezone(VIETNAM).strftime("%H:%M, %d/%m/%Y (giờ Việt Nam)")


def _day(day: date) -> str:
    return day.strftime("%d/%m/%Y")
