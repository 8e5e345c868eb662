import os
from datetime import UTC, datetime

import pytest

from crypto.aead import Context
from crypto.envelope import CitizenKey, rewrap_citizen_key
from crypto.errors import DecryptionError
from crypto.keyring import Keyring
from crypto.keys import LocalKeyProvider
from crypto.stream import StreamDecryptor, StreamEncryptor

NOW = datetime(2025, 3, 1, tzinfo=UTC)


def create_provider() -> LocalKeyProvider:
    return LocalKeyProvider(Keyring.generate(now=NOW, development=True))


def profile(citizen: str) -> Context:
    return Context("profile", citizen=citizen)


class TestCitizenKey:
    def test_a_record_sealed_at_creation_opens_after_unwrapping(self) -> None:
        provider = create_provider()
        key, wrapped = CitizenKey.create(provider, "c-1")
        token = key.seal(b'{"name": "Nguyen Van A"}', context=profile("c-1"))
        again = CitizenKey.unwrap(provider, "c-1", wrapped)
        assert again.open(token, context=profile("c-1")) == b'{"name": "Nguyen Van A"}'
        assert again.citizen_id == "c-1"

    def test_a_wrapped_key_opens_only_for_its_citizen(self) -> None:
        provider = create_provider()
        _, wrapped = CitizenKey.create(provider, "c-1")
        with pytest.raises(DecryptionError):
            CitizenKey.unwrap(provider, "c-2", wrapped)

    def test_records_are_bound_to_their_context(self) -> None:
        key, _ = CitizenKey.create(create_provider(), "c-1")
        fields = Context("document-fields", citizen="c-1", document="d-1", version=1)
        token = key.seal(b"fields", context=fields)
        for other in (profile("c-1"), Context("document-fields", citizen="c-1", document="d-1", version=2)):
            with pytest.raises(DecryptionError):
                key.open(token, context=other)

    def test_sealing_for_another_citizen_is_refused(self) -> None:
        key, _ = CitizenKey.create(create_provider(), "c-1")
        with pytest.raises(ValueError, match="another citizen"):
            key.seal(b"x", context=profile("c-2"))

    def test_repr_hides_the_key(self) -> None:
        key, _ = CitizenKey.create(create_provider(), "c-1")
        assert repr(key) == "CitizenKey(citizen_id='c-1')"

    @pytest.mark.parametrize(("citizen", "kek"), [("", bytes(32)), ("c-1", bytes(16))])
    def test_bad_construction_is_refused(self, citizen: str, kek: bytes) -> None:
        with pytest.raises(ValueError, match="citizen"):
            CitizenKey(citizen, kek)


class TestDataKeys:
    def test_round_trip(self) -> None:
        key, _ = CitizenKey.create(create_provider(), "c-1")
        data_key, wrapped = key.new_data_key(document="d-1", version=1)
        assert len(data_key) == 32
        assert key.unwrap_data_key(wrapped, document="d-1", version=1) == data_key

    @pytest.mark.parametrize(("document", "version"), [("d-1", 2), ("d-2", 1), ("d-2", 2)])
    def test_a_wrapped_data_key_is_bound_to_its_document_version(self, document: str, version: int) -> None:
        key, _ = CitizenKey.create(create_provider(), "c-1")
        _, wrapped = key.new_data_key(document="d-1", version=1)
        with pytest.raises(DecryptionError):
            key.unwrap_data_key(wrapped, document=document, version=version)

    def test_swapping_wrapped_data_keys_between_versions_fails(self) -> None:
        key, _ = CitizenKey.create(create_provider(), "c-1")
        _, wrapped_v1 = key.new_data_key(document="d-1", version=1)
        _, wrapped_v2 = key.new_data_key(document="d-1", version=2)
        with pytest.raises(DecryptionError):
            key.unwrap_data_key(wrapped_v2, document="d-1", version=1)
        with pytest.raises(DecryptionError):
            key.unwrap_data_key(wrapped_v1, document="d-1", version=2)

    def test_a_record_cannot_pose_as_a_wrapped_data_key(self) -> None:
        key, _ = CitizenKey.create(create_provider(), "c-1")
        forged = key.seal(bytes(32), context=Context("data-key", citizen="c-1", document="d-1", version=1))
        with pytest.raises(DecryptionError):
            key.unwrap_data_key(forged, document="d-1", version=1)

    def test_a_data_key_seals_a_file_stream(self) -> None:
        key, _ = CitizenKey.create(create_provider(), "c-1")
        data_key, wrapped = key.new_data_key(document="d-1", version=1)
        context = Context("file", citizen="c-1", document="d-1", version=1, file="f-1")
        plaintext = os.urandom(200_000)
        encryptor = StreamEncryptor(data_key, context=context)
        sealed = encryptor.header() + encryptor.update(plaintext) + encryptor.finalize()
        decryptor = StreamDecryptor(key.unwrap_data_key(wrapped, document="d-1", version=1), context=context)
        assert decryptor.update(sealed) == plaintext
        decryptor.finalize()


