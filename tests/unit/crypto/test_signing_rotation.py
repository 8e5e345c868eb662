from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from crypto.keyring import Keyring
from crypto.signing_rotation import (
    NO_ATTESTATIONS,
    SHORT_TOKEN_LIFETIME,
    AttestationLookup,
    AttestationSpan,
    SigningRotationError,
    describe_signing_keys,
    reschedule_retirements,
    retirement_time,
    rotate_signing_key,
)

NOW = datetime(2026, 11, 24, 8, 0, tzinfo=UTC)
GRACE = timedelta(hours=1)
MINUTE = timedelta(minutes=1)


def _ring() -> Keyring:
    return Keyring.generate(now=NOW - timedelta(days=30), development=True)


def _lookup(spans: dict[str, AttestationSpan]) -> AttestationLookup:
    return lambda kid: spans.get(kid, NO_ATTESTATIONS)


class TestRetirementTime:
    def test_without_attestations_it_is_the_last_short_token_plus_slack(self) -> None:
        due = retirement_time(signs_until=NOW, attestations=NO_ATTESTATIONS)
        assert due == NOW + timedelta(minutes=16)

    def test_attestations_expiring_sooner_change_nothing(self) -> None:
        span = AttestationSpan(latest_valid_until=NOW + 5 * MINUTE)
        assert retirement_time(signs_until=NOW, attestations=span) == NOW + 16 * MINUTE

    def test_the_latest_attestation_keeps_the_key_until_it_expires(self) -> None:
        until = NOW + timedelta(days=3650)
        assert retirement_time(signs_until=NOW, attestations=AttestationSpan(latest_valid_until=until)) == until

    def test_an_attestation_without_expiry_keeps_the_key_forever(self) -> None:
        span = AttestationSpan(latest_valid_until=NOW + timedelta(days=1), open_ended=True)
        assert retirement_time(signs_until=NOW, attestations=span) is None

    @given(
        signs_until=st.datetimes(timezones=st.just(UTC)),
        latest=st.none() | st.datetimes(timezones=st.just(UTC)),
    )
    def test_never_before_anything_signed_expires(self, signs_until: datetime, latest: datetime | None) -> None:
        if signs_until > datetime.max.replace(tzinfo=UTC) - SHORT_TOKEN_LIFETIME:
            return
        due = retirement_time(signs_until=signs_until, attestations=AttestationSpan(latest_valid_until=latest))
        assert due is not None
        assert due >= signs_until + SHORT_TOKEN_LIFETIME
        assert latest is None or due >= latest


class TestRotateSigningKey:
    def test_the_new_key_is_published_at_once_and_signs_after_the_grace(self) -> None:
        ring = _ring()
        old = ring.current_signing_key(NOW)
        done = rotate_signing_key(ring, now=NOW, grace=GRACE, attestations=_lookup({}))
        new = done.new_key
        assert new.active_from == NOW + GRACE
        assert {k.kid for k in done.ring.verification_keys(NOW)} == {old.kid, new.kid}
        assert done.ring.current_signing_key(NOW + GRACE - timedelta(microseconds=1)).kid == old.kid
        assert done.ring.current_signing_key(NOW + GRACE).kid == new.kid

    def test_the_old_key_retires_after_the_last_short_token_it_can_sign(self) -> None:
        ring = _ring()
        done = rotate_signing_key(ring, now=NOW, grace=GRACE, attestations=_lookup({}))
        retired_at = NOW + GRACE + 16 * MINUTE
        assert done.previous_key.retired_at == retired_at
        assert done.previous_key.can_verify(retired_at - timedelta(microseconds=1))
        assert {k.kid for k in done.ring.verification_keys(retired_at)} == {done.new_key.kid}

    def test_the_old_key_waits_for_its_attestations(self) -> None:
        ring = _ring()
        old = ring.current_signing_key(NOW)
        until = NOW + timedelta(days=365)
        spans = {old.kid: AttestationSpan(latest_valid_until=until)}
        done = rotate_signing_key(ring, now=NOW, grace=GRACE, attestations=_lookup(spans))
        assert done.previous_key.retired_at == until

    def test_an_open_ended_attestation_keeps_the_old_key(self) -> None:
        ring = _ring()
        old = ring.current_signing_key(NOW)
        done = rotate_signing_key(
            ring, now=NOW, grace=GRACE, attestations=_lookup({old.kid: AttestationSpan(open_ended=True)})
        )
        assert done.previous_key.retired_at is None
        assert done.ring.current_signing_key(NOW + GRACE).kid == done.new_key.kid

    def test_only_the_kid_of_the_old_key_is_asked(self) -> None:
        asked: list[str] = []

        def lookup(kid: str) -> AttestationSpan:
            asked.append(kid)
            return NO_ATTESTATIONS

        ring = _ring()
        rotate_signing_key(ring, now=NOW, grace=GRACE, attestations=lookup)
        assert asked == [ring.current_signing_key(NOW).kid]

    def test_a_rotation_during_another_ones_grace_is_refused(self) -> None:
        first = rotate_signing_key(_ring(), now=NOW, grace=GRACE, attestations=_lookup({}))
        with pytest.raises(SigningRotationError, match=first.new_key.kid):
            rotate_signing_key(first.ring, now=NOW + MINUTE, grace=GRACE, attestations=_lookup({}))

    def test_a_negative_grace_is_refused(self) -> None:
        with pytest.raises(SigningRotationError):
            rotate_signing_key(_ring(), now=NOW, grace=-MINUTE, attestations=_lookup({}))

    def test_a_zero_grace_switches_at_once(self) -> None:
        done = rotate_signing_key(_ring(), now=NOW, grace=timedelta(0), attestations=_lookup({}))
        assert done.ring.current_signing_key(NOW).kid == done.new_key.kid
        assert done.previous_key.retired_at == NOW + 16 * MINUTE

    def test_rotations_chain(self) -> None:
        first = rotate_signing_key(_ring(), now=NOW, grace=GRACE, attestations=_lookup({}))
        later = NOW + timedelta(days=90)
        second = rotate_signing_key(first.ring, now=later, grace=GRACE, attestations=_lookup({}))
        assert second.previous_key.kid == first.new_key.kid
        assert second.previous_key.retired_at == later + GRACE + 16 * MINUTE
        assert [k.kid for k in second.ring.verification_keys(later)] == [first.new_key.kid, second.new_key.kid]


