"""Support groups and their members."""

from __future__ import annotations

from typing import Any

from psycopg import AsyncConnection
from psycopg.rows import dict_row

GROUP_COLUMNS = "group_id::text AS group_id, name, topics, capacity, format, language, status, version"


async def create(conn: AsyncConnection, community_id: int, group: dict[str, Any]) -> dict[str, Any]:
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(
            "INSERT INTO support_groups (community_id, name, topics, capacity, format, language)"
            " VALUES (%(cid)s, %(name)s, %(topics)s, %(capacity)s, %(format)s, %(language)s)"
            " RETURNING " + GROUP_COLUMNS,
            {"cid": community_id, "name": group["name"], "topics": group["topics"],
             "capacity": group["capacity"], "format": group["format"], "language": group.get("language")},
        )
        row = await cur.fetchone()
    assert row is not None
    return row


async def all_groups(conn: AsyncConnection, community_id: int) -> list[dict[str, Any]]:
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(
            "SELECT " + GROUP_COLUMNS + " FROM support_groups WHERE community_id = %(cid)s ORDER BY name",
            {"cid": community_id},
        )
        return await cur.fetchall()
