"""The per-process cache of the last QR code given to each citizen: when it may hand a code out again, and its
bounds."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from identity.qr_cache import REUSE_WINDOW, CachedQr, QrCache
from identity.schemas import QrCode

NOW = datetime(2026, 11, 24, 8, 0, tzinfo=UTC)
TTL = timedelta(minutes=5)


def _entry(qr_id: str = "qr-1", kid: str = "sk-1", *, issued: datetime = NOW) -> CachedQr:
    return CachedQr(qr_id, kid, QrCode(token=f"token-of-{qr_id}", expires_at=issued + TTL, svg="<svg/>"))


def _get(cache: QrCache, citizen_id: str = "c1", *, now: datetime = NOW, **match: str) -> QrCode | None:
    return cache.get(citizen_id, qr_id=match.get("qr_id", "qr-1"), kid=match.get("kid", "sk-1"), now=now, ttl=TTL)


class TestReuse:
    def test_gives_the_same_code_within_the_window(self) -> None:
        cache, entry = QrCache(), _entry()
        cache.put("c1", entry)
        assert _get(cache) is entry.code
        assert _get(cache, now=NOW + REUSE_WINDOW - timedelta(seconds=1)) is entry.code

    def test_not_once_the_window_has_passed(self) -> None:
        cache = QrCache()
        cache.put("c1", _entry())
        assert _get(cache, now=NOW + REUSE_WINDOW) is None
        assert _get(cache, now=NOW + TTL) is None

    def test_never_a_code_living_longer_than_asked_should_the_clock_go_back(self) -> None:
        cache = QrCache()
        cache.put("c1", _entry())
        assert _get(cache, now=NOW - timedelta(seconds=1)) is None
        assert cache.get("c1", qr_id="qr-1", kid="sk-1", now=NOW, ttl=TTL - timedelta(seconds=1)) is None

    def test_not_for_another_qr_id_or_signing_key(self) -> None:
        cache = QrCache()
        cache.put("c1", _entry())
        assert _get(cache, qr_id="qr-2") is None
        assert _get(cache, kid="sk-2") is None
        assert _get(cache, "c2") is None

    def test_forget_drops_the_citizen_only(self) -> None:
        cache = QrCache()
        cache.put("c1", _entry())
        cache.put("c2", _entry())
        cache.forget("c1")
        cache.forget("nobody")
        assert _get(cache) is None and _get(cache, "c2") is not None


class TestBounds:
    def test_holds_at_most_its_size_dropping_the_least_recently_used(self) -> None:
        cache = QrCache(size=3)
        for n in range(5):
            cache.put(f"c{n}", _entry())
        assert len(cache) == 3
        assert _get(cache, "c0") is None and _get(cache, "c1") is None
        assert all(_get(cache, f"c{n}") is not None for n in (2, 3, 4))

    def test_entries_leave_once_the_window_has_passed_on_the_monotonic_timer(self) -> None:
        ticks = [0.0]
        cache = QrCache(timer=lambda: ticks[0])
        cache.put("c1", _entry())
        ticks[0] = REUSE_WINDOW.total_seconds()
        assert len(cache) == 0
