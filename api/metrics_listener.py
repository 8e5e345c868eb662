"""`/metrics` on a listener of its own (`WALLET_METRICS_HOST`:`WALLET_METRICS_PORT`, loopback by default), apart
from the API's port, for a scraper on the same host or network segment. On the API's port `/metrics` answers only
callers the route policy lets read it.

With several workers each is its own process: prometheus_client's multiprocess mode has every worker write its
samples to files under `<data dir>/metrics`, and this listener (in the parent process) sums them, so one scrape
sees the whole service (counters summed, the in-progress gauge as the live sum). The listener also reports the
database's own gauges (`api.gauges`), read once per scrape in its own thread."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from functools import partial
from pathlib import Path

from prometheus_client import REGISTRY, CollectorRegistry, multiprocess, start_http_server
from prometheus_client.core import Metric
from prometheus_client.registry import Collector

from api.gauges import DatabaseGauges
from api.settings import Settings
from crypto.clock import SystemClock
from storage.db import create_db_engine

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"


def start_metrics_listener(settings: Settings) -> bool:
    """Serve the metrics on their own port, in a daemon thread of this process; False when none is configured."""
    if settings.metrics_port is None:
        return False
    registry = CollectorRegistry()
    if settings.workers > 1:
        multiprocess.MultiProcessCollector(registry, path=str(_fresh_multiprocess_dir(settings)))  # type: ignore[no-untyped-call]
    else:
        registry.register(_Forward(REGISTRY))  # this process's own request metrics
    # One connection of its own (never one of the requests' pool); made at the first scrape.
    engine = partial(create_db_engine, settings.resolved_database_url, pool_size=1)
    registry.register(DatabaseGauges(engine, SystemClock()))
    register_jobs_gauges(settings, registry)
    start_http_server(settings.metrics_port, addr=settings.metrics_host, registry=registry)
    return True


def register_jobs_gauges(settings: Settings, registry: CollectorRegistry) -> bool:
    """The job queue's gauges (`jobs.metrics`) on PostgreSQL, once per registry; False on SQLite (no queue). Only on
    this listener, like the database gauges: a read at scrape time must never run on the API's event loop."""
    from jobs.metrics import JobsCollector

    url = settings.resolved_direct_database_url
    if not url.startswith("postgresql"):
        return False
    engine = create_db_engine(url, pool_size=1)  # connects at the first scrape
    try:
        registry.register(JobsCollector(engine))
    except ValueError:  # registered already (the listener and a single worker share one process)
        engine.dispose()
        return False
    return True


def _fresh_multiprocess_dir(settings: Settings) -> Path:
    """The workers inherit the variable when they start; files of an earlier run would count twice, so they go."""
    path = (settings.data_dir / "metrics").resolve()
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True, mode=0o700)
    os.environ[MULTIPROC_ENV] = str(path)
    return path


class _Forward(Collector):
    """Another registry's metrics, as part of this one."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self._registry = registry

    def collect(self) -> Iterator[Metric]:
        yield from self._registry.collect()
