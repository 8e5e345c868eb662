"""Sharing (UI.md: "Sharing"): the agencies' pending requests worded exactly (who, the purpose verbatim, which papers
and fields, where, for how long), approved behind a fresh second factor or denied, and the consents given, each
revocable at once. Every decision goes through `consent.service.ConsentService` wired as the API wires it (one
writing transaction; `AuthService.prove_fresh_factor` checks the code), so the page holds no rule of its own."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, TypeVar

import anyio
from litestar import Controller, Request, Response, get, post
from litestar.datastructures import State
from litestar.exceptions import NotFoundException, ValidationException
from litestar.response import Template
from pydantic import ValidationError
from sqlmodel import Session

from api.unit import WRITES, UnitOfWork
from assurance.service import AssuranceService
from consent.errors import (
    AssuranceRequired,
    ConsentInvalid,
    ConsentNotActive,
    ConsentNotFound,
    ConsentRequestNotFound,
    ConsentRequestNotPending,
    FreshFactorNeeded,
)
from consent.schemas import ConsentApproval, ConsentRequestView, ConsentView
from consent.service import ConsentService
from identity.errors import InvalidCredentials, OtpAttemptsExceeded, OtpExpired, OtpInvalid, RateLimited
from identity.notices import VIETNAM
from identity.schemas import CitizenProfile
from identity.service import AuthService
from identity.sessions import Principal
from wallet.catalog import CATALOG
from wallet.schemas import DocumentPublic
from wallet.service import WalletService
from web.i18n import gettext as _
from web.i18n import pick
from web.messages import N_
from web.pages import citizen_page, form_value, see_other
from web.templating import local_date

T = TypeVar("T")
PENDING_LIMIT = 50
CONSENT_LIMIT = 100
PAST_LIMIT = 10
# The code field shows a little before the 5 minutes of a fresh login run out: the page may be read for a while.
FRESH_MARGIN = timedelta(minutes=1)
CODE_ERRORS = (FreshFactorNeeded, OtpInvalid, OtpExpired, OtpAttemptsExceeded, RateLimited)
# What `/sharing?done=` may say (a fixed list: a query string never puts words on the page).
DONE: dict[str, str] = {
    "approved": N_("You agreed. The agency can read the papers you chose until the date shown under Shared now."),
    "denied": N_("You refused the request. Nothing was shared."),
    "revoked": N_("You withdrew your consent. From now on the agency cannot read these papers."),
    "sent": N_("We sent a 6-digit code by SMS to your phone. Enter it below, then choose Approve."),
    "gone": N_("This request was already answered or has expired."),
    "ended": N_("This consent had already expired: there is nothing to withdraw."),
}


@dataclass(frozen=True)
class Board:  # everything the page shows, read in one transaction
    pending: list[ConsentRequestView]
    consents: list[ConsentView]
    past_requests: list[ConsentRequestView]
    papers: dict[str, list[DocumentPublic]]  # the citizen's shareable papers of each requested type
    profile: CitizenProfile
    now: datetime


# -- what the page shows, in the page's language ----------------------------------------------------------------------
@dataclass(frozen=True)
class PaperLine:
    """A requested (or consented) paper: its type's label and the labels of the fields shared (None: the whole
    paper, its scans included)."""

    label: str
    fields: list[str] | None


@dataclass(frozen=True)
class PaperChoice:
    """The citizen's papers of one requested type: ticked boxes when there are several, else the one paper."""

    label: str
    name: str  # the inputs' name: papers-<request>-<type>
    options: list[tuple[str, str]]  # (document id, how the citizen recognises it)
    selected: list[str]


@dataclass(frozen=True)
class Card:
    request: ConsentRequestView
    papers: list[PaperLine]
    choices: list[PaperChoice]
    missing: list[str]  # requested types the citizen holds no paper of
    until: date  # the last day of the consent if approved now
    code_needed: bool
    challenge: str
    refused: str | None


@dataclass(frozen=True)
class ConsentRow:
    consent: ConsentView
    papers: list[PaperLine]


@dataclass(frozen=True)
class PastRow:
    agency: str
    purpose: str
    status: str  # denied | expired (a request); revoked | lapsed (a consent)
    at: datetime


