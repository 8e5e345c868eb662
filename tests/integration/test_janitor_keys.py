"""The janitor destroys the keys no live citizen owns (erased accounts, registrations that never committed), walking
the key store a page at a time: with pages of two keys, every key is still judged once and only the unused go."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import anyio
import pytest
import sqlalchemy as sa

import storage.keystore
from api.deps import container_of
from identity.models import Citizen
from storage.db import transaction
from tests.integration.conftest import Wallet
from wallet import janitor
from wallet.janitor import Janitor


def test_the_janitor_destroys_only_unused_keys_page_by_page(wallet: Wallet, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(storage.keystore, "PAGE", 2)
    monkeypatch.setattr(janitor, "KEY_PAGE", 2)
    container = container_of(wallet.app.state)
    tokens = [wallet.register(phone=f"090555000{n}")[1]["access_token"] for n in range(5)]
    with transaction(container.engine) as session:
        ids = list(session.exec(sa.select(Citizen.id).order_by(Citizen.id)).scalars())  # type: ignore[call-overload]
        session.execute(sa.update(Citizen).where(Citizen.id == ids[2]).values(status="erased"))  # type: ignore[arg-type]
    for orphan in ("00000000-orphan-a", "zzzzzzzz-orphan-b"):  # before and after every citizen in slot order
        container.citizen_keys.create(orphan)
    container.citizen_keys.begin_replacement(ids[0])  # a live citizen's second slot, right after the first
    assert len(container.citizen_keys.ids()) == 7

    later = datetime.now(UTC) + timedelta(days=1)
    report = anyio.run(lambda: Janitor(container.wallet).collect(now=later))

    assert report.keys_destroyed == 3
    assert container.citizen_keys.ids() == sorted(ids[:2] + ids[3:])
    for n in (0, 1, 3, 4):
        assert wallet.get("/me", tokens[n]).status_code == 200
