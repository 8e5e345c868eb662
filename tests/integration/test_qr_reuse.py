"""`GET /me/qr` answers the same token and drawing again for a short while (`identity.qr_cache`): the reused token
scans and decodes like a fresh one, a citizen no longer active is refused at once, and a new QR id or signing key
ends the reuse. Every test runs on SQLite and PostgreSQL with a frozen clock."""

from __future__ import annotations

from datetime import datetime, timedelta

import jwt
import pytest
from sqlmodel import select

from api.deps import container_of
from audit.service import AuditService
from identity.errors import InvalidCredentials
from identity.models import Citizen
from identity.qr import QrService
from identity.qr_cache import REUSE_WINDOW
from storage.db import transaction
from tests.integration.conftest import START, Wallet
from tests.integration.test_qr import _citizen, _citizen_id, _erase, _officer, _parts, _qr, _verify
from tests.integration.test_signing_keys import _rotate, live  # noqa: F401 - `live` is a fixture used below
from tests.qr_raster import decode_svg


def _set_citizen(wallet: Wallet, citizen_id: str, **values: str) -> None:
    with transaction(container_of(wallet.app.state).engine) as session:
        citizen = session.exec(select(Citizen).where(Citizen.id == citizen_id)).one()
        for name, value in values.items():
            setattr(citizen, name, value)


class TestReuse:
    def test_a_repeat_within_the_window_gets_the_same_code_which_scans_and_decodes(self, wallet: Wallet) -> None:
        _, token = _citizen(wallet)
        first = _qr(wallet, token)
        wallet.clock.advance(REUSE_WINDOW - timedelta(seconds=1))
        again = _qr(wallet, token)
        assert again == first
        assert [d.text for d in decode_svg(again["svg"])] == [again["token"]]
        assert _verify(wallet, _officer(wallet), again["token"])["valid"] is True
        left = datetime.fromisoformat(again["expires_at"]) - wallet.clock.now()
        assert timedelta(minutes=4, seconds=30) < left <= timedelta(minutes=5)

    def test_after_the_window_a_fresh_one(self, wallet: Wallet) -> None:
        _, token = _citizen(wallet)
        first = _qr(wallet, token)
        wallet.clock.advance(REUSE_WINDOW)
        second = _qr(wallet, token)
        assert second["token"] != first["token"]
        assert _parts(second["token"])[1]["jti"] != _parts(first["token"])[1]["jti"]
        assert datetime.fromisoformat(second["expires_at"]) == START + REUSE_WINDOW + timedelta(minutes=5)
        assert [d.text for d in decode_svg(second["svg"])] == [second["token"]]

    def test_each_citizen_gets_their_own(self, wallet: Wallet) -> None:
        (_, alice), (_, bob) = _citizen(wallet), _citizen(wallet)
        assert _parts(_qr(wallet, alice)["token"])[1]["sub"] != _parts(_qr(wallet, bob)["token"])[1]["sub"]

    def test_a_new_qr_id_ends_the_reuse(self, wallet: Wallet) -> None:
        _, token = _citizen(wallet)
        first = _qr(wallet, token)["token"]
        _set_citizen(wallet, _citizen_id(wallet, token), qr_id="a-new-qr-id-after-a-closure")
        assert _parts(_qr(wallet, token)["token"])[1]["sub"] == "a-new-qr-id-after-a-closure"
        assert _verify(wallet, _officer(wallet), first) == {"valid": False, "reason": "revoked"}


class TestRefusal:
    def test_an_erased_citizen_is_refused_at_once(self, wallet: Wallet) -> None:
        _, token = _citizen(wallet)
        citizen_id = _citizen_id(wallet, token)
        cached = _qr(wallet, token)["token"]
        _erase(wallet, token)
        assert wallet.get("/me/qr", token).status_code == 401
        assert _verify(wallet, _officer(wallet), cached) == {"valid": False, "reason": "revoked"}
        cache = container_of(wallet.app.state).qr_cache
        assert cache.get(citizen_id, qr_id="", kid="", now=START, ttl=timedelta(minutes=5)) is None
        assert len(cache) == 0

    def test_a_citizen_no_longer_active_is_refused_and_forgotten(self, wallet: Wallet) -> None:
        _, token = _citizen(wallet)
        citizen_id = _citizen_id(wallet, token)
        cached = _qr(wallet, token)["token"]
        container = container_of(wallet.app.state)
        assert len(container.qr_cache) == 1
        _set_citizen(wallet, citizen_id, status="pending")
        assert wallet.get("/me/qr", token).status_code != 200
        with transaction(container.engine) as session:
            service = QrService(session, container.identity, AuditService(session, container.clock))
            with pytest.raises(InvalidCredentials):
                service.issue_or_reuse(citizen_id, container.qr_cache)
        assert len(container.qr_cache) == 0
        assert _verify(wallet, _officer(wallet), cached) == {"valid": False, "reason": "revoked"}


class TestSigningKeyRotation:
    def test_a_new_signing_key_ends_the_reuse(self, live: Wallet) -> None:  # noqa: F811 - the imported fixture
        _, token = _citizen(live)
        report = _rotate(live, grace_seconds=60)
        active_from = datetime.fromisoformat(report["active_from"])
        live.clock.set(active_from - timedelta(seconds=5))
        before = _qr(live, token)["token"]
        assert jwt.get_unverified_header(before)["kid"] == report["previous_kid"]
        live.clock.set(active_from + timedelta(seconds=1))  # well within the reuse window
        after = _qr(live, token)["token"]
        assert jwt.get_unverified_header(after)["kid"] == report["new_kid"]
        assert _verify(live, _officer(live), before)["valid"] is True
