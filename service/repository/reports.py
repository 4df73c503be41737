"""Silo report snapshots."""

from __future__ import annotations

from typing import Any

from psycopg import AsyncConnection
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from belonging.service.repository.fan_out import allow_fan_out


async def store(
    conn: AsyncConnection, community_id: int, report: dict[str, Any], attributes: list[str], kind: str
) -> dict[str, Any]:
    """Store a snapshot; returns it as :func:`history` does."""
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(
            "INSERT INTO report_snapshots (community_id, kind, attributes, report)"
            " VALUES (%(cid)s, %(kind)s, %(attributes)s, %(report)s)"
            " RETURNING snapshot_id, kind, attributes, report, created_at",
            {"cid": community_id, "kind": kind, "attributes": attributes, "report": Jsonb(report)},
        )
        row = await cur.fetchone()
    assert row is not None
    return row


async def history(conn: AsyncConnection, community_id: int, limit: int) -> list[dict[str, Any]]:
    """The newest ``limit`` snapshots, oldest first."""
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(
            "SELECT * FROM (SELECT snapshot_id, kind, attributes, report, created_at FROM report_snapshots"
            " WHERE community_id = %(cid)s ORDER BY created_at DESC, snapshot_id DESC LIMIT %(limit)s) newest"
            " ORDER BY created_at, snapshot_id",
            {"cid": community_id, "limit": limit},
        )
        return await cur.fetchall()


async def communities_due_daily(conn: AsyncConnection) -> list[int]:
    """Communities with members, no daily snapshot in the last day and no daily job waiting.

    Background work that reads every community (see ``fan_out``). It starts from
    ``community_revisions``, one row per community laid out like the tables it checks, so that on a
    cluster each shard answers for its own communities.
    """
    await allow_fan_out(conn)
    cur = await conn.execute(
        """
        SELECT r.community_id FROM community_revisions r
         WHERE EXISTS (SELECT 1 FROM members m WHERE m.community_id = r.community_id)
           AND NOT EXISTS (SELECT 1 FROM report_snapshots s WHERE s.community_id = r.community_id
                            AND s.kind = 'daily' AND s.created_at > now() - interval '23 hours')
           AND NOT EXISTS (SELECT 1 FROM jobs j WHERE j.community_id = r.community_id
                            AND j.kind = 'daily_snapshot' AND j.status IN ('queued', 'running'))
         ORDER BY r.community_id
        """
    )
    return [r[0] for r in await cur.fetchall()]


async def revision_and_settings(conn: AsyncConnection, community_id: int) -> tuple[int, dict[str, Any]]:
    cur = await conn.execute(
        "SELECT r.revision, c.settings FROM communities c"
        " JOIN community_revisions r ON r.community_id = c.community_id"
        " WHERE c.community_id = %(cid)s AND r.community_id = %(cid)s",
        {"cid": community_id},
    )
    row = await cur.fetchone()
    assert row is not None
    return int(row[0]), row[1]
