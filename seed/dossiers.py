"""Seeded dossiers (hồ sơ): a citizen's applications spread over the twelve months before the seed, so statistics
over a year have a year of dossiers to count.

Each is sealed as the forms service seals one (`forms.dossiers`): a data key wrapped under the citizen's key for
`application/<id>`, version 0, and the sheet sealed under it. Its clear columns (procedure, agency, status, times,
counts, rating) are what the statistics read; they vary per dossier, drawn from a generator seeded with the citizen's
number, so a seed is the same every time."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from crypto.aead import KEY_SIZE, Context, seal
from crypto.envelope import CitizenKey
from forms.dossiers import key_name
from forms.prefill import Sheet
from identity.holder import HolderProfile
from storage.types import new_id

# The catalog's procedures (forms/procedures.yaml) and the agency of each.
PROCEDURES = (
    ("passport_issue", "ca_xnc"),
    ("birth_registration", "ubnd_xa"),
    ("driver_license_renewal", "ca_csgt"),
    ("criminal_record_request", "so_tu_phap"),
    ("permanent_residence", "ca_xa"),
)
# Most dossiers get decided; a few stay drafts or wait. Repeats weigh the draw.
STATUSES = ("draft", "submitted", "processing", "needs_info", "completed", "completed", "completed", "rejected")
YEAR = timedelta(days=365)
RECENT = timedelta(days=1)  # the newest dossier starts a day before the seed


def dossiers(
    key: CitizenKey, holder: HolderProfile, n: int, count: int, *, now: datetime, entropy: bytes
) -> list[dict[str, object]]:
    """`count` dossier rows of citizen number `n` (columns of `forms.models.Application`); `entropy` holds their
    data keys, `KEY_SIZE` bytes each."""
    rng = random.Random(n)  # noqa: S311 -- only the statistics' spread, never a secret
    sheet = Sheet({"full_name": holder.full_name, "national_id": holder.national_id}).dumps()
    rows = []
    for k in range(count):
        data_key = entropy[k * KEY_SIZE : (k + 1) * KEY_SIZE]
        rows.append(_dossier(key, rng, f"{n:08d}{k:02d}", data_key, sheet=sheet, now=now))
    return rows


def _dossier(
    key: CitizenKey, rng: random.Random, serial: str, data_key: bytes, *, sheet: bytes, now: datetime
) -> dict[str, object]:
    application_id = new_id()
    procedure, agency = PROCEDURES[rng.randrange(len(PROCEDURES))]
    created = now - RECENT - (YEAR - RECENT) * rng.random()
    status = rng.choice(STATUSES)
    submitted = None if status == "draft" else created + timedelta(seconds=rng.randint(20, 1_800))
    decided = None
    if submitted and status in ("completed", "rejected"):
        decided = submitted + timedelta(hours=rng.randint(1, 300))
        if decided > now:  # not decided yet at the time of the seed
            decided, status = None, "processing"
    context = Context("application", citizen=key.citizen_id, document=application_id)
    return {
        "id": application_id,
        "citizen_id": key.citizen_id,
        "procedure_code": procedure,
        "agency_code": agency,
        "status": status,
        "dossier_code": f"HS-{created:%Y%m%d}-S{serial}" if submitted else None,
        "revision": 1,
        "wrapped_key": key.wrap_data_key(data_key, document=key_name(application_id), version=0),
        "sealed": seal(data_key, sheet, context=context),
        **timeline(rng, created=created, submitted=submitted, decided=decided),
    }


def timeline(
    rng: random.Random, *, created: datetime, submitted: datetime | None, decided: datetime | None
) -> dict[str, object]:
    """A dossier's clear columns that the statistics read besides its status: the form's counts, its times (login
    some minutes before submission, due 8 to 12 days after it) and a rating on most decided ones."""
    fields = rng.randint(6, 14)
    rating = rng.choice((None, None, 3, 4, 5, 5)) if decided else None
    return {
        "field_count": fields,
        "prefilled_count": rng.randint(0, fields),
        "reused_count": rng.randint(0, 3),
        "uploaded_count": rng.randint(0, 1),
        "login_at": submitted - timedelta(seconds=rng.randint(30, 900)) if submitted else None,
        "created_at": created,
        "updated_at": decided or submitted or created,
        "submitted_at": submitted,
        "decided_at": decided,
        "due_at": submitted + timedelta(days=rng.randint(8, 12)) if submitted else None,
        "rating_score": rating,
        "rated_at": decided + timedelta(hours=1) if decided and rating else None,
        "erased": False,
    }
