"""The janitor walks the blob store a slice at a time (`wallet.janitor`): each run examines at most
`gc_slice_blobs` keys after where the previous run stopped, so over successive runs it finds the orphans of every
part of the key space, on the local folder and on a real S3 server, and never removes a blob a paper references."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import anyio
import sqlalchemy as sa

from api.deps import container_of
from storage.blobs import BlobStore
from storage.db import transaction
from tests.integration.conftest import Wallet
from tests.integration.wallet_helpers import diploma_fields, pdf_bytes, upload
from wallet.janitor import GcReport, Janitor
from wallet.models import DocumentFile

SLICE = 7
OUTSIDE = "exports/report.csv"  # a key outside the papers' prefix: never the janitor's


async def _one(data: bytes) -> AsyncIterator[bytes]:
    yield data


def _keys(store: BlobStore) -> set[str]:
    async def listed() -> set[str]:
        return {info.key async for info in store.list()}

    return anyio.run(listed)


def _put(store: BlobStore, keys: list[str]) -> None:
    async def put_all() -> None:
        for key in keys:
            await store.put(key, _one(b"sealed bytes"))

    anyio.run(put_all)


def test_orphans_of_every_slice_are_found_over_bounded_runs(any_wallet: Wallet) -> None:
    wallet = any_wallet
    container = container_of(wallet.app.state)
    for n in range(2):
        token = wallet.register(phone=f"09055510{n}0")[1]["access_token"]
        for m in range(2):
            answer = upload(wallet, token, "diploma", diploma_fields(), files=[("b.pdf", pdf_bytes(f"{n}-{m}"))])
            assert answer.status_code == 201, answer.text
    with transaction(container.engine) as session:
        referenced = set(session.execute(sa.select(DocumentFile.blob_key)).scalars())  # type: ignore[call-overload]
    citizens = sorted({key.split("/")[1] for key in referenced})
    # Orphans all over the key space: under every leading hex digit of a citizen id, and beside live papers.
    orphans = [f"c/{digit}{uuid.uuid4().hex[1:]}/{uuid.uuid4()}" for digit in "0123456789abcdef"]
    orphans += [f"c/{citizen}/{uuid.uuid4()}" for citizen in citizens for _ in range(2)]
    store = container.wallet.blobs
    _put(store, [*orphans, OUTSIDE])
    total = len(referenced) + len(orphans)
    assert _keys(store) == referenced | set(orphans) | {OUTSIDE}

    deps = replace(container.wallet, config=replace(container.wallet.config, gc_slice_blobs=SLICE))
    later = datetime.now(UTC) + timedelta(days=1)  # every orphan is past the grace period
    reports: list[GcReport] = []
    while not (reports and reports[-1].walk_completed):
        reports.append(anyio.run(lambda: Janitor(deps).collect(now=later)))
        assert reports[-1].blobs_examined <= SLICE  # a run's work is bounded
        assert len(reports) <= total // SLICE + 1, "the walk must reach the end"
        if len(reports) == 1:
            assert reports[0].orphans_removed < len(orphans)  # one run did not walk the whole bucket

    assert len(reports) == total // SLICE + 1
    assert sum(report.blobs_examined for report in reports) == total  # each key examined once in the pass
    assert sum(report.orphans_removed for report in reports) == len(orphans)
    assert _keys(store) == referenced | {OUTSIDE}
    # The next pass starts over at the first key: only the papers' blobs are left, and nothing more to remove.
    again = anyio.run(lambda: Janitor(deps).collect(now=later))
    assert (again.blobs_examined, again.orphans_removed, again.walk_completed) == (len(referenced), 0, True)