def paper_lines(document_types: list[str], fields: dict[str, list[str]] | None) -> list[PaperLine]:
    lines = []
    for type_code in document_types:
        paper = CATALOG[type_code]
        labels = {spec.name: pick(spec.label_vi, spec.label_en) for spec in paper.fields}
        listed = (fields or {}).get(type_code)
        shown = [labels.get(name, name) for name in listed] if listed is not None else None
        lines.append(PaperLine(pick(paper.name_vi, paper.name_en), shown))
    return lines


def describe(paper: DocumentPublic) -> str:
    """A paper as its holder tells it from another of the same type: its first value and when it was issued."""
    spec = CATALOG[paper.type]
    first = next((paper.fields[f.name] for f in spec.fields if paper.fields.get(f.name) not in (None, "")), "")
    issued = paper.fields.get("issue_date") or paper.fields.get("registration_date")
    text = str(first)
    if issued:
        text = _("{paper}, issued {date}").format(paper=text, date=local_date(str(issued)))
    if paper.status == "expired":
        text = _("{paper} (expired)").format(paper=text)
    return text


@dataclass(frozen=True)
class Focus:
    """The request a re-rendered form is about: what was ticked, the code sent, why it was refused."""

    request_id: str
    chosen: dict[str, list[str]] | None = None
    challenge: str = ""
    refused: str | None = None
    code_error: bool = False


def card_of(
    request: ConsentRequestView,
    papers: dict[str, list[DocumentPublic]],
    *,
    now: datetime,
    code_needed: bool,
    focus: Focus | None,
) -> Card:
    mine = focus if focus is not None and focus.request_id == request.id else Focus(request.id)
    lines = paper_lines(request.document_types, request.fields)
    choices, missing = [], []
    for line, type_code in zip(lines, request.document_types, strict=True):
        held = papers.get(type_code, [])
        if not held:
            missing.append(line.label)
            continue
        options = [(paper.id, describe(paper)) for paper in held]
        selected = mine.chosen.get(type_code, []) if mine.chosen is not None else [paper.id for paper in held]
        choices.append(PaperChoice(line.label, f"papers-{request.id}-{type_code}", options, selected))
    until = (now + timedelta(days=request.valid_days)).astimezone(VIETNAM).date()  # the day people read
    return Card(request, lines, choices, missing, until, code_needed or mine.code_error, mine.challenge, mine.refused)


def consent_row(consent: ConsentView) -> ConsentRow:
    return ConsentRow(consent, paper_lines(consent.document_types, consent.fields))


def past_rows(requests: list[ConsentRequestView], consents: list[ConsentView], *, limit: int) -> list[PastRow]:
    """Refused and lapsed requests, withdrawn and lapsed consents, newest first."""
    rows = [
        PastRow(r.agency.name, r.purpose, r.status, r.expires_at if r.status == "expired" else r.created_at)
        for r in requests
    ]
    for c in consents:
        if c.status != "active":
            status = "revoked" if c.status == "revoked" else "lapsed"
            rows.append(PastRow(c.agency.name, c.purpose, status, c.revoked_at or c.valid_until))
    return sorted(rows, key=lambda row: row.at, reverse=True)[:limit]


async def _consent_work(unit: UnitOfWork, work: Callable[[ConsentService, Session], T]) -> T:
    """`work` in the page's unit, which writes as `api/controllers/consent.py`'s does (any step may settle an expiry;
    a refused code is counted and kept, whatever else the refused step did is undone)."""
    container, session = unit.container, unit.session

    def run() -> T:
        auth = AuthService(session, container.identity, unit.notifier)
        return work(ConsentService(session, container.consent, check_factor=auth.prove_fresh_factor), session)

    return await unit.attempt(run)


def _board(unit: UnitOfWork, citizen: Principal) -> Callable[[ConsentService, Session], Board]:
    container, me = unit.container, citizen.subject_id

    def read(service: ConsentService, session: Session) -> Board:
        pending, _next = service.requests_of(me, status="pending", limit=PENDING_LIMIT, cursor=None)
        consents, _next = service.consents_of(me, limit=CONSENT_LIMIT, cursor=None)
        past = [
            item
            for status in ("denied", "expired")
            for item in service.requests_of(me, status=status, limit=PAST_LIMIT, cursor=None)[0]
        ]
        wallet = WalletService(session, container.wallet)
        wanted = {type_code for request in pending for type_code in request.document_types}
        papers = {type_code: _shareable(wallet, me, type_code) for type_code in sorted(wanted)}
        profile = AssuranceService(session, container.assurance, container.notifier(session)).profile(me)
        return Board(pending, consents, past, papers, profile, container.identity.clock.now())

    return read


