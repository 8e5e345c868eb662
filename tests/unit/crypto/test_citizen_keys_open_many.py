"""Opening many citizens' keys with one read of the store (the staff dossier list masks a page of applicants): the
same keys `open` gives, a destroyed one left out, and a key being replaced opening what either key sealed."""

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from crypto.aead import Context
from crypto.citizen_keys import CitizenKeys
from crypto.keyring import Keyring
from crypto.keys import LocalKeyProvider
from storage.db import create_db_engine
from storage.keystore import SqlCitizenKeyStore
from storage.migrate import upgrade

NOW = datetime(2026, 12, 6, tzinfo=UTC)


@pytest.fixture
def keys(tmp_path: Path) -> Iterator[CitizenKeys]:
    engine = create_db_engine(f"sqlite:///{tmp_path / 'keys.db'}")
    upgrade(engine, chain="keystore")
    yield CitizenKeys(LocalKeyProvider(Keyring.generate(now=NOW, development=True)), SqlCitizenKeyStore(engine))
    engine.dispose()


def test_the_keys_open_gives_without_the_destroyed_ones(keys: CitizenKeys) -> None:
    sealed = {cid: keys.create(cid).seal(cid.encode(), context=Context("profile", citizen=cid)) for cid in "abc"}
    keys.destroy("b")
    opened = keys.open_many(["a", "b", "c", "unknown"])
    assert sorted(opened) == ["a", "c"]
    for cid in ("a", "c"):
        assert opened[cid].open(sealed[cid], context=Context("profile", citizen=cid)) == cid.encode()
    assert keys.open_many([]) == {}


def test_a_key_being_replaced_opens_what_either_sealed(keys: CitizenKeys) -> None:
    old = keys.create("a").seal(b"old", context=Context("profile", citizen="a"))
    new = keys.begin_replacement("a").seal(b"new", context=Context("profile", citizen="a"))
    key = keys.open_many(["a"])["a"]
    assert key.open(old, context=Context("profile", citizen="a")) == b"old"
    assert key.open(new, context=Context("profile", citizen="a")) == b"new"
