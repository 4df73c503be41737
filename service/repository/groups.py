"""Support groups, their members, and placement proposals."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from psycopg import AsyncConnection
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

GROUP_COLUMNS = (
    "g.group_id::text AS group_id, g.name, g.topics, g.capacity, g.format, g.language, g.status, g.version,"
    " coalesce((SELECT array_agg(gm.member_id ORDER BY gm.member_id) FROM group_memberships gm"
    "  WHERE gm.community_id = g.community_id AND gm.group_id = g.group_id), '{}') AS member_ids"
)
EDITABLE = ("name", "topics", "capacity", "format", "language", "status")


async def create(conn: AsyncConnection, community_id: int, group: dict[str, Any]) -> dict[str, Any]:
    cur = await conn.execute(
        "INSERT INTO support_groups (community_id, name, topics, capacity, format, language, status)"
        " VALUES (%(cid)s, %(name)s, %(topics)s, %(capacity)s, %(format)s, %(language)s, %(status)s)"
        " RETURNING group_id::text",
        {"cid": community_id, "name": group["name"], "topics": group["topics"], "capacity": group["capacity"],
         "format": group["format"], "language": group.get("language"), "status": group.get("status", "open")},
    )
    row = await cur.fetchone()
    assert row is not None
    found = await get(conn, community_id, row[0])
    assert found is not None
    return found


async def get(conn: AsyncConnection, community_id: int, group_id: str, *, lock: bool = False) -> dict[str, Any] | None:
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(
            "SELECT " + GROUP_COLUMNS + " FROM support_groups g"
            " WHERE g.community_id = %(cid)s AND g.group_id = %(gid)s" + (" FOR UPDATE" if lock else ""),
            {"cid": community_id, "gid": group_id},
        )
        return await cur.fetchone()


async def all_groups(conn: AsyncConnection, community_id: int) -> list[dict[str, Any]]:
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(
            "SELECT " + GROUP_COLUMNS + " FROM support_groups g WHERE g.community_id = %(cid)s"
            " ORDER BY g.name, g.group_id",
            {"cid": community_id},
        )
        return await cur.fetchall()


async def update(conn: AsyncConnection, community_id: int, group_id: str, changes: dict[str, Any]) -> None:
    assignments = ", ".join(f"{column} = %({column})s" for column in changes if column in EDITABLE)
    await conn.execute(
        "UPDATE support_groups SET " + assignments + ", version = version + 1, updated_at = now()"
        " WHERE community_id = %(cid)s AND group_id = %(gid)s",
        {**changes, "cid": community_id, "gid": group_id},
    )


async def delete(conn: AsyncConnection, community_id: int, group_id: str) -> bool:
    cur = await conn.execute(
        "DELETE FROM support_groups WHERE community_id = %(cid)s AND group_id = %(gid)s",
        {"cid": community_id, "gid": group_id},
    )
    return cur.rowcount > 0


async def add_member(
    conn: AsyncConnection, community_id: int, group_id: str, member_id: str, placement_id: str | None = None
) -> bool:
    cur = await conn.execute(
        "INSERT INTO group_memberships (community_id, group_id, member_id, placement_id)"
        " VALUES (%(cid)s, %(gid)s, %(mid)s, %(pid)s) ON CONFLICT DO NOTHING",
        {"cid": community_id, "gid": group_id, "mid": member_id, "pid": placement_id},
    )
    if cur.rowcount:
        await _bump(conn, community_id, [group_id])
    return cur.rowcount > 0


async def remove_member(conn: AsyncConnection, community_id: int, group_id: str, member_id: str) -> bool:
    cur = await conn.execute(
        "DELETE FROM group_memberships WHERE community_id = %(cid)s AND group_id = %(gid)s AND member_id = %(mid)s",
        {"cid": community_id, "gid": group_id, "mid": member_id},
    )
    if cur.rowcount:
        await _bump(conn, community_id, [group_id])
    return cur.rowcount > 0


async def _bump(conn: AsyncConnection, community_id: int, group_ids: Sequence[str]) -> None:
    await conn.execute(
        "UPDATE support_groups SET version = version + 1, updated_at = now()"
        " WHERE community_id = %(cid)s AND group_id = ANY(%(gids)s::uuid[])",
        {"cid": community_id, "gids": list(group_ids)},
    )


# --- placements ---------------------------------------------------------------------------------

async def store_placement(
    conn: AsyncConnection, community_id: int, request: dict[str, Any], result: dict[str, Any],
    group_versions: dict[str, int],
) -> str:
    cur = await conn.execute(
        "INSERT INTO placements (community_id, request, result, group_versions)"
        " VALUES (%(cid)s, %(request)s, %(result)s, %(versions)s) RETURNING placement_id::text",
        {"cid": community_id, "request": Jsonb(request), "result": Jsonb(result), "versions": Jsonb(group_versions)},
    )
    row = await cur.fetchone()
    assert row is not None
    return row[0]


async def get_placement(
    conn: AsyncConnection, community_id: int, placement_id: str, *, lock: bool = False
) -> dict[str, Any] | None:
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(
            "SELECT placement_id::text AS placement_id, request, result, group_versions, created_at, applied_at"
            " FROM placements WHERE community_id = %(cid)s AND placement_id = %(pid)s"
            + (" FOR UPDATE" if lock else ""),
            {"cid": community_id, "pid": placement_id},
        )
        return await cur.fetchone()


async def lock_versions(conn: AsyncConnection, community_id: int, group_ids: Sequence[str]) -> dict[str, int]:
    """Current versions of the groups, locked until the transaction ends."""
    cur = await conn.execute(
        "SELECT group_id::text, version FROM support_groups WHERE community_id = %(cid)s"
        " AND group_id = ANY(%(gids)s::uuid[]) ORDER BY group_id FOR UPDATE",
        {"cid": community_id, "gids": list(group_ids)},
    )
    return {gid: int(version) for gid, version in await cur.fetchall()}


async def apply_assignments(
    conn: AsyncConnection, community_id: int, placement_id: str, assignments: Sequence[tuple[str, str]]
) -> None:
    await conn.execute(
        "INSERT INTO group_memberships (community_id, group_id, member_id, placement_id)"
        " SELECT %(cid)s, a.group_id::uuid, a.member_id, %(pid)s"
        " FROM unnest(%(gids)s::text[], %(mids)s::text[]) AS a(group_id, member_id)",
        {"cid": community_id, "pid": placement_id, "gids": [g for g, _ in assignments],
         "mids": [m for _, m in assignments]},
    )
    await _bump(conn, community_id, sorted({g for g, _ in assignments}))
    await conn.execute(
        "UPDATE placements SET applied_at = now() WHERE community_id = %(cid)s AND placement_id = %(pid)s",
        {"cid": community_id, "pid": placement_id},
    )
