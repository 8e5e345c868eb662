"""Attestations of issuer-signed papers: their claims, their storage, and the QR that carries them.

An attestation is a compact JWS (EdDSA, `typ` "attestation", audience "congdanso-verify") that anyone holding
the JWKS can check offline. Besides the registered claims it carries the minimum of Circular 01/2023/TT-VPCP:

- `sub`: the requester, as a keyed hash (HMAC-SHA256 of the national ID under a key of its own, base64url),
  never the ID itself nor the wallet's lookup index;
- `iat`: the issue time; `vu`: the last day of validity (ISO date; absent when the paper never expires);
  `exp`: the end of that day (UTC), or a long horizon when the paper never expires;
- `dossier` (mã hồ sơ) and `proc` (mã thủ tục), when known; `name`: the paper's name (shortened with "…" only
  when the whole URL would not fit a QR of version 25 at level M); `sys`: the issuing system, "congdanso:<agency>";
- `ver`: the document version; `fh`: SHA-256 (base64url) of the canonical fields (the normalised fields as
  JSON: UTF-8, keys sorted, no whitespace); `sha`: SHA-256 (base64url) of the file, when there is one.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import segno
from segno import consts, encoder
from sqlalchemy import bindparam
from sqlalchemy import select as sql_select  # sqlmodel's takes at most four columns
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, func, select

from identity.models import Agency
from wallet.errors import VerificationNotFound
from wallet.models import Attestation, Document
from wallet.schemas import DocumentPublic, VerificationPublic

ATTESTATION_TYP = "attestation"
VERIFY_AUDIENCE = "congdanso-verify"
# A printed result is scanned by phone cameras: its QR stays at version 25 (117×117 modules) or lower at level M.
MAX_QR_VERSION = 25
QR_ERROR = "m"
ELLIPSIS = "…"
MAX_VERSION = 40  # the largest QR code
MODE_INDICATOR_BITS = 4


def b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def canonical_fields(fields: Mapping[str, object]) -> bytes:
    """The normalised fields as canonical JSON: UTF-8, keys sorted, no whitespace."""
    return json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def fields_hash(fields: Mapping[str, object]) -> str:
    return b64url(hashlib.sha256(canonical_fields(fields)).digest())


def file_hash(sha256_hex: str) -> str:
    return b64url(bytes.fromhex(sha256_hex))


def requester_hash(keyed_hex: str) -> str:
    """A keyed hash (hex, from a BlindIndex) in the token's shorter base64url form."""
    return b64url(bytes.fromhex(keyed_hex))


def verification_url(base: str, token: str) -> str:
    return f"{base}?{urlencode({'token': token})}"


def render_qr(content: str) -> Any:
    return segno.make(content, error=QR_ERROR, boost_error=False, micro=False)


def qr_version(content: str) -> int:
    """The version `render_qr` draws `content` at (the smallest that holds it), found as segno finds it before
    drawing: issuing a paper asks this once or more, and a drawing with mask scoring costs tens of milliseconds."""
    segno_encoder: Any = encoder  # untyped
    segno_consts: Any = consts
    error = segno_encoder.normalize_errorlevel(QR_ERROR)
    data, length, _encoding = segno_encoder.data_to_bytes(content, None)
    if segno_encoder.find_mode(data) == segno_consts.MODE_BYTE:
        # A verification URL always is (lowercase letters): 8 bits a byte, counted rather than written out bit by
        # bit as `prepare_data` does (about a millisecond for a URL of 800 characters).
        for version in range(1, MAX_VERSION + 1):
            count_bits = segno_consts.CHAR_COUNT_INDICATOR_LENGTH[segno_consts.MODE_BYTE][
                segno_encoder.version_range(version)
            ]
            if segno_consts.SYMBOL_CAPACITY[version][error] >= MODE_INDICATOR_BITS + count_bits + 8 * length:
                return version
    segments = segno_encoder.prepare_data(content, None, None)
    return int(segno_encoder.find_version(segments, error, eci=False, micro=False))


def qr_svg(content: str, *, title: str) -> str:
    """A standalone, printable SVG of `content` (with a title for screen readers)."""
    out = io.BytesIO()
    render_qr(content).save(out, kind="svg", scale=4, xmldecl=False, svgns=True, nl=False, title=title)
    return out.getvalue().decode()


def document_qr_svg(document: DocumentPublic) -> str:
    """The printable QR of an issuer-signed paper: its verification URL."""
    if document.verification is None:
        raise VerificationNotFound()
    return qr_svg(document.verification.url, title="Mã QR xác thực giấy tờ")


@dataclass(frozen=True)
class Standing:
    attestation: Attestation
    document_revoked: bool
    latest_version: int
    issuer_name: str


def _standing_query() -> Any:
    """An attestation by id with whether its paper was revoked, the paper's latest version (of its attestations and
    of the paper itself; the paper may be deleted) and the issuing agency's name (its code when the agency is gone).
    Built once: public verification runs it for every scan."""
    newer = aliased(Attestation)
    latest = select(func.coalesce(func.max(newer.version), 0)).where(newer.document_id == Attestation.document_id)
    return (
        sql_select(
            Attestation,
            col(Document.revoked_at),
            col(Document.current_version),
            col(Agency.name),
            latest.scalar_subquery(),
        )
        .outerjoin(Document, col(Document.id) == col(Attestation.document_id))
        .outerjoin(Agency, col(Agency.code) == col(Attestation.issuer_code))
        .where(col(Attestation.id) == bindparam("attestation_id"))
    )


_STANDING = _standing_query()


class AttestationRepository:
    """Every query on attestations."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, attestation: Attestation) -> None:
        self.session.add(attestation)
        self.session.flush()

    def get(self, attestation_id: str) -> Attestation | None:
        return self.session.get(Attestation, attestation_id)

    def of_document(self, document_id: str) -> Sequence[Attestation]:
        query = select(Attestation).where(Attestation.document_id == document_id)
        return self.session.exec(query.order_by(col(Attestation.version))).all()

    def of_version(self, document_id: str, version: int) -> Attestation | None:
        query = select(Attestation).where(Attestation.document_id == document_id, Attestation.version == version)
        return self.session.exec(query).first()

    def standing(self, attestation_id: str) -> Standing | None:
        """The attestation and what its verdict needs besides, in one query (`_STANDING`)."""
        row = self.session.execute(_STANDING, {"attestation_id": attestation_id}).first()
        if row is None:
            return None
        attestation, revoked_at, current_version, agency_name, latest_attested = row
        return Standing(
            attestation,
            document_revoked=revoked_at is not None,
            latest_version=max(int(latest_attested), current_version or 0),
            issuer_name=agency_name or attestation.issuer_code,
        )

    def latest_version(self, document_id: str) -> int:
        query = select(func.coalesce(func.max(Attestation.version), 0)).where(Attestation.document_id == document_id)
        return int(self.session.exec(query).one())


def verification_of(session: Session, document_id: str, version: int, base_url: str) -> VerificationPublic | None:
    """The token and URL of a document version's attestation, if it has one."""
    attestation = AttestationRepository(session).of_version(document_id, version)
    if attestation is None:
        return None
    return VerificationPublic(token=attestation.token, url=verification_url(base_url, attestation.token))
