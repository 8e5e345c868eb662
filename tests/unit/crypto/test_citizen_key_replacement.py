"""Replacing one citizen's key: what is re-sealed survives, what the old key alone sealed is gone, and a crash
between the steps never loses the data that was meant to survive."""

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from crypto.aead import Context
from crypto.citizen_keys import CitizenKeys, replacement_slot
from crypto.errors import DecryptionError
from crypto.keyring import Keyring
from crypto.keys import LocalKeyProvider
from storage.db import create_db_engine
from storage.keystore import SqlCitizenKeyStore
from storage.migrate import upgrade

NOW = datetime(2026, 12, 6, tzinfo=UTC)
PROFILE = Context("profile", citizen="c-1")


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqlCitizenKeyStore]:
    engine = create_db_engine(f"sqlite:///{tmp_path / 'keys.db'}")
    upgrade(engine, chain="keystore")
    yield SqlCitizenKeyStore(engine)
    engine.dispose()


@pytest.fixture
def keys(store: SqlCitizenKeyStore) -> CitizenKeys:
    return CitizenKeys(LocalKeyProvider(Keyring.generate(now=NOW, development=True)), store)


class TestReplacement:
    def test_resealed_data_survives_and_the_rest_is_shredded(self, keys: CitizenKeys) -> None:
        old = keys.create("c-1")
        kept_key, kept_wrapped = old.new_data_key(document="d-keep", version=1)
        _, dropped_wrapped = old.new_data_key(document="d-drop", version=1)
        old_profile = old.seal(b"impostor", context=PROFILE)

        new = keys.begin_replacement("c-1")
        rewrapped = new.wrap_data_key(kept_key, document="d-keep", version=1)
        new_profile = new.seal(b"owner", context=PROFILE)
        keys.finish_replacement("c-1")

        current = keys.open("c-1")
        assert current.unwrap_data_key(rewrapped, document="d-keep", version=1) == kept_key
        assert current.open(new_profile, context=PROFILE) == b"owner"
        for attempt in (
            lambda: current.unwrap_data_key(kept_wrapped, document="d-keep", version=1),
            lambda: current.unwrap_data_key(dropped_wrapped, document="d-drop", version=1),
            lambda: current.open(old_profile, context=PROFILE),
        ):
            with pytest.raises(DecryptionError):
                attempt()

    def test_while_in_progress_both_keys_open_and_only_the_current_one_seals(self, keys: CitizenKeys) -> None:
        old = keys.create("c-1")
        before = old.seal(b"before", context=PROFILE)
        new = keys.begin_replacement("c-1")
        after = new.seal(b"after", context=PROFILE)
        opened = keys.open("c-1")
        assert opened.open(before, context=PROFILE) == b"before"
        assert opened.open(after, context=PROFILE) == b"after"
        # A request that seals meanwhile uses the current key, which the old data still needs.
        assert old.open(opened.seal(b"meanwhile", context=PROFILE), context=PROFILE) == b"meanwhile"

    def test_abandoning_keeps_the_old_key_alone(self, keys: CitizenKeys, store: SqlCitizenKeyStore) -> None:
        old = keys.create("c-1")
        token = old.seal(b"kept", context=PROFILE)
        keys.begin_replacement("c-1")
        keys.abandon_replacement("c-1")
        assert store.get(replacement_slot("c-1")) is None
        assert keys.open("c-1").open(token, context=PROFILE) == b"kept"

    def test_finishing_twice_is_harmless(self, keys: CitizenKeys) -> None:
        keys.create("c-1")
        new = keys.begin_replacement("c-1")
        token = new.seal(b"x", context=PROFILE)
        keys.finish_replacement("c-1")
        keys.finish_replacement("c-1")
        assert keys.open("c-1").open(token, context=PROFILE) == b"x"

    def test_a_replacement_slot_lists_as_its_citizen_and_destroy_removes_both(
        self, keys: CitizenKeys, store: SqlCitizenKeyStore
    ) -> None:
        keys.create("c-1")
        keys.begin_replacement("c-1")
        assert keys.ids() == ["c-1"]
        assert keys.replacements() == ["c-1"]
        keys.destroy("c-1")
        assert keys.ids() == []
        with pytest.raises(DecryptionError):
            keys.open("c-1")
        assert store.get(replacement_slot("c-1")) is None

    def test_master_rotation_rewraps_a_replacement_slot_under_its_citizen(self, store: SqlCitizenKeyStore) -> None:
        ring = Keyring.generate(now=NOW, development=True)
        keys = CitizenKeys(LocalKeyProvider(ring), store)
        keys.create("c-1")
        new = keys.begin_replacement("c-1")
        token = new.seal(b"x", context=PROFILE)
        rotated = CitizenKeys(LocalKeyProvider(ring.with_new_master_key(now=NOW)), store)
        assert rotated.rotate() == 2
        rotated.finish_replacement("c-1")
        assert rotated.open("c-1").open(token, context=PROFILE) == b"x"


class TestSettlingAnInterruptedReplacement:
    """A crash after step 1 or step 2: the probe tells which key the data needs now."""

    def test_crash_before_the_reseal_committed_abandons(self, keys: CitizenKeys) -> None:
        old = keys.create("c-1")
        token = old.seal(b"data", context=PROFILE)
        keys.begin_replacement("c-1")
        assert not keys.settle_replacement("c-1", needs_new_key=lambda k: _opens(k, token))
        assert keys.replacements() == []
        assert keys.open("c-1").open(token, context=PROFILE) == b"data"

    def test_crash_after_the_reseal_committed_finishes(self, keys: CitizenKeys) -> None:
        old = keys.create("c-1")
        stale = old.seal(b"old", context=PROFILE)
        token = keys.begin_replacement("c-1").seal(b"new", context=PROFILE)
        assert keys.settle_replacement("c-1", needs_new_key=lambda k: _opens(k, token))
        current = keys.open("c-1")
        assert current.open(token, context=PROFILE) == b"new"
        with pytest.raises(DecryptionError):
            current.open(stale, context=PROFILE)


def _opens(key: object, token: bytes) -> bool:
    try:
        key.open(token, context=PROFILE)  # type: ignore[attr-defined]
    except DecryptionError:
        return False
    return True
