"""One consistent read of everything an in-memory community index is built from."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from psycopg import AsyncConnection, IsolationLevel

from belonging.service.repository import connections, members, suggestions


@dataclass(frozen=True)
class CommunitySnapshot:
    revision: int
    profiles: list[dict[str, Any]]
    ties: list[tuple[str, str, float]]
    blocks: list[tuple[str, str]]
    declined: list[tuple[str, str]]
    group_members: dict[str, list[str]]


async def load(conn: AsyncConnection, community_id: int) -> CommunitySnapshot:
    """Read the community in one REPEATABLE READ transaction (the connection must be idle)."""
    await conn.set_isolation_level(IsolationLevel.REPEATABLE_READ)
    await conn.set_read_only(True)
    async with conn.transaction():
        cur = await conn.execute(
            "SELECT revision FROM community_revisions WHERE community_id = %(cid)s", {"cid": community_id}
        )
        row = await cur.fetchone()
        revision = int(row[0]) if row else 0
        profiles = await members.all_profiles(conn, community_id)
        ties = await connections.all_ties(conn, community_id)
        blocks = await connections.all_blocks(conn, community_id)
        declined = await suggestions.declined_pairs(conn, community_id)
        cur = await conn.execute(
            "SELECT group_id::text, member_id FROM group_memberships WHERE community_id = %(cid)s",
            {"cid": community_id},
        )
        group_members: dict[str, list[str]] = {}
        for group_id, member_id in await cur.fetchall():
            group_members.setdefault(group_id, []).append(member_id)
    await conn.set_read_only(False)
    await conn.set_isolation_level(None)
    return CommunitySnapshot(revision, profiles, ties, blocks, declined, group_members)
