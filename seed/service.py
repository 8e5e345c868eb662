"""`congdanso seed`: citizens and papers at scale, in batches, through the real key hierarchy (`seed.rows`)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import sqlalchemy as sa

from identity.models import Citizen
from seed.rows import SeedKit, build
from seed.write import write

SEED_PIN = "246813"  # every seeded citizen's PIN: seeded data is for development and measurement only
BATCH = 1_000  # citizens per transaction


@dataclass(frozen=True)
class SeedReport:
    start: int  # the first citizen's number
    citizens: int
    papers: int
    seconds: float


def next_number(engine: sa.Engine) -> int:
    """Where a new seed starts by default: after as many citizens as the database holds, so a second seed extends
    the first instead of colliding with it."""
    with engine.connect() as connection:
        return int(connection.execute(sa.select(sa.func.count()).select_from(Citizen)).scalar_one())


def seed(
    kit: SeedKit,
    engines: tuple[sa.Engine, sa.Engine],
    *,
    citizens: int,
    papers_per_citizen: int,
    start: int,
    dossiers_per_citizen: int = 0,
    progress: Callable[[int], None] = lambda _done: None,
) -> SeedReport:
    """Citizens `start` to `start + citizens - 1`, each with `papers_per_citizen` papers, written `BATCH` citizens
    to a transaction into the main database and the key store (`engines`), with `dossiers_per_citizen` dossiers
    each over the year before the seed."""
    began = time.perf_counter()
    for first in range(start, start + citizens, BATCH):
        numbers = range(first, min(first + BATCH, start + citizens))
        write(*engines, build(kit, numbers, papers_per_citizen, dossiers_per_citizen))
        progress(numbers.stop - start)
    return SeedReport(start, citizens, citizens * papers_per_citizen, time.perf_counter() - began)
