"""`python -m bench` (`make bench`): every benchmark module, in order, into a fresh `bench/results.json`.

A capability adds its module to `BENCHMARKS`. Nothing is caught: the first failing benchmark stops the run with
its traceback and a non-zero exit status, and the figures recorded before it stay in the results file.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable

from bench import (
    assurance,
    audit,
    consent,
    fast_paths,
    forms,
    foundation,
    hsm,
    officer_desk,
    officer_requests,
    officer_scan,
    officer_stats,
    peers,
    policy,
    qr,
    wallet,
    web,
)
from bench.harness import RESULTS_PATH

BENCHMARKS: list[tuple[str, Callable[[], None]]] = [
    ("foundation", foundation.main),
    ("fast_paths", fast_paths.main),
    ("policy", policy.main),
    ("wallet", wallet.main),
    ("qr", qr.main),
    ("audit", audit.main),
    ("hsm", hsm.main),
    ("consent", consent.main),
    ("forms", forms.main),
    ("assurance", assurance.main),
    ("web", web.main),
    ("officer_scan", officer_scan.main),
    ("officer_requests", officer_requests.main),
    ("officer_desk", officer_desk.main),
    ("officer_stats", officer_stats.main),
    ("peers", peers.main),
]


def main(only: list[str] | None = None) -> None:
    """Every benchmark, or only those named (`python -m bench qr audit`)."""
    unknown = set(only or ()) - {name for name, _run in BENCHMARKS}
    if unknown:
        raise SystemExit(f"no such benchmark: {', '.join(sorted(unknown))}")
    RESULTS_PATH.unlink(missing_ok=True)  # one run's figures only: ratios hold within a run, not across runs
    started = time.perf_counter()
    for name, run in BENCHMARKS:
        if only and name not in only:
            continue
        print(f"== {name}", flush=True)
        module_started = time.perf_counter()
        run()
        print(f"== {name} done in {time.perf_counter() - module_started:.1f} s", flush=True)
    print(f"all benchmarks done in {time.perf_counter() - started:.1f} s; figures in {RESULTS_PATH}")


if __name__ == "__main__":
    main(sys.argv[1:])