class TestRescheduleRetirements:
    def test_attestations_signed_during_the_grace_push_the_retirement_back(self) -> None:
        ring = _ring()
        old = ring.current_signing_key(NOW)
        done = rotate_signing_key(ring, now=NOW, grace=GRACE, attestations=_lookup({}))
        until = NOW + timedelta(days=30)  # issued by the old key between the rotation and NOW + GRACE
        spans = {old.kid: AttestationSpan(latest_valid_until=until)}
        again = reschedule_retirements(done.ring, now=NOW + GRACE, attestations=_lookup(spans))
        assert next(k for k in again.signing_keys if k.kid == old.kid).retired_at == until

    def test_a_schedule_is_never_brought_forward(self) -> None:
        ring = _ring()
        old = ring.current_signing_key(NOW)
        until = NOW + timedelta(days=30)
        spans = {old.kid: AttestationSpan(latest_valid_until=until)}
        done = rotate_signing_key(ring, now=NOW, grace=GRACE, attestations=_lookup(spans))
        again = reschedule_retirements(done.ring, now=NOW + GRACE, attestations=_lookup({}))
        assert next(k for k in again.signing_keys if k.kid == old.kid).retired_at == until

    def test_an_open_ended_attestation_lifts_the_schedule(self) -> None:
        ring = _ring()
        old = ring.current_signing_key(NOW)
        done = rotate_signing_key(ring, now=NOW, grace=GRACE, attestations=_lookup({}))
        spans = {old.kid: AttestationSpan(open_ended=True)}
        again = reschedule_retirements(done.ring, now=NOW + GRACE, attestations=_lookup(spans))
        assert next(k for k in again.signing_keys if k.kid == old.kid).retired_at is None

    def test_a_retired_key_stays_retired_and_the_current_key_is_untouched(self) -> None:
        done = rotate_signing_key(_ring(), now=NOW, grace=GRACE, attestations=_lookup({}))
        old = done.previous_key
        assert old.retired_at is not None
        later = old.retired_at + MINUTE
        spans = {old.kid: AttestationSpan(open_ended=True), done.new_key.kid: AttestationSpan(open_ended=True)}
        again = reschedule_retirements(done.ring, now=later, attestations=_lookup(spans))
        assert again == done.ring


class TestDescribeSigningKeys:
    def test_statuses_through_a_rotation(self) -> None:
        ring = _ring()
        old = ring.current_signing_key(NOW)
        done = rotate_signing_key(ring, now=NOW, grace=GRACE, attestations=_lookup({}))
        retired_at = NOW + GRACE + 16 * MINUTE

        def statuses(at: datetime) -> list[str]:
            return [k["status"] for k in describe_signing_keys(done.ring, now=at)]

        assert statuses(NOW) == ["current", "pending"]
        assert statuses(NOW + GRACE) == ["retiring", "current"]
        assert statuses(retired_at) == ["retired", "current"]
        first = describe_signing_keys(done.ring, now=NOW)[0]
        assert first == {
            "kid": old.kid,
            "created_at": old.created_at.isoformat(),
            "active_from": old.active_from.isoformat(),
            "retired_at": retired_at.isoformat(),
            "status": "current",
        }

    def test_a_key_kept_for_open_ended_attestations(self) -> None:
        ring = _ring()
        old = ring.current_signing_key(NOW)
        spans = {old.kid: AttestationSpan(open_ended=True)}
        done = rotate_signing_key(ring, now=NOW, grace=GRACE, attestations=_lookup(spans))
        assert [k["status"] for k in describe_signing_keys(done.ring, now=NOW + GRACE)] == ["kept", "current"]
