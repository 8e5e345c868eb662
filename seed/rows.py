"""The rows of seeded citizens, sealed through the real key hierarchy exactly as registration and the wallet seal
them: a citizen key wrapped by the key provider, the profile sealed under it, one data key per paper wrapped under
it, the paper's validated fields sealed under that (`wallet.service.seal_fields`). Only the PIN hash is shared: one
Argon2 hash of the seed PIN for every seeded citizen (a million hashes would take hours), which is why seeding is
refused in production."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from crypto.aead import KEY_SIZE
from crypto.derive import BlindIndex
from crypto.envelope import CitizenKey
from crypto.keys import KeyProvider
from identity.profile import profile_context
from seed.dossiers import dossiers
from seed.people import papers, profile
from storage.types import new_id
from wallet.service import seal_fields

Row = dict[str, Any]


@dataclass(frozen=True)
class SeedKit:
    """What sealing a seeded citizen needs: the service's own key provider and blind indexes."""

    keys: KeyProvider
    national_id_index: BlindIndex
    phone_index: BlindIndex
    pin_hash: str
    now: datetime


@dataclass
class Batch:
    keys: list[Row] = field(default_factory=list)  # the key store's rows
    citizens: list[Row] = field(default_factory=list)
    documents: list[Row] = field(default_factory=list)
    versions: list[Row] = field(default_factory=list)
    applications: list[Row] = field(default_factory=list)


def build(kit: SeedKit, numbers: range, papers_per_citizen: int, dossiers_per_citizen: int = 0) -> Batch:
    """The rows of citizens `numbers`, each with `papers_per_citizen` papers and `dossiers_per_citizen` dossiers
    spread over the year before `kit.now` (`seed.dossiers`)."""
    batch = Batch()
    for n in numbers:
        _citizen(kit, batch, n, papers_per_citizen, dossiers_per_citizen)
    return batch


def _citizen(kit: SeedKit, batch: Batch, n: int, count: int, dossier_count: int) -> None:
    holder, citizen_id = profile(n), new_id()
    key, wrapped = CitizenKey.create(kit.keys, citizen_id)
    batch.keys.append({"citizen_id": citizen_id, "wrapped": wrapped, "updated_at": kit.now})
    batch.citizens.append(
        {
            "id": citizen_id,
            "national_id_index": kit.national_id_index(holder.national_id),
            "phone_index": kit.phone_index(str(holder.phone)),
            "qr_id": secrets.token_urlsafe(16),
            "profile_sealed": key.seal(holder.as_json(), context=profile_context(citizen_id)),
            "pin_hash": kit.pin_hash,
            "status": "active",
            "created_at": kit.now,
            "activated_at": kit.now,
            "assurance": 1,
        }
    )
    # The generator's fields are already in the form validation returns (tests/integration/test_seed.py checks it
    # over many citizens): validating each paper again would be most of a seed's time.
    # The papers' data keys from one read of the OS CSPRNG (`generate_key` reads it once a key: a tenth of a
    # seed's time in system calls); every 32-byte slice is as random as a key read alone.
    entropy = os.urandom(KEY_SIZE * (count + dossier_count))
    for k, (type_code, fields) in enumerate(papers(holder, n, count)):
        _paper(kit, batch, key, type_code, fields, data_key=entropy[k * KEY_SIZE : (k + 1) * KEY_SIZE])
    if dossier_count:
        rest = entropy[count * KEY_SIZE :]
        batch.applications += dossiers(key, holder, n, dossier_count, now=kit.now, entropy=rest)


def _paper(
    kit: SeedKit, batch: Batch, key: CitizenKey, type_code: str, clean: dict[str, object], *, data_key: bytes
) -> None:
    document_id = new_id()
    wrapped = key.wrap_data_key(data_key, document=document_id, version=1)
    batch.documents.append(
        {
            "id": document_id,
            "citizen_id": key.citizen_id,
            "type": type_code,
            "source": "citizen",
            "provenance": "self_uploaded",
            "issuer_code": None,
            "revoked_at": None,
            "held_at": None,
            "current_version": 1,
            "created_at": kit.now,
            "updated_at": kit.now,
        }
    )
    sealed = seal_fields(
        data_key, citizen_id=key.citizen_id, document_id=document_id, version=1, clean=clean, file_ids=()
    )
    batch.versions.append(
        {
            "id": new_id(),
            "document_id": document_id,
            "version": 1,
            "wrapped_data_key": wrapped,
            "sealed": sealed,
            "created_at": kit.now,
        }
    )