def _shareable(wallet: WalletService, citizen_id: str, type_code: str) -> list[DocumentPublic]:
    """The papers a consent may cover by default: every one of the type that is not revoked."""
    found, cursor = [], None
    while True:
        items, cursor = wallet.page(citizen_id, type_code=type_code, limit=None, cursor=cursor)
        found += [paper for paper in items if paper.status != "revoked"]
        if cursor is None:
            return found


def _needs_code(unit: UnitOfWork, citizen: Principal, now: datetime) -> bool:
    window = unit.container.identity.config.fresh_login - FRESH_MARGIN
    return citizen.auth_time is None or now - citizen.auth_time >= window


async def _sharing_page(
    unit: UnitOfWork,
    citizen: Principal,
    *,
    status: int = 200,
    done: str | None = None,
    focus: Focus | None = None,
    errors: dict[str, str] | None = None,
) -> Template:
    board = await _consent_work(unit, _board(unit, citizen))
    needs_code = _needs_code(unit, citizen, board.now)
    cards = [card_of(r, board.papers, now=board.now, code_needed=needs_code, focus=focus) for r in board.pending]
    return citizen_page(
        unit,
        citizen,
        "sharing/index.html",
        section="/sharing",
        status=status,
        cards=cards,
        active=[consent_row(c) for c in board.consents if c.status == "active"],
        past=past_rows(board.past_requests, board.consents, limit=PAST_LIMIT),
        profile=board.profile,
        errors=errors or {},
        flash=_(DONE[done]) if done in DONE else None,
    )


def _code_problem(exc: Exception) -> str:
    """What a refused code means to the person who typed it."""
    if isinstance(exc, FreshFactorNeeded):
        return _("You signed in more than 5 minutes ago: enter a new verification code to approve")
    if isinstance(exc, RateLimited):
        return _("Too many wrong codes. Try again in {seconds} seconds.").format(seconds=exc.retry_after)
    if isinstance(exc, OtpExpired):
        return _("The code has expired. Send a new one.")
    if isinstance(exc, OtpAttemptsExceeded):
        return _("Too many wrong codes. Send a new one.")
    return _("The code is not right. Check it and try again.")


def _papers_problem(offered: bool) -> str:
    """Why no paper was given: none ticked among those offered, or none held at all (the page offered none)."""
    if offered:
        return _("Choose at least one paper to share, or refuse the request.")
    return _("You hold none of the papers this request asks for. Add them under Papers first, or refuse.")


def _chosen(form: Any, request_id: str) -> dict[str, list[str]]:
    """The papers ticked (or the only one) for each requested type, by type: `papers-<request>-<type>`."""
    prefix = f"papers-{request_id}-"
    chosen: dict[str, list[str]] = {}
    for name in form:
        if isinstance(name, str) and name.startswith(prefix):
            chosen[name[len(prefix) :]] = [str(value) for value in form.getall(name) if value]
    return chosen


