"""Support groups, their seats, and placement proposals.

Seat writes and block writes in one community are serialised through ``locks.seat_writes``;
group rows are locked with :func:`lock` and read again with a separate statement afterwards, so
the read sees every seat committed before the lock was granted.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from psycopg import AsyncConnection
from psycopg.rows import class_row
from psycopg.types.json import Jsonb


@dataclass(frozen=True)
class SupportGroupRow:
    group_id: str
    name: str
    topics: list[str]
    capacity: int
    format: str
    language: str | None
    status: str
    # Bumped on every change of the group or its seats; a placement records the versions it saw.
    version: int
    member_ids: list[str]

    @property
    def seats_free(self) -> int:
        return max(0, self.capacity - len(self.member_ids))


@dataclass(frozen=True)
class PlacementRow:
    placement_id: str
    request: dict[str, Any]
    result: dict[str, Any]
    group_versions: dict[str, int]
    created_at: datetime
    applied_at: datetime | None


@dataclass(frozen=True)
class BlockedSeat:
    """Two members who block each other and would share ``group_id`` (ids in code point order)."""

    group_id: str
    member_id: str
    other_id: str


_GROUP_COLUMNS = (
    "g.group_id::text AS group_id, g.name, g.topics, g.capacity, g.format, g.language, g.status, g.version,"
    " coalesce((SELECT array_agg(gm.member_id ORDER BY gm.member_id) FROM group_memberships gm"
    "  WHERE gm.community_id = %(cid)s AND gm.group_id = g.group_id), '{}') AS member_ids"
)
EDITABLE = ("name", "topics", "capacity", "format", "language", "status")
# The first key of the two-key advisory locks on a community's seat writes; the second is the
# community's hash. Any constant works as long as nothing else uses it.


async def create(conn: AsyncConnection, community_id: int, group: dict[str, Any]) -> SupportGroupRow:
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


async def lock(conn: AsyncConnection, community_id: int, group_ids: Sequence[str]) -> set[str]:
    """Lock the groups' rows (in id order) until the transaction ends; returns the ids that exist.

    Read the groups afterwards with :func:`get` or :func:`by_ids`: a subquery inside the locking
    statement would still see the seats as they were before the wait.
    """
    cur = await conn.execute(
        "SELECT group_id::text FROM support_groups WHERE community_id = %(cid)s"
        " AND group_id = ANY(%(gids)s::uuid[]) ORDER BY group_id FOR UPDATE",
        {"cid": community_id, "gids": list(group_ids)},
    )
    return {gid for (gid,) in await cur.fetchall()}


async def get(conn: AsyncConnection, community_id: int, group_id: str) -> SupportGroupRow | None:
    found = await by_ids(conn, community_id, [group_id])
    return found[0] if found else None


async def by_ids(conn: AsyncConnection, community_id: int, group_ids: Sequence[str]) -> list[SupportGroupRow]:
    async with conn.cursor(row_factory=class_row(SupportGroupRow)) as cur:
        await cur.execute(
            "SELECT " + _GROUP_COLUMNS + " FROM support_groups g"
            " WHERE g.community_id = %(cid)s AND g.group_id = ANY(%(gids)s::uuid[]) ORDER BY g.group_id",
            {"cid": community_id, "gids": list(group_ids)},
        )
        return await cur.fetchall()


async def all_groups(conn: AsyncConnection, community_id: int) -> list[SupportGroupRow]:
    async with conn.cursor(row_factory=class_row(SupportGroupRow)) as cur:
        await cur.execute(
            "SELECT " + _GROUP_COLUMNS + " FROM support_groups g WHERE g.community_id = %(cid)s"
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


async def shared_groups(conn: AsyncConnection, community_id: int, member_id: str, other_id: str) -> list[str]:
    """The groups both members sit in."""
    cur = await conn.execute(
        "SELECT mine.group_id::text FROM group_memberships mine"
        " JOIN group_memberships theirs ON theirs.community_id = %(cid)s"
        "  AND theirs.group_id = mine.group_id AND theirs.member_id = %(other)s"
        " WHERE mine.community_id = %(cid)s AND mine.member_id = %(mid)s ORDER BY 1",
        {"cid": community_id, "mid": member_id, "other": other_id},
    )
    return [gid for (gid,) in await cur.fetchall()]


async def blocked_seats(
    conn: AsyncConnection, community_id: int, seats: Sequence[tuple[str, str]]
) -> list[BlockedSeat]:
    """Pairs who block each other and would share a group if ``seats`` ((group_id, member_id)) were taken.

    Only pairs with at least one new seat count; current members are read as committed now.
    """
    async with conn.cursor(row_factory=class_row(BlockedSeat)) as cur:
        await cur.execute(
            "WITH new_seats AS ("
            "  SELECT s.group_id::uuid AS group_id, s.member_id"
            "  FROM unnest(%(gids)s::text[], %(mids)s::text[]) AS s(group_id, member_id)),"
            " seats AS ("
            "  SELECT group_id, member_id, true AS new FROM new_seats"
            "  UNION ALL"
            "  SELECT gm.group_id, gm.member_id, false FROM group_memberships gm"
            "  WHERE gm.community_id = %(cid)s AND gm.group_id IN (SELECT group_id FROM new_seats))"
            " SELECT DISTINCT mine.group_id::text AS group_id,"
            "  least(b.member_id, b.blocked_id) AS member_id, greatest(b.member_id, b.blocked_id) AS other_id"
            " FROM blocks b"
            " JOIN seats mine ON mine.member_id = b.member_id"
            " JOIN seats theirs ON theirs.member_id = b.blocked_id AND theirs.group_id = mine.group_id"
            " WHERE b.community_id = %(cid)s AND (mine.new OR theirs.new)"
            " ORDER BY 1, 2, 3",
            {"cid": community_id, "gids": [g for g, _ in seats], "mids": [m for _, m in seats]},
        )
        return await cur.fetchall()


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
) -> PlacementRow | None:
    async with conn.cursor(row_factory=class_row(PlacementRow)) as cur:
        await cur.execute(
            "SELECT placement_id::text AS placement_id, request, result, group_versions, created_at, applied_at"
            " FROM placements WHERE community_id = %(cid)s AND placement_id = %(pid)s"
            + (" FOR UPDATE" if lock else ""),
            {"cid": community_id, "pid": placement_id},
        )
        return await cur.fetchone()


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
