"""Dashboard sessions: opened at sign-in, deleted at sign-out, valid only while their key is."""

from __future__ import annotations

from psycopg import AsyncConnection

from belonging.service.repository.communities import CommunityRow, by_slug


async def open_session(
    conn: AsyncConnection, community_id: int, session_id: str, key_id: str, expires_at: int
) -> None:
    """Record a new session (``expires_at`` in Unix seconds) and forget the community's expired ones."""
    await conn.execute(
        "DELETE FROM dashboard_sessions WHERE community_id = %(cid)s AND expires_at <= now()",
        {"cid": community_id},
    )
    await conn.execute(
        "INSERT INTO dashboard_sessions (community_id, session_id, key_id, expires_at)"
        " VALUES (%(cid)s, %(sid)s, %(key_id)s, to_timestamp(%(expires_at)s))",
        {"cid": community_id, "sid": session_id, "key_id": key_id, "expires_at": expires_at},
    )


async def community_for_session(conn: AsyncConnection, slug: str, session_id: str) -> CommunityRow | None:
    """The community ``slug`` if ``session_id`` is one of its open, unexpired sessions whose key is active."""
    # The community first, so that the session is looked up on the community's own shard.
    community = await by_slug(conn, slug)
    if community is None:
        return None
    cur = await conn.execute(
        "SELECT 1 FROM dashboard_sessions s"
        " JOIN api_keys k ON k.community_id = s.community_id AND k.key_id = s.key_id"
        " WHERE s.community_id = %(cid)s AND s.session_id = %(sid)s AND s.expires_at > now()"
        " AND (k.revoked_at IS NULL OR k.revoked_at > now())",
        {"cid": community.community_id, "sid": session_id},
    )
    return community if await cur.fetchone() is not None else None


async def close_session(conn: AsyncConnection, slug: str, session_id: str) -> bool:
    """End a session; False if it was not open."""
    community = await by_slug(conn, slug)
    if community is None:
        return False
    cur = await conn.execute(
        "DELETE FROM dashboard_sessions WHERE community_id = %(cid)s AND session_id = %(sid)s",
        {"cid": community.community_id, "sid": session_id},
    )
    return cur.rowcount > 0
