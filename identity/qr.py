"""The citizen's QR identity: a short-lived signed token (compact JWS, EdDSA) naming the citizen only by
a stable pseudonymous QR id, shown as a QR code, and its verification by a one-stop officer.

The token is a JWT of its own purpose (`typ` "qr", audience "congdanso-qr"): it is never accepted as
an access token, nor an access token as a QR token. Anyone holding the public keys (JWKS) can check
its signature and expiry offline; only the service can tell who the QR id is, and only to officers."""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, Literal

import segno
from sqlmodel import Session

from audit.models import Presence
from audit.service import PRESENCE_TTL, Actor, AuditService
from crypto.tokens import TokenError
from identity import qr_render
from identity.errors import Forbidden, InvalidCredentials
from identity.profile import SealedProfile, open_profile
from identity.qr_cache import CachedQr, QrCache
from identity.repository import IdentityRepository, QrSubject
from identity.schemas import QrCitizen, QrCode, QrInvalid, QrValid, QrVerification
from identity.sessions import Principal
from identity.toolkit import IdentityToolkit
from identity.validation import mask_national_id

QR_TYP = "qr"
QR_AUDIENCE = "congdanso-qr"
QR_TTL = timedelta(minutes=5)
# A phone camera reads a version-15 QR (77×77 modules) at error level M quickly; denser codes scan slowly.
MAX_QR_VERSION = 15
# Far above any token we issue; longer input is refused unparsed.
MAX_TOKEN_CHARS = 2048
QR_SCAN = "qr_scan"

Reason = Literal["expired", "bad_signature", "malformed", "revoked"]
_REASONS: dict[str, Reason] = {"expired": "expired", "bad_signature": "bad_signature"}


class QrCapacityExceeded(RuntimeError):
    """The token no longer fits a QR code of version MAX_QR_VERSION at level M (a configuration fault,
    e.g. a very long public URL as issuer)."""


def render_qr(token: str) -> Any:
    """The token as a QR code at error level M, never boosted, never a Micro QR; checks the version."""
    qr = segno.make(token, error="m", boost_error=False, micro=False)
    if int(qr.version) > MAX_QR_VERSION:
        raise QrCapacityExceeded(f"QR version {qr.version} > {MAX_QR_VERSION} for a {len(token)}-character token")
    return qr


def qr_svg(token: str) -> str:
    """A standalone SVG document (with its namespace, so it also works as a file or a data URI)."""
    out = io.BytesIO()
    render_qr(token).save(out, kind="svg", scale=4, xmldecl=False, svgns=True, nl=False)
    return out.getvalue().decode()


def identity_qr_svg(token: str) -> str:
    """The identity token's QR as `qr_svg` draws it, but at the fixed version 15 and mask of `qr_render`, drawn
    without segno's mask scoring: every token the service issues fits (about 370 characters; 412 fit). A token that
    did not would take the automatic path, which refuses anything above version 15."""
    if token.isascii() and qr_render.fits(token.encode("ascii")):
        return qr_render.svg(token.encode("ascii"))
    return qr_svg(token)


# How a scan's two rows are written: by default with the caller's `AuditService`, in the caller's transaction; the
# API and the counter page pass one that writes them in a short transaction of their own, batched with other
# counters' scans (`storage.group_commit`), so that a scan reads without holding a write lock.
ScanRecorder = Callable[[Callable[[AuditService], Presence]], Presence]


@dataclass(frozen=True)
class CheckedScan:
    """A valid scan whose presence record and access-log entry are still to be written (`write`); its answer once
    they are."""

    citizen: QrCitizen
    expires_at: datetime
    write: Callable[[AuditService], Presence]

    def answer(self, presence: Presence) -> QrValid:
        return QrValid(citizen=self.citizen, expires_at=self.expires_at, presence_id=presence.id)