class TestRotation:
    def test_rewrapped_citizen_keys_survive_the_old_master_and_no_record_is_rewritten(self) -> None:
        ring = Keyring.generate(now=NOW, development=True)
        old_kid = ring.current_master_kid
        key, wrapped = CitizenKey.create(LocalKeyProvider(ring), "c-1")
        token = key.seal(b"profile", context=profile("c-1"))
        _, wrapped_data_key = key.new_data_key(document="d-1", version=1)

        rotated_ring = ring.with_new_master_key(now=NOW)
        rewrapped = rewrap_citizen_key(LocalKeyProvider(rotated_ring), "c-1", wrapped)
        retired = LocalKeyProvider(rotated_ring.without_master_key(old_kid))

        assert retired.kid_of(rewrapped) == rotated_ring.current_master_kid
        again = CitizenKey.unwrap(retired, "c-1", rewrapped)
        assert again.open(token, context=profile("c-1")) == b"profile"
        assert len(again.unwrap_data_key(wrapped_data_key, document="d-1", version=1)) == 32
        with pytest.raises(DecryptionError):
            CitizenKey.unwrap(retired, "c-1", wrapped)

    def test_rewrap_checks_the_citizen(self) -> None:
        ring = Keyring.generate(now=NOW, development=True)
        _, wrapped = CitizenKey.create(LocalKeyProvider(ring), "c-1")
        with pytest.raises(DecryptionError):
            rewrap_citizen_key(LocalKeyProvider(ring.with_new_master_key(now=NOW)), "c-2", wrapped)


class TestCryptoShredding:
    """Erasing a citizen deletes their wrapped key; every other key that could exist must fail."""

    def test_nothing_opens_without_the_destroyed_citizen_key(self) -> None:
        provider = create_provider()
        key, wrapped = CitizenKey.create(provider, "c-1")
        record = key.seal(b"profile", context=profile("c-1"))
        _, wrapped_data_key = key.new_data_key(document="d-1", version=1)
        del key, wrapped  # the erasure: the only copy of the wrapped citizen key is gone

        recreated, _ = CitizenKey.create(provider, "c-1")  # a new account under the same id
        other_citizen, _ = CitizenKey.create(provider, "c-2")
        for stranger in (recreated, other_citizen):
            with pytest.raises(DecryptionError):
                stranger.open(record, context=profile("c-1"))
            with pytest.raises(DecryptionError):
                stranger.unwrap_data_key(wrapped_data_key, document="d-1", version=1)

    def test_a_wrapped_data_key_opens_only_under_its_citizen_key(self) -> None:
        provider = create_provider()
        owner, _ = CitizenKey.create(provider, "c-1")
        other, _ = CitizenKey.create(provider, "c-2")
        _, wrapped = owner.new_data_key(document="d-1", version=1)
        with pytest.raises(DecryptionError):
            other.unwrap_data_key(wrapped, document="d-1", version=1)