class SharingPages(Controller):
    path = "/sharing"
    opt = WRITES  # as the API's consent routes: any step may settle an expiry

    @get("")
    async def sharing(
        self, citizen: Principal, unit: UnitOfWork, done: str | None = None, about: str = "", challenge: str = ""
    ) -> Template:
        focus = Focus(about[:64], challenge=challenge[:64]) if about else None
        return await _sharing_page(unit, citizen, done=done, focus=focus)

    @post("/{request_id:str}/code")
    async def send_code(self, citizen: Principal, unit: UnitOfWork, request_id: str) -> Response[Any]:
        """A fresh step-up code by SMS, exactly as `POST /api/v1/auth/otp/send` sends it, for one of the citizen's own
        requests (another's id is 404, as everywhere)."""
        auth = AuthService(unit.session, unit.container.identity, unit.notifier)
        consent = ConsentService(unit.session, unit.container.consent)
        try:
            await anyio.to_thread.run_sync(consent.request_of, citizen.subject_id, request_id)
        except ConsentRequestNotFound as exc:
            raise NotFoundException() from exc
        try:
            challenge = await anyio.to_thread.run_sync(auth.start_step_up, citizen)
        except RateLimited as exc:
            message = _("Too many codes sent. Try again in {seconds} seconds.").format(seconds=exc.retry_after)
        except InvalidCredentials:
            message = _("Your account has no phone number to send a code to. Set one at a one-stop counter.")
        else:
            return see_other(f"/sharing?done=sent&about={request_id}&challenge={challenge.challenge_id}")
        focus = Focus(request_id, code_error=True)
        return await _sharing_page(unit, citizen, status=422, focus=focus, errors={_code(request_id): message})

    @post("/{request_id:str}/approve")
    async def approve(
        self, request: Request[Any, Any, State], citizen: Principal, unit: UnitOfWork, request_id: str
    ) -> Response[Any]:
        form = await request.form()
        chosen = _chosen(form, request_id)
        code, challenge = form_value(form, _code(request_id)).replace(" ", ""), form_value(form, "challenge")[:64]
        try:
            approval = ConsentApproval(
                # Only the papers ticked once the page offered a choice; else the default (every paper asked for).
                document_ids=[paper for ids in chosen.values() for paper in ids]
                if form_value(form, "choosing")
                else None,
                code=code or None,
                challenge_id=challenge or None,
            )
        except ValidationError as exc:  # only a hand-made form gets here (too many papers, an overlong code)
            raise ValidationException() from exc
        focus, errors = Focus(request_id, chosen, challenge), {}
        try:
            await _consent_work(unit, lambda service, _s: service.approve(citizen, request_id, approval))
        except ConsentRequestNotFound as exc:
            raise NotFoundException() from exc
        except ConsentRequestNotPending:
            return see_other("/sharing?done=gone")
        except AssuranceRequired:
            focus = Focus(request_id, chosen, challenge, refused="assurance")
            return await _sharing_page(unit, citizen, status=403, focus=focus)
        except ConsentInvalid:  # the only problem a page's own form can have: no paper to share
            errors = {f"papers-{request_id}": _papers_problem(offered=bool(form_value(form, "choosing")))}
        except CODE_ERRORS as exc:
            focus, errors = (
                Focus(request_id, chosen, challenge, code_error=True),
                {_code(request_id): _code_problem(exc)},
            )
        if errors:
            return await _sharing_page(unit, citizen, status=422, focus=focus, errors=errors)
        return see_other("/sharing?done=approved")

    @post("/{request_id:str}/deny")
    async def deny(self, citizen: Principal, unit: UnitOfWork, request_id: str) -> Response[Any]:
        try:
            await _consent_work(unit, lambda service, _s: service.deny(citizen.subject_id, request_id))
        except ConsentRequestNotFound as exc:
            raise NotFoundException() from exc
        except ConsentRequestNotPending:
            return see_other("/sharing?done=gone")
        return see_other("/sharing?done=denied")

    @get("/consents/{consent_id:str}/revoke")
    async def revoke_confirm(self, citizen: Principal, unit: UnitOfWork, consent_id: str) -> Template:
        """The confirmation step (a page, so it works without JavaScript)."""
        consent = await _consent_work(unit, lambda service, _s: _find_consent(service, citizen, consent_id))
        if consent is None or consent.status != "active":
            raise NotFoundException()
        return citizen_page(unit, citizen, "sharing/revoke.html", section="/sharing", consent=consent_row(consent))

    @post("/consents/{consent_id:str}/revoke")
    async def revoke(self, citizen: Principal, unit: UnitOfWork, consent_id: str) -> Response[Any]:
        try:
            await _consent_work(unit, lambda service, _s: service.revoke(citizen.subject_id, consent_id))
        except ConsentNotFound as exc:
            raise NotFoundException() from exc
        except ConsentNotActive:
            return see_other("/sharing?done=ended")
        return see_other("/sharing?done=revoked")


def _code(request_id: str) -> str:
    """The name (and id) of a request's code field: one page may hold several requests."""
    return f"code-{request_id}"


def _find_consent(service: ConsentService, citizen: Principal, consent_id: str) -> ConsentView | None:
    cursor: str | None = None
    while True:
        items, cursor = service.consents_of(citizen.subject_id, limit=CONSENT_LIMIT, cursor=cursor)
        for consent in items:
            if consent.id == consent_id:
                return consent
        if cursor is None:
            return None


ROUTES = [SharingPages]
