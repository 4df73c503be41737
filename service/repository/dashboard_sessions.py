"""Dashboard sessions: opened at sign-in, deleted at sign-out, valid only while their key is."""

from __future__ import annotations

from psycopg import AsyncConnection
from psycopg.rows import class_row

from belonging.service.repository.communities import CommunityRow


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
    async with conn.cursor(row_factory=class_row(CommunityRow)) as cur:
        await cur.execute(
            "SELECT c.community_id, c.slug, c.name, c.settings, c.revision FROM communities c"
            " JOIN dashboard_sessions s ON s.community_id = c.community_id"
            " JOIN api_keys k ON k.community_id = s.community_id AND k.key_id = s.key_id"
            " WHERE c.slug = %(slug)s AND s.session_id = %(sid)s AND s.expires_at > now()"
            " AND (k.revoked_at IS NULL OR k.revoked_at > now())",
            {"slug": slug, "sid": session_id},
        )
        return await cur.fetchone()


async def close_session(conn: AsyncConnection, slug: str, session_id: str) -> bool:
    """End a session; False if it was not open."""
    cur = await conn.execute(
        "DELETE FROM dashboard_sessions s USING communities c"
        " WHERE s.community_id = c.community_id AND c.slug = %(slug)s AND s.session_id = %(sid)s",
        {"slug": slug, "sid": session_id},
    )
    return cur.rowcount > 0
