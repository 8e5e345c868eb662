"""Signing in with national e-ID: start (a login transaction bound to the browser), callback (the state used
once, the code exchanged, the ID token verified, then one outcome), and the one-time ticket a web page behind
`return_to` exchanges for that outcome.

Intents: `login` (find the account by the personal ID number, open one at level 2 if none); `link` (a signed-in
citizen proofs their own account; the number must be theirs); `recover` (a lost phone or PIN: a code goes to the
new phone, as at a counter). A level-1 account found by `login` is raised to level 2 when the e-ID's phone is the
account's; otherwise it was registered by someone else and is closed (`assurance.closure`)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Literal
from urllib.parse import urlencode

from sqlalchemy import Engine
from sqlmodel import Session

from assurance.closure import close_impostor, replacing_key
from assurance.deps import AssuranceDeps
from assurance.eid import EidClient, EidIdentity
from assurance.errors import (
    AccountChanged,
    AssuranceInvalid,
    EidFailed,
    EidIdentityMismatch,
    EidLevelInsufficient,
    EidNotConfigured,
    EidStateInvalid,
    EidTicketInvalid,
)
from assurance.models import EidLogin, EidTicket
from assurance.recovery import Claimed, RecoveryService, tell_impostor
from assurance.repository import AssuranceRepository
from assurance.schemas import RecoveryStarted
from assurance.sealing import token_hash
from assurance.service import AssuranceService, Proofer
from crypto.envelope import CitizenKey
from identity.holder import HolderProfile, HolderService
from identity.models import Citizen
from identity.repository import IdentityRepository
from identity.schemas import TokenPair
from identity.sessions import SessionService
from identity.validation import normalize_phone
from storage.db import read_only, transaction

Intent = Literal["login", "link", "recover"]
LOGIN_TTL = timedelta(minutes=10)
TICKET_TTL = timedelta(minutes=2)
_SEALED = "eid-login"


@dataclass(frozen=True)
class Started:
    url: str  # the provider's authorization URL
    binding: str  # the value of the browser-binding cookie


@dataclass(frozen=True)
class Outcome:
    """Tokens (signed in), a recovery challenge, or a redirect to `return_to` with a ticket for either."""

    tokens: TokenPair | None = None
    recovery: RecoveryStarted | None = None
    redirect: str | None = None
    blob_keys: tuple[str, ...] = ()
    outbox_ids: tuple[str, ...] = ()


def _client(deps: AssuranceDeps) -> EidClient:
    if deps.eid is None:
        raise EidNotConfigured()
    return deps.eid


def start(
    engine: Engine,
    deps: AssuranceDeps,
    *,
    intent: Intent,
    return_to: str | None,
    new_phone: str | None,
    citizen_id: str | None,
) -> Started:
    """Open a login transaction and give the provider's URL; `citizen_id` (signed in) makes it a `link`."""
    client = _client(deps)
    _check_return_to(return_to)
    phone = None
    if new_phone:
        phone = normalize_phone(new_phone)
        if phone is None:
            raise AssuranceInvalid({"new_phone": ["not a Vietnamese mobile number (0xxxxxxxxx or +84xxxxxxxxx)"]})
    authorization = client.start()
    binding = secrets.token_urlsafe(32)
    now = deps.identity.clock.now()
    login = EidLogin(
        state_hash=token_hash(authorization.state),
        binding_hash=token_hash(binding),
        intent="link" if citizen_id else intent,
        citizen_id=citizen_id,
        sealed=b"",
        created_at=now,
        expires_at=now + LOGIN_TTL,
    )
    secret = {"nonce": authorization.nonce, "code_verifier": authorization.code_verifier}
    login.sealed = deps.sealer.seal(
        {**secret, "return_to": return_to, "new_phone": phone}, purpose=_SEALED, ref=login.id
    )
    with transaction(engine) as session:
        AssuranceRepository(session).add(login)
    return Started(authorization.url, binding)


def _check_return_to(return_to: str | None) -> None:
    # Only a path of this service: anything else would make the callback an open redirect.
    if return_to is not None and (not return_to.startswith("/") or return_to.startswith("//") or "\\" in return_to):
        raise AssuranceInvalid({"return_to": ["must be a path of this service, such as /auth/eid/done"]})