class QrService:
    """Issues a citizen's QR token and verifies a scanned one for an officer. Each valid scan opens a
    presence record and is written to the citizen's access log (by `recorder`); the caller commits."""

    def __init__(
        self,
        session: Session,
        toolkit: IdentityToolkit,
        audit: AuditService,
        *,
        ttl: timedelta = QR_TTL,
        presence_ttl: timedelta = PRESENCE_TTL,
        recorder: ScanRecorder | None = None,
    ) -> None:
        if not timedelta(0) < ttl <= QR_TTL:
            raise ValueError("a QR token lives at most 5 minutes")
        self._repo = IdentityRepository(session)
        self._kit = toolkit
        self._audit = audit
        self._ttl = ttl
        self._presence_ttl = presence_ttl
        self._recorder: ScanRecorder = recorder or (lambda write: write(audit))

    def issue(self, citizen_id: str) -> QrCode:
        """A fresh QR token of the citizen (`sub` = their QR id), with its SVG."""
        return self._new_code(self._active_citizen(citizen_id))

    def issue_or_reuse(self, citizen_id: str, cache: QrCache) -> QrCode:
        """`issue`, or the code this process last issued the citizen while `cache` may still hand it out (most of its
        life left, their QR id and the signing key unchanged). The citizen is read and checked on every call, so one
        no longer active is refused at once, whatever the cache holds."""
        try:
            citizen = self._active_citizen(citizen_id)
        except InvalidCredentials:
            cache.forget(citizen_id)
            raise
        now = self._kit.clock.now()
        kid = self._kit.keyring().current_signing_key(now).kid
        code = cache.get(citizen_id, qr_id=citizen.qr_id, kid=kid, now=now, ttl=self._ttl)
        if code is None:
            code = self._new_code(citizen)
            # Should a key become active between the read above and the signature, the kid kept is the older one:
            # the next request sees a change and signs again, never keeps a token of a key that no longer signs.
            cache.put(citizen_id, CachedQr(citizen.qr_id, kid, code))
        return code

    def _active_citizen(self, citizen_id: str) -> QrSubject:
        citizen = self._repo.qr_subject(citizen_id)
        if citizen is None or citizen.status != "active":
            raise InvalidCredentials()
        return citizen

    def _new_code(self, citizen: QrSubject) -> QrCode:
        issued = self._kit.tokens.issue(typ=QR_TYP, audience=QR_AUDIENCE, subject=citizen.qr_id, ttl=self._ttl)
        return QrCode(token=issued.token, expires_at=issued.expires_at, svg=identity_qr_svg(issued.token))

    def verify(self, token: str, officer: Principal) -> QrVerification:
        """Check signature, expiry and the citizen's status. Any string gets an answer: a refused token
        is `valid: false` with its reason, never an error."""
        checked = self.check(token, officer)
        if isinstance(checked, QrInvalid):
            return checked
        return checked.answer(self._recorder(checked.write))

    def check(self, token: str, officer: Principal) -> QrInvalid | CheckedScan:
        """`verify` up to its writes: a refusal, or the valid scan with the two rows still to be written (by a
        recorder, or awaited from the event loop: `storage.group_commit.GroupCommit.run_async`)."""
        agency_code, agency_name, officer_name = self._officer_agency(officer)
        if len(token) > MAX_TOKEN_CHARS:
            return QrInvalid(reason="malformed")
        try:
            claims = self._kit.tokens.verify(token, typ=QR_TYP, audience=QR_AUDIENCE)
        except TokenError as exc:
            return QrInvalid(reason=_REASONS.get(exc.reason, "malformed"))
        citizen = self._repo.qr_holder(str(claims["sub"]))
        if citizen is None or citizen.status != "active":
            return QrInvalid(reason="revoked")
        shown = self._citizen_view(citizen)
        actor = Actor("officer", agency_code, agency_name, officer_name)

        def write(audit: AuditService) -> Presence:
            presence = audit.open_presence(
                citizen.id, officer_id=officer.subject_id, agency_code=agency_code, ttl=self._presence_ttl
            )
            audit.record(citizen.id, actor, QR_SCAN)
            return presence

        return CheckedScan(shown, datetime.fromtimestamp(int(claims["exp"]), tz=UTC), write)

    def _officer_agency(self, officer: Principal) -> tuple[str, str, str]:
        """The officer's agency code and name and the officer's name; Forbidden unless both are active."""
        officer.require("officer")
        # The login check's read when there was one in this request (the same row, a moment before); else read.
        row = officer.officer if officer.officer is not None else self._repo.officer_state(officer.subject_id)
        if row is None or row.status != "active" or row.agency_code is None or row.agency_status != "active":
            raise Forbidden()
        return row.agency_code, str(row.agency_name), row.full_name

    def _citizen_view(self, citizen: SealedProfile) -> QrCitizen:
        """The minimum an officer needs to match the person at the counter; the national ID masked."""
        profile = open_profile(self._kit.citizen_keys, citizen)
        return QrCitizen(
            full_name=str(profile["full_name"]),
            date_of_birth=date.fromisoformat(str(profile["date_of_birth"])),
            national_id_masked=mask_national_id(str(profile["national_id"])),
        )
