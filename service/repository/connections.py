"""Connections (undirected ties, stored once with member_a < member_b) and blocks."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from psycopg import AsyncConnection, errors
from psycopg.rows import dict_row

from belonging.service.errors import not_found
from belonging.service.repository import locks
from belonging.service.repository.copy import copy_rows


def ordered(a: str, b: str) -> tuple[str, str]:
    """The stored orientation of a tie (ids compare by code point, as the "C" collation does)."""
    return (a, b) if a < b else (b, a)


async def upsert(
    conn: AsyncConnection, community_id: int, a: str, b: str, weight: float, kind: str | None
) -> bool:
    """Create or replace a tie. Returns True when it is new. Waits for an import to finish (see ``locks``)."""
    member_a, member_b = ordered(a, b)
    async with conn.pipeline():
        await locks.write_beside_imports(conn, community_id)
        cur = await conn.execute(
            "INSERT INTO connections (community_id, member_a, member_b, weight, kind)"
            " VALUES (%(cid)s, %(a)s, %(b)s, %(weight)s, %(kind)s)"
            " ON CONFLICT (community_id, member_a, member_b) DO UPDATE"
            " SET weight = EXCLUDED.weight, kind = EXCLUDED.kind, updated_at = EXCLUDED.updated_at"
            " RETURNING (xmax = 0)",
            {"cid": community_id, "a": member_a, "b": member_b, "weight": weight, "kind": kind},
        )
        row = await cur.fetchone()
    assert row is not None
    return bool(row[0])


async def strengthen(
    conn: AsyncConnection, community_id: int, a: str, b: str, by: float, kind: str | None
) -> None:
    """Create the tie or add ``by`` to its weight (an accepted suggestion, an interaction).

    Waits for an import into the community to finish (see ``locks``).
    """
    member_a, member_b = ordered(a, b)
    async with conn.pipeline():
        await locks.write_beside_imports(conn, community_id)
        await conn.execute(
            "INSERT INTO connections (community_id, member_a, member_b, weight, kind)"
            " VALUES (%(cid)s, %(a)s, %(b)s, %(by)s, %(kind)s)"
            " ON CONFLICT (community_id, member_a, member_b) DO UPDATE"
            " SET weight = connections.weight + EXCLUDED.weight, updated_at = EXCLUDED.updated_at",
            {"cid": community_id, "a": member_a, "b": member_b, "by": by, "kind": kind},
        )


async def delete(conn: AsyncConnection, community_id: int, a: str, b: str) -> bool:
    member_a, member_b = ordered(a, b)
    cur = await conn.execute(
        "DELETE FROM connections WHERE community_id = %(cid)s"
        " AND member_a = %(a)s AND member_b = %(b)s",
        {"cid": community_id, "a": member_a, "b": member_b},
    )
    return cur.rowcount > 0


async def of_member(conn: AsyncConnection, community_id: int, member_id: str) -> list[dict[str, Any]]:
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(
            "SELECT member_b AS member_id, weight, kind FROM connections"
            " WHERE community_id = %(cid)s AND member_a = %(mid)s"
            " UNION ALL"
            " SELECT member_a AS member_id, weight, kind FROM connections"
            " WHERE community_id = %(cid)s AND member_b = %(mid)s"
            " ORDER BY member_id",
            {"cid": community_id, "mid": member_id},
        )
        return await cur.fetchall()


async def count(conn: AsyncConnection, community_id: int) -> int:
    cur = await conn.execute(
        "SELECT count(*) FROM connections WHERE community_id = %(cid)s", {"cid": community_id}
    )
    row = await cur.fetchone()
    return int(row[0]) if row else 0


async def all_ties(conn: AsyncConnection, community_id: int) -> list[tuple[str, str, float]]:
    cur = await conn.execute(
        "SELECT member_a, member_b, weight FROM connections WHERE community_id = %(cid)s",
        {"cid": community_id},
    )
    return [(a, b, float(w)) for a, b, w in await cur.fetchall()]


async def degrees(conn: AsyncConnection, community_id: int, member_ids: Sequence[str]) -> dict[str, int]:
    """Ties of each of ``member_ids`` (members without ties are left out)."""
    cur = await conn.execute(
        "SELECT member_id, count(*) FROM ("
        " SELECT member_a AS member_id FROM connections WHERE community_id = %(cid)s AND member_a = ANY(%(ids)s)"
        " UNION ALL"
        " SELECT member_b FROM connections WHERE community_id = %(cid)s AND member_b = ANY(%(ids)s)"
        ") AS ends GROUP BY member_id",
        {"cid": community_id, "ids": list(member_ids)},
    )
    return {member_id: int(count) for member_id, count in await cur.fetchall()}


_COPY_COLUMNS = "(community_id, member_a, member_b, weight, kind)"


async def bulk_load(
    conn: AsyncConnection,
    community_id: int,
    ties: Iterable[tuple[str, str, float, str | None]],
) -> tuple[int, int]:
    """Create or replace many ties (already ordered and deduplicated) with COPY.

    A community with no ties yet takes the rows straight into the table; otherwise they pass
    through a temporary table and one upsert. Returns (created, updated).
    """
    ties = list(ties)
    if await count(conn, community_id) == 0:
        await copy_rows(conn, "COPY connections " + _COPY_COLUMNS + " FROM STDIN",
                        ((community_id, a, b, weight, kind) for a, b, weight, kind in ties))
        return len(ties), 0
    await conn.execute(
        "CREATE TEMP TABLE connection_import"
        " (community_id bigint, member_a text COLLATE \"C\", member_b text COLLATE \"C\","
        " weight real, kind text) ON COMMIT DROP"
    )
    await copy_rows(conn, "COPY connection_import " + _COPY_COLUMNS + " FROM STDIN",
                    ((community_id, a, b, weight, kind) for a, b, weight, kind in ties))
    async with conn.cursor() as cur:
        await cur.execute(
            "INSERT INTO connections (community_id, member_a, member_b, weight, kind)"
            " SELECT community_id, member_a, member_b, weight, kind FROM connection_import"
            " ON CONFLICT (community_id, member_a, member_b) DO UPDATE"
            " SET weight = EXCLUDED.weight, kind = EXCLUDED.kind, updated_at = EXCLUDED.updated_at"
            " RETURNING (xmax = 0)"
        )
        created = sum(1 for (new,) in await cur.fetchall() if new)
    return created, len(ties) - created


async def block(conn: AsyncConnection, community_id: int, member_id: str, blocked_id: str) -> bool:
    """Record the block; True when it is new. 404 when either member does not exist (or was just erased)."""
    try:
        cur = await conn.execute(
            "INSERT INTO blocks (community_id, member_id, blocked_id)"
            " VALUES (%(cid)s, %(mid)s, %(bid)s) ON CONFLICT DO NOTHING",
            {"cid": community_id, "mid": member_id, "bid": blocked_id},
        )
    except errors.ForeignKeyViolation:
        raise not_found(f"member {member_id!r} or {blocked_id!r}") from None
    return cur.rowcount > 0


async def unblock(conn: AsyncConnection, community_id: int, member_id: str, blocked_id: str) -> bool:
    cur = await conn.execute(
        "DELETE FROM blocks WHERE community_id = %(cid)s AND member_id = %(mid)s"
        " AND blocked_id = %(bid)s",
        {"cid": community_id, "mid": member_id, "bid": blocked_id},
    )
    return cur.rowcount > 0


async def all_blocks(conn: AsyncConnection, community_id: int) -> list[tuple[str, str]]:
    cur = await conn.execute(
        "SELECT member_id, blocked_id FROM blocks WHERE community_id = %(cid)s",
        {"cid": community_id},
    )
    return [(a, b) for a, b in await cur.fetchall()]


async def blocks_naming(conn: AsyncConnection, community_id: int, member_ids: Sequence[str]) -> list[tuple[str, str]]:
    """Every block (blocker, blocked) with one of ``member_ids`` on either side."""
    cur = await conn.execute(
        "SELECT member_id, blocked_id FROM blocks WHERE community_id = %(cid)s AND member_id = ANY(%(ids)s)"
        " UNION SELECT member_id, blocked_id FROM blocks WHERE community_id = %(cid)s AND blocked_id = ANY(%(ids)s)",
        {"cid": community_id, "ids": list(member_ids)},
    )
    return [(a, b) for a, b in await cur.fetchall()]


async def blocked_with(conn: AsyncConnection, community_id: int, member_id: str, others: Sequence[str]) -> list[str]:
    """Which of ``others`` have a block with ``member_id``, in either direction."""
    cur = await conn.execute(
        "SELECT blocked_id FROM blocks WHERE community_id = %(cid)s AND member_id = %(mid)s"
        " AND blocked_id = ANY(%(others)s)"
        " UNION SELECT member_id FROM blocks WHERE community_id = %(cid)s AND blocked_id = %(mid)s"
        " AND member_id = ANY(%(others)s)",
        {"cid": community_id, "mid": member_id, "others": list(others)},
    )
    return sorted(r[0] for r in await cur.fetchall())
