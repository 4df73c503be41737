"""Prometheus metrics: requests, index builds, jobs and the connection pool.

The metric objects live at module level, as prometheus_client expects. With several worker
processes, ``belonging serve`` points ``PROMETHEUS_MULTIPROC_DIR`` at an empty folder before
the workers start (see ``cli.share_metrics``): each process then writes its samples to files
there and any worker's ``/metrics`` adds them up (gauges count live processes only). Numbers
read from PostgreSQL at scrape time (the job queue) are the same whichever worker answers.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator

from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client import multiprocess as prometheus_multiprocess
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import generate_latest
from psycopg_pool import AsyncConnectionPool
from starlette.types import Scope

__all__ = ["CONTENT_TYPE_LATEST", "observe_request", "exposition", "multiprocess_dir"]

_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
#: Reports and placements take seconds; suggestions a few milliseconds.
_LATENCY_BUCKETS = (0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)
_BUILD_BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300)
_JOB_BUCKETS = (0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600)

REQUESTS = Counter("belonging_http_requests", "HTTP requests answered, by route template, method and status.",
                   ["route", "method", "status"])
REQUEST_SECONDS = Histogram("belonging_http_request_duration_seconds",
                            "Time from a request's arrival to its last byte sent, by route template and method.",
                            ["route", "method"], buckets=_LATENCY_BUCKETS)
INDEX_BUILD_SECONDS = Histogram("belonging_index_build_seconds",
                                "Community index builds (load from PostgreSQL and build), and their seconds.",
                                buckets=_BUILD_BUCKETS)
COMMUNITY_READS = Counter(
    "belonging_community_reads",
    "Whole communities read into a serving process for a report, what-if, placement, round or the dashboard.")
STORED_REPORTS_SERVED = Counter(
    "belonging_stored_reports_served",
    "Reports answered from the one stored with a suggestion index build, by where they were shown.", ["shown_in"])
INDEX_BUILD_FAILURES = Counter("belonging_index_build_failures", "Community index builds that failed.")
INDEX_REVISION_LAG = Gauge(
    "belonging_index_revision_lag",
    "Revisions the most stale community index of a process is behind the revision its last request saw.",
    multiprocess_mode="livemax")
JOB_SECONDS = Histogram("belonging_job_duration_seconds",
                        "Background jobs run, by kind and outcome, and their seconds.",
                        ["kind", "outcome"], buckets=_JOB_BUCKETS)
COMMUNITY_MODELS_HELD = Gauge(
    "belonging_community_models_held",
    "Communities read whole into a process's memory for organiser work (dropped when idle).",
    multiprocess_mode="livesum")
POOL_IN_USE = Gauge("belonging_db_pool_connections_in_use", "Database connections lent out by the pool.",
                    multiprocess_mode="livesum")
POOL_SIZE = Gauge("belonging_db_pool_connections", "Database connections the pool holds (in use or idle).",
                  multiprocess_mode="livesum")
POOL_WAITING = Gauge("belonging_db_pool_requests_waiting", "Requests waiting for a pool connection.",
                     multiprocess_mode="livesum")


def multiprocess_dir() -> str | None:
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None


def observe_pool(pool: AsyncConnectionPool) -> None:
    stats = pool.get_stats()
    size = stats.get("pool_size", 0)
    POOL_SIZE.set(size)
    POOL_IN_USE.set(size - stats.get("pool_available", 0))
    POOL_WAITING.set(stats.get("requests_waiting", 0))


def process_stopped() -> None:
    """Drop this process's live gauges from the multiprocess files (a no-op with one process)."""
    if multiprocess_dir() is not None:
        prometheus_multiprocess.mark_process_dead(os.getpid())


class _Fixed:
    """A collector of families computed before the scrape (numbers read from PostgreSQL)."""

    def __init__(self, families: Iterable[Metric]) -> None:
        self.families = list(families)

    def collect(self) -> Iterator[Metric]:
        return iter(self.families)


class _Default:
    """This process's own metrics, from the default registry."""

    def collect(self) -> Iterable[Metric]:
        return REGISTRY.collect()


def jobs_queued_family(queued: dict[str, int]) -> GaugeMetricFamily:
    family = GaugeMetricFamily("belonging_jobs_queued", "Jobs waiting in the PostgreSQL queue, by kind.",
                               labels=["kind"])
    for kind, count in sorted(queued.items()):
        family.add_metric([kind], count)
    return family


def exposition(pool: AsyncConnectionPool, queued: dict[str, int]) -> bytes:
    """The text a scrape gets: every process's metrics (one, or all in multiprocess mode) and the queue."""
    observe_pool(pool)
    registry = CollectorRegistry(auto_describe=False)
    if multiprocess_dir() is not None:
        prometheus_multiprocess.MultiProcessCollector(registry)
    else:
        registry.register(_Default())
    registry.register(_Fixed([jobs_queued_family(queued)]))
    return generate_latest(registry)


class IndexLag:
    """Tracks, per community, how far this process's index is behind the newest revision seen."""

    def __init__(self) -> None:
        self._seen: dict[int, int] = {}
        self._lag: dict[int, int] = {}

    def seen(self, community_id: int, revision: int, model_revision: int | None) -> None:
        if revision > self._seen.get(community_id, -1):
            self._seen[community_id] = revision
        self._update(community_id, model_revision)

    def built(self, community_id: int, model_revision: int) -> None:
        self._update(community_id, model_revision)

    def forget(self, community_id: int) -> None:
        """The community's model was dropped: it is no longer behind."""
        self._seen.pop(community_id, None)
        self._update(community_id, None)

    def _update(self, community_id: int, model_revision: int | None) -> None:
        lag = 0 if model_revision is None else max(0, self._seen.get(community_id, 0) - model_revision)
        if lag == self._lag.get(community_id, 0):
            return
        if lag:
            self._lag[community_id] = lag
        else:
            self._lag.pop(community_id, None)
        INDEX_REVISION_LAG.set(max(self._lag.values(), default=0))


def observe_request(scope: Scope, status: int, seconds: float) -> None:
    """Count one answered request by route template (``/v1/communities/{slug}/members``), method
    and status, with its latency, and sample the pool it used."""
    route = getattr(scope.get("route"), "path", None) or "unmatched"
    method = scope["method"] if scope["method"] in _METHODS else "other"
    REQUESTS.labels(route, method, str(status)).inc()
    REQUEST_SECONDS.labels(route, method).observe(seconds)
    state = getattr(scope.get("app"), "state", None)
    pool = getattr(state, "pool", None)
    if pool is not None:
        observe_pool(pool)
