"""Background jobs on PostgreSQL: enqueue, claim with SKIP LOCKED, run, record progress and result.

Job state lives in the ``jobs`` table, so a job survives a restart: a job whose worker stopped
sending heartbeats is queued again. Any number of processes can run workers against the same
database. Handlers are registered by kind and receive a :class:`JobContext`.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg_pool import AsyncConnectionPool

from belonging.service import metrics
from belonging.service.repository import jobs as repository
from belonging.service.repository import locks

log = logging.getLogger("belonging.jobs")

Handler = Callable[["JobContext"], Awaitable[dict[str, Any]]]
HANDLERS: dict[str, Handler] = {}
WORKER_ID = f"{socket.gethostname()}:{os.getpid()}"


def handler(kind: str) -> Callable[[Handler], Handler]:
    """Register the coroutine that runs jobs of ``kind``."""

    def register(function: Handler) -> Handler:
        HANDLERS[kind] = function
        return function

    return register


@dataclass
class JobContext:
    pool: AsyncConnectionPool
    community_id: int
    job_id: str
    kind: str
    params: dict[str, Any]
    app_state: Any

    async def progress(self, fraction: float) -> None:
        async with self.pool.connection() as conn:
            await repository.progress(conn, self.community_id, self.job_id, max(0.0, min(1.0, fraction)))


async def run_one(pool: AsyncConnectionPool, app_state: Any) -> bool:
    """Claim and run one due job. Returns False when there was none."""
    async with pool.connection() as conn:
        job = await repository.claim(conn)
    if job is None:
        return False
    context = JobContext(pool, job["community_id"], job["job_id"], job["kind"], job["params"], app_state)
    run = HANDLERS.get(job["kind"])
    started = time.perf_counter()
    # A kind no handler knows is counted as "unknown", so a bad row cannot grow the label set.
    kind_label = job["kind"] if run is not None else "unknown"
    try:
        if run is None:
            raise LookupError(f"no handler for job kind {job['kind']!r}")
        result = await run(context)
    except Exception as exc:
        metrics.JOB_SECONDS.labels(kind_label, "failed").observe(time.perf_counter() - started)
        log.exception("job failed", extra={"job_id": job["job_id"], "kind": job["kind"]})
        async with pool.connection() as conn:
            await repository.fail(conn, job["community_id"], job["job_id"], f"{type(exc).__name__}: {exc}")
        return True
    metrics.JOB_SECONDS.labels(kind_label, "done").observe(time.perf_counter() - started)
    async with pool.connection() as conn:
        await repository.finish(conn, job["community_id"], job["job_id"], result)
    return True


class _Loop:
    """A ``run_forever`` coroutine run as one task of the event loop, from ``start`` to ``stop``."""

    _task: asyncio.Task | None = None

    async def run_forever(self) -> None:
        raise NotImplementedError

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self.run_forever())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)


class Worker(_Loop):
    """Polls for due jobs, sends heartbeats, re-queues jobs abandoned by dead workers."""

    def __init__(self, pool: AsyncConnectionPool, app_state: Any, *, poll_seconds: float = 1.0,
                 schedule: Callable[[AsyncConnectionPool], Awaitable[None]] | None = None) -> None:
        self.pool = pool
        self.app_state = app_state
        self.poll_seconds = poll_seconds
        self.schedule = schedule

    async def run_forever(self) -> None:
        ticks = 0
        while True:
            try:
                if ticks % 60 == 0:
                    async with self.pool.connection() as conn:
                        await repository.requeue_abandoned(conn)
                    if self.schedule is not None:
                        await self.schedule(self.pool)
                ticks += 1
                while await run_one(self.pool, self.app_state):
                    pass
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("job worker loop failed; retrying")
            await asyncio.sleep(self.poll_seconds)


class Leadership(_Loop):
    """Runs ``worker`` in one process of each machine: the one holding that machine's leader lock.

    Every process of a machine (``machine``: the host and data folder, as for index builds)
    tries to take the lock (``locks.try_lead``) on a connection of its own and tries again every
    ``retry_seconds`` while another holds it; the holder starts the worker and checks its
    connection as often. A leader that dies or loses its connection loses the lock with it (and
    stops its worker), so another process of the machine takes over within ``retry_seconds``.
    The leaders of several machines take jobs from the one queue, each job once (``SKIP LOCKED``).
    """

    def __init__(self, database_url: str, worker: Worker, machine: str, *, retry_seconds: float = 5.0) -> None:
        self.database_url = database_url
        self.worker = worker
        self.machine = machine
        self.retry_seconds = retry_seconds
        self.leading = False

    async def run_forever(self) -> None:
        while True:
            try:
                async with await psycopg.AsyncConnection.connect(self.database_url, autocommit=True) as conn:
                    while not await locks.try_lead(conn, self.machine):
                        await asyncio.sleep(self.retry_seconds)
                    self.leading = True
                    log.info("leading: this process runs the background jobs")
                    self.worker.start()
                    try:
                        while True:
                            await asyncio.sleep(self.retry_seconds)
                            await conn.execute("SELECT 1")
                    finally:
                        self.leading = False
                        await self.worker.stop()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("leader connection failed; trying again")
                await asyncio.sleep(self.retry_seconds)

    async def stop(self) -> None:
        await super().stop()
        await self.worker.stop()
