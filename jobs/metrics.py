"""Two gauges of the queue for the metrics listener, read from PostgreSQL at each scrape: jobs parked as failed, and
how long the oldest due job has waited (a worker that is down or cannot keep up shows here first)."""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import Engine, text
from sqlalchemy.exc import SQLAlchemyError

FAILED = "congdanso_jobs_failed"  # the prefix of every metric the service exports (api.gauges.PREFIX)
OLDEST_QUEUED = "congdanso_jobs_oldest_queued_seconds"

# A due job's wait starts when it became due: its retry time, else when it was deferred.
_QUERY = text(
    """
    SELECT
        (SELECT count(*) FROM procrastinate_jobs WHERE status = 'failed') AS failed,
        (SELECT COALESCE(EXTRACT(EPOCH FROM now() - min(COALESCE(j.scheduled_at, e.at))), 0)
           FROM procrastinate_jobs j
           LEFT JOIN procrastinate_events e ON e.job_id = j.id AND e.type = 'deferred'
          WHERE j.status = 'todo' AND (j.scheduled_at IS NULL OR j.scheduled_at <= now())) AS oldest
    """
)


class JobsCollector(Collector):
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def describe(self) -> Iterator[GaugeMetricFamily]:
        """The names without a query, so a registry knows them (and refuses a second copy) before any scrape."""
        yield GaugeMetricFamily(FAILED, "")
        yield GaugeMetricFamily(OLDEST_QUEUED, "")

    def collect(self) -> Iterator[GaugeMetricFamily]:
        try:
            with self._engine.connect() as connection:
                failed, oldest = connection.execute(_QUERY).one()
        except SQLAlchemyError:
            return  # a scrape never fails for the queue; the database's own alerts speak
        yield GaugeMetricFamily(FAILED, "Background jobs parked as failed (congdanso jobs list --failed).", failed)
        yield GaugeMetricFamily(OLDEST_QUEUED, "Seconds the oldest due background job has waited.", float(oldest))
