"""The in-process cache of unwrapped citizen keys. Two `CitizenKeys` over one key store stand for two workers of the
service: what one worker does to a key takes effect in it at once, and in the other when its cached entry expires
(`KEY_CACHE_TTL`), never later; sealing never uses a key another worker has replaced."""

from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path

import pytest

from crypto.aead import Context
from crypto.citizen_keys import KEY_CACHE_TTL, CitizenKeys
from crypto.errors import DecryptionError
from crypto.keyring import Keyring
from crypto.keys import LocalKeyProvider
from storage.db import create_db_engine
from storage.keystore import SqlCitizenKeyStore
from storage.migrate import upgrade

NOW = datetime(2026, 12, 6, tzinfo=UTC)
PROFILE = Context("profile", citizen="c-1")


class Timer:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class CountingStore(SqlCitizenKeyStore):
    """The real store, counting its reads (a cache hit reads nothing)."""

    reads = 0

    def get(self, citizen_id: str) -> bytes | None:
        self.reads += 1
        return super().get(citizen_id)

    def get_many(self, citizen_ids: Sequence[str]) -> dict[str, bytes]:
        self.reads += 1
        return super().get_many(citizen_ids)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[CountingStore]:
    engine = create_db_engine(f"sqlite:///{tmp_path / 'keys.db'}")
    upgrade(engine, chain="keystore")
    yield CountingStore(engine)
    engine.dispose()


@pytest.fixture
def timer() -> Timer:
    return Timer()


@pytest.fixture
def provider() -> LocalKeyProvider:
    return LocalKeyProvider(Keyring.generate(now=NOW, development=True))


def worker(provider: LocalKeyProvider, store: CountingStore, timer: Timer, size: int = 100) -> CitizenKeys:
    return CitizenKeys(provider, store, timer=timer, cache_size=size)


def test_a_cached_key_reads_without_the_store(provider: LocalKeyProvider, store: CountingStore, timer: Timer) -> None:
    keys = worker(provider, store, timer)
    sealed = keys.create("c-1").seal(b"profile", context=PROFILE)
    keys.open("c-1")
    before = store.reads
    for _ in range(5):
        assert keys.open("c-1").open(sealed, context=PROFILE) == b"profile"
    assert store.reads == before


def test_erasure_is_immediate_in_its_worker_and_within_the_ttl_in_another(
    provider: LocalKeyProvider, store: CountingStore, timer: Timer
) -> None:
    erasing, other = worker(provider, store, timer), worker(provider, store, timer)
    sealed = erasing.create("c-1").seal(b"profile", context=PROFILE)
    erasing.open("c-1")
    other.open("c-1")

    erasing.destroy("c-1")

    with pytest.raises(DecryptionError):
        erasing.open("c-1")
    timer.now += KEY_CACHE_TTL - 1  # the other worker's entry, not yet expired: the documented window
    assert other.open("c-1").open(sealed, context=PROFILE) == b"profile"
    timer.now += 1
    with pytest.raises(DecryptionError):
        other.open("c-1")


def test_a_logout_drops_the_key(provider: LocalKeyProvider, store: CountingStore, timer: Timer) -> None:
    keys = worker(provider, store, timer)
    keys.create("c-1")
    keys.open("c-1")
    keys.forget("c-1")
    before = store.reads
    keys.open("c-1")
    assert store.reads > before


def test_a_rotation_empties_the_cache(provider: LocalKeyProvider, store: CountingStore, timer: Timer) -> None:
    keys = worker(provider, store, timer)
    keys.create("c-1")
    keys.open("c-1")
    keys.rotate()
    before = store.reads
    keys.open("c-1")
    assert store.reads > before


def test_sealing_uses_the_key_another_worker_put_in_place(
    provider: LocalKeyProvider, store: CountingStore, timer: Timer
) -> None:
    sealing, reading, replacing = (worker(provider, store, timer) for _ in range(3))
    replacing.create("c-1")
    sealing.open("c-1")  # both cached the key before the replacement
    reading.open("c-1")
    replacing.begin_replacement("c-1")
    replacing.finish_replacement("c-1")  # the old key is destroyed

    sealed = sealing.open_fresh("c-1").seal(b"new", context=PROFILE)

    assert replacing.open("c-1").open(sealed, context=PROFILE) == b"new"  # readable under the key now in place
    with pytest.raises(DecryptionError):
        reading.open("c-1").open(sealed, context=PROFILE)  # a stale cached key cannot: its callers retry fresh
    assert reading.open_fresh("c-1").open(sealed, context=PROFILE) == b"new"
    assert reading.open("c-1").open(sealed, context=PROFILE) == b"new"  # and the retry refreshed the cache


def test_the_cache_is_bounded(provider: LocalKeyProvider, store: CountingStore, timer: Timer) -> None:
    keys = worker(provider, store, timer, size=2)
    for citizen in ("c-1", "c-2", "c-3"):
        keys.create(citizen)
        keys.open(citizen)
    before = store.reads
    keys.open("c-3")
    assert store.reads == before  # the newest stays
    keys.open("c-1")
    assert store.reads > before  # the oldest was let go