def callback(
    engine: Engine, deps: AssuranceDeps, *, state: str, code: str | None, error: str | None, binding: str | None
) -> Outcome:
    """Use the login transaction once, verify what the provider says, and act on it."""
    client = _client(deps)
    login, secret = _consume(engine, deps, state, binding)
    if error or not code:
        raise EidFailed(f"Nhà cung cấp định danh trả lỗi: {error or 'thiếu mã'}"[:300])
    identity = client.identity(code, code_verifier=secret["code_verifier"], nonce=secret["nonce"])
    if not identity.is_level_two(client.config):
        raise EidLevelInsufficient()
    proofer = Proofer("eid", eid_issuer=identity.issuer, eid_name=client.config.display_name)
    if login.intent == "recover":
        return _recover(engine, deps, identity, proofer, secret)
    closes = _impostor_to_close(engine, deps, identity) if login.intent == "login" else None
    with replacing_key(deps, closes) as new_key, transaction(engine) as session:
        notifier = deps.notifier_of(session)
        signing = _SignIn(session, deps, identity, proofer)
        citizen, blob_keys = signing.link(login) if login.intent == "link" else signing.login(new_key)
        outcome = _deliver(session, deps, citizen, secret.get("return_to"))
        return Outcome(outcome.tokens, None, outcome.redirect, tuple(blob_keys), tuple(notifier.queued_ids))


def _consume(engine: Engine, deps: AssuranceDeps, state: str, binding: str | None) -> tuple[EidLogin, dict[str, str]]:
    """The login transaction `state` names, used up at once (committed), whatever happens next."""
    with transaction(engine) as session:
        repo = AssuranceRepository(session)
        login = repo.eid_login(token_hash(state)) if state else None
        now = deps.identity.clock.now()
        if login is None or login.consumed_at is not None or now >= login.expires_at:
            raise EidStateInvalid()
        if binding is None or token_hash(binding) != login.binding_hash:
            raise EidStateInvalid()  # another browser's login (login CSRF) or a lost cookie
        login.consumed_at = now
        repo.add(login)
        return login, deps.sealer.open(login.sealed, purpose=_SEALED, ref=login.id)


def _impostor_to_close(engine: Engine, deps: AssuranceDeps, identity: EidIdentity) -> str | None:
    """The level-1 account holding the ID whose phone is not the e-ID's (or unknown): it must be closed."""
    with transaction(read_only(engine)) as session:
        citizen = _account(session, deps, identity)
        if citizen is None or citizen.assurance >= 2:
            return None
        return None if _same_phone(HolderService(session, deps.identity).profile(citizen), identity) else citizen.id


def _same_phone(holder: HolderProfile, identity: EidIdentity) -> bool:
    # An e-ID without a phone cannot show it is the level-1 account's holder: the ID's holder wins.
    return identity.phone is not None and holder.phone == identity.phone


def _account(session: Session, deps: AssuranceDeps, identity: EidIdentity) -> Citizen | None:
    citizen = IdentityRepository(session).citizen_by_national_id(deps.identity.national_id_index(identity.national_id))
    return citizen if citizen is not None and citizen.status == "active" else None


class _SignIn:
    def __init__(self, session: Session, deps: AssuranceDeps, identity: EidIdentity, proofer: Proofer) -> None:
        self._session = session
        self._deps = deps
        self._identity = identity
        self._proofer = proofer
        self._notifier = deps.notifier_of(session)
        self._assurance = AssuranceService(session, deps, self._notifier)
        self._holders = HolderService(session, deps.identity)

    def link(self, login: EidLogin) -> tuple[Citizen, list[str]]:
        citizen = IdentityRepository(self._session).citizen(login.citizen_id or "")
        if citizen is None or citizen.status != "active":
            raise EidStateInvalid()
        if self._holders.profile(citizen).national_id != self._identity.national_id:
            raise EidIdentityMismatch()
        self._raise(citizen)
        return citizen, []

    def login(self, new_key: CitizenKey | None) -> tuple[Citizen, list[str]]:
        citizen = _account(self._session, self._deps, self._identity)
        if citizen is None:
            return self._open(), []
        closing = citizen.assurance < 2 and not _same_phone(self._holders.profile(citizen), self._identity)
        if closing != (new_key is not None):
            raise AccountChanged()  # since the plan; the key replacement is abandoned, nothing changed
        if new_key is None:
            self._raise(citizen)  # level 2 already, or the e-ID's phone is the account's: the same person
            return citizen, []
        previous = self._holders.profile(citizen)
        holder = self._holder(email=None)
        closed = close_impostor(
            self._session, self._deps, self._notifier, citizen, new_key=new_key, holder=holder, pin=None
        )
        self._assurance.raise_to_level_two(citizen, self._proofer, kind="proofing", closed_impostor=True)
        tell_impostor(self._notifier, previous, self._deps.identity.clock.now(), self._proofer.how)
        return citizen, closed.papers.blob_keys

    def _raise(self, citizen: Citizen) -> None:
        if citizen.assurance < 2:
            self._assurance.raise_to_level_two(citizen, self._proofer, kind="proofing")

    def _open(self) -> Citizen:
        pending = IdentityRepository(self._session).citizen_by_national_id(
            self._deps.identity.national_id_index(self._identity.national_id)
        )
        if pending is not None:  # an unfinished registration of the same number (its key: the janitor's)
            IdentityRepository(self._session).delete_pending_citizen(pending)
        citizen, _ = self._holders.open_account(self._holder(email=None), pin_hash="", assurance=2)
        self._assurance.raise_to_level_two(citizen, self._proofer, kind="proofing")
        return citizen

    def _holder(self, *, email: str | None) -> HolderProfile:
        identity = self._identity
        if identity.full_name is None or identity.date_of_birth is None:
            raise EidFailed("ID token thiếu họ tên hoặc ngày sinh")
        return HolderProfile(
            identity.national_id, identity.full_name, identity.date_of_birth, identity.phone, email=email
        )


