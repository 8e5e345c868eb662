"""`congdanso seed --citizens N --papers-per-citizen M [--dossiers-per-citizen D]`: realistic sealed data for
measurements and drills (`seed`), refused with `WALLET_ENV=prod`. Prints progress to stderr and one JSON line (or
a sentence) at the end."""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor

from api.settings import Settings


def add_seed_arguments(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser("seed", help="add synthetic citizens and papers (development and measurement only)")
    parser.add_argument("--citizens", type=_positive, required=True)
    parser.add_argument("--papers-per-citizen", type=_count, default=10)
    parser.add_argument(
        "--dossiers-per-citizen", type=_count, default=0, help="dossiers over the 12 months before the seed"
    )
    parser.add_argument("--start", type=_count, default=None, help="the first citizen's number (default: after all)")
    parser.add_argument(
        "--processes", type=_positive, default=None, help="on PostgreSQL, seed in this many processes (default: CPUs)"
    )
    parser.add_argument("--json", action="store_true")
    parser.set_defaults(run=run_seed)


def run_seed(settings: Settings, args: argparse.Namespace) -> int:
    if settings.env == "prod":
        print("error: seed_refused: seeding synthetic citizens is refused with WALLET_ENV=prod", file=sys.stderr)
        return 2
    from seed.service import SEED_PIN, SeedReport, next_number
    from seed.write import SeedCollision
    from storage.db import create_db_engine

    engine = create_db_engine(settings.resolved_database_url, pool_size=1)
    start = next_number(engine) if args.start is None else args.start
    # SQLite has one writer at a time: more processes would only wait for each other.
    processes = 1 if engine.dialect.name == "sqlite" else (args.processes or os.cpu_count() or 1)
    engine.dispose()
    began = time.perf_counter()
    try:
        _run_parts(
            settings, _parts(start, args.citizens, processes), args.papers_per_citizen, args.dossiers_per_citizen
        )
    except SeedCollision:
        print(f"error: seed_collision: citizens from number {start} on exist already; pass --start", file=sys.stderr)
        return 2
    settled = time.perf_counter()
    _settle(settings)
    vacuum_seconds = time.perf_counter() - settled
    report = SeedReport(start, args.citizens, args.citizens * args.papers_per_citizen, time.perf_counter() - began)
    rate = report.papers / report.seconds if report.seconds else 0.0
    data: dict[str, object] = {"start": report.start, "citizens": report.citizens, "papers": report.papers}
    data["dossiers"] = args.citizens * args.dossiers_per_citizen
    data |= {"seconds": round(report.seconds, 2), "papers_per_second": round(rate), "processes": processes}
    data["vacuum_seconds"] = round(vacuum_seconds, 2)
    text = f"seeded citizens {report.start}..{report.start + report.citizens - 1} with {report.papers} papers"
    print(json.dumps(data | {"pin": SEED_PIN}) if args.json else f"{text} in {report.seconds:.1f} s (PIN {SEED_PIN})")
    return 0


def _settle(settings: Settings) -> None:
    from seed.write import settle
    from storage.db import create_db_engine

    engine = create_db_engine(settings.resolved_database_url, pool_size=1)
    keystore = create_db_engine(settings.resolved_keystore_url, pool_size=1)
    try:
        settle(engine, keystore)
    finally:
        engine.dispose()
        keystore.dispose()


def _parts(start: int, citizens: int, processes: int) -> list[range]:
    """Contiguous runs of citizen numbers, one a process, whole batches each but the last."""
    from seed.service import BATCH

    per = -(-citizens // processes)
    per = -(-per // BATCH) * BATCH
    return [range(first, min(first + per, start + citizens)) for first in range(start, start + citizens, per)]


def _run_parts(settings: Settings, parts: list[range], papers_per_citizen: int, dossiers: int) -> None:
    if len(parts) == 1:
        _seed_part(settings, parts[0], papers_per_citizen, dossiers)
        return
    context = multiprocessing.get_context("spawn")  # each part opens its own keys and connections
    with ProcessPoolExecutor(len(parts), mp_context=context) as pool:
        for done in [pool.submit(_seed_part, settings, part, papers_per_citizen, dossiers) for part in parts]:
            done.result()


def _seed_part(settings: Settings, numbers: range, papers_per_citizen: int, dossiers: int) -> None:
    from api.container import build_container
    from seed.rows import SeedKit
    from seed.service import SEED_PIN, seed

    container = build_container(settings)
    try:
        identity = container.identity
        kit = SeedKit(
            container.keys, identity.national_id_index, identity.phone_index, identity.pins.hash(SEED_PIN),
            container.clock.now(),
        )  # fmt: skip
        seed(
            kit,
            (container.engine, container.keystore_engine),
            citizens=len(numbers),
            papers_per_citizen=papers_per_citizen,
            start=numbers.start,
            dossiers_per_citizen=dossiers,
            progress=lambda done: print(f"seed: {numbers.start + done - 1}", file=sys.stderr, flush=True),
        )
    finally:
        asyncio.run(container.aclose())


def _count(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError("must be 0 or more")
    return value


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be 1 or more")
    return value
