"""The job queue table."""

from __future__ import annotations

from typing import Any

from psycopg import AsyncConnection
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from belonging.service.repository.fan_out import allow_fan_out

MAX_ATTEMPTS = 3
# A running job that has not sent a heartbeat for this long lost its worker.
ABANDONED_AFTER = "10 minutes"

_COLUMNS = ("community_id, job_id::text AS job_id, kind, params, status, progress, result, error, attempts,"
            " created_at, started_at, finished_at")


async def enqueue(conn: AsyncConnection, community_id: int, kind: str, params: dict[str, Any]) -> str:
    cur = await conn.execute(
        "INSERT INTO jobs (community_id, kind, params) VALUES (%(cid)s, %(kind)s, %(params)s) RETURNING job_id::text",
        {"cid": community_id, "kind": kind, "params": Jsonb(params)},
    )
    row = await cur.fetchone()
    assert row is not None
    return row[0]


#: Due jobs looked at per claim; another worker may take some of them first.
CLAIM_CANDIDATES = 20


async def claim(conn: AsyncConnection) -> dict[str, Any] | None:
    """Take the oldest due job for this worker (committed at once, so others skip it).

    Two steps, so that it also works with the jobs spread over a cluster by community: one read
    across every community lists the oldest due jobs (the only step that spans communities), then
    each is claimed in the community's own shard with ``FOR UPDATE SKIP LOCKED``: a job another
    worker holds or took already is passed over, never run twice.
    """
    async with conn.transaction():
        await allow_fan_out(conn)
        cur = await conn.execute(
            "SELECT community_id, job_id FROM jobs WHERE status = 'queued' AND run_after <= now()"
            " ORDER BY run_after LIMIT %(limit)s",
            {"limit": CLAIM_CANDIDATES},
        )
        candidates = await cur.fetchall()
    for community_id, job_id in candidates:
        async with conn.transaction(), conn.cursor(row_factory=dict_row) as claimed:
            await claimed.execute(
                "UPDATE jobs SET status = 'running', started_at = now(), heartbeat_at = now(),"
                " attempts = attempts + 1"
                " WHERE community_id = %(cid)s AND job_id = ("
                "   SELECT job_id FROM jobs WHERE community_id = %(cid)s AND job_id = %(jid)s"
                "   AND status = 'queued' FOR UPDATE SKIP LOCKED)"
                " RETURNING " + _COLUMNS,
                {"cid": community_id, "jid": job_id},
            )
            job = await claimed.fetchone()
        if job is not None:
            return job
    return None


async def progress(conn: AsyncConnection, community_id: int, job_id: str, fraction: float) -> None:
    await conn.execute(
        "UPDATE jobs SET progress = %(p)s, heartbeat_at = now() WHERE community_id = %(cid)s AND job_id = %(jid)s",
        {"p": fraction, "cid": community_id, "jid": job_id},
    )
    await conn.commit()


async def finish(conn: AsyncConnection, community_id: int, job_id: str, result: dict[str, Any]) -> None:
    await conn.execute(
        "UPDATE jobs SET status = 'done', progress = 1, result = %(result)s, finished_at = now()"
        " WHERE community_id = %(cid)s AND job_id = %(jid)s",
        {"result": Jsonb(result), "cid": community_id, "jid": job_id},
    )
    await conn.commit()


async def fail(conn: AsyncConnection, community_id: int, job_id: str, error: str) -> None:
    await conn.execute(
        "UPDATE jobs SET status = 'failed', error = %(error)s, finished_at = now()"
        " WHERE community_id = %(cid)s AND job_id = %(jid)s",
        {"error": error[:2000], "cid": community_id, "jid": job_id},
    )
    await conn.commit()


async def requeue_abandoned(conn: AsyncConnection) -> None:
    """Give the jobs of dead workers back to the queue, in every community (background work)."""
    await allow_fan_out(conn)
    await conn.execute(
        "UPDATE jobs SET status = CASE WHEN attempts >= %(max)s THEN 'failed' ELSE 'queued' END,"
        " error = CASE WHEN attempts >= %(max)s THEN 'the worker stopped repeatedly' ELSE error END"
        " WHERE status = 'running' AND heartbeat_at < now() - %(after)s::interval",
        {"max": MAX_ATTEMPTS, "after": ABANDONED_AFTER},
    )
    await conn.commit()


async def get(conn: AsyncConnection, community_id: int, job_id: str) -> dict[str, Any] | None:
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(
            "SELECT " + _COLUMNS + " FROM jobs WHERE community_id = %(cid)s AND job_id = %(jid)s",
            {"cid": community_id, "jid": job_id},
        )
        return await cur.fetchone()


async def queued_by_kind(conn: AsyncConnection) -> dict[str, int]:
    """Jobs waiting to run, by kind, across every community (the metrics scrape)."""
    await allow_fan_out(conn)
    cur = await conn.execute("SELECT kind, count(*) FROM jobs WHERE status = 'queued' GROUP BY kind")
    return {kind: int(count) for kind, count in await cur.fetchall()}