def _recover(
    engine: Engine, deps: AssuranceDeps, identity: EidIdentity, proofer: Proofer, secret: dict[str, str]
) -> Outcome:
    phone = secret.get("new_phone") or identity.phone
    if phone is None:
        raise AssuranceInvalid({"new_phone": ["give the phone to recover the account to"]})
    claimed = Claimed(identity.national_id, phone, identity.full_name, identity.date_of_birth)
    with transaction(engine) as session:
        notifier = deps.notifier_of(session)
        started = RecoveryService(session, deps, notifier).start(claimed, proofer)
        citizen = _account(session, deps, identity)
        return_to = secret.get("return_to")
        if return_to:
            subject = citizen.id if citizen else ""
            ticket = _ticket(session, deps, subject, "challenge", challenge_id=started.challenge_id)
            return Outcome(redirect=_with_ticket(return_to, ticket), outbox_ids=tuple(notifier.queued_ids))
        return Outcome(recovery=started, outbox_ids=tuple(notifier.queued_ids))


@dataclass(frozen=True)
class _Delivery:
    tokens: TokenPair | None
    redirect: str | None


def _deliver(session: Session, deps: AssuranceDeps, citizen: Citizen, return_to: str | None) -> _Delivery:
    if return_to:
        ticket = _ticket(session, deps, citizen.id, "tokens")
        return _Delivery(None, _with_ticket(return_to, ticket))
    return _Delivery(SessionService(session, deps.identity).start("citizen", citizen.id), None)


def _ticket(
    session: Session, deps: AssuranceDeps, citizen_id: str, outcome: str, challenge_id: str | None = None
) -> str:
    ticket = secrets.token_urlsafe(32)
    expires = deps.identity.clock.now() + TICKET_TTL
    row = EidTicket(
        ticket_hash=token_hash(ticket),
        citizen_id=citizen_id,
        outcome=outcome,
        challenge_id=challenge_id,
        expires_at=expires,
    )
    AssuranceRepository(session).add(row)
    return ticket


def _with_ticket(return_to: str, ticket: str) -> str:
    return f"{return_to}{'&' if '?' in return_to else '?'}{urlencode({'eid_ticket': ticket})}"


def exchange(engine: Engine, deps: AssuranceDeps, ticket: str) -> Outcome:
    """The outcome a ticket stands for, once: tokens are minted now; a recovery challenge is named again."""
    with transaction(engine) as session:
        repo = AssuranceRepository(session)
        row = repo.ticket(token_hash(ticket))
        now = deps.identity.clock.now()
        if row is None or row.consumed_at is not None or now >= row.expires_at:
            raise EidTicketInvalid()
        row.consumed_at = now
        repo.add(row)
        if row.outcome == "challenge" and row.challenge_id:
            challenge = IdentityRepository(session).challenge(row.challenge_id)
            if challenge is None:
                raise EidTicketInvalid()
            account: Literal["existing", "new"] = "existing" if row.citizen_id else "new"
            started = RecoveryStarted(challenge_id=challenge.id, expires_at=challenge.expires_at, account=account)
            return Outcome(recovery=started)
        return Outcome(tokens=SessionService(session, deps.identity).start("citizen", row.citizen_id))
