"""What changed in a community since a revision: the members touched, as they are now.

Rows of ``community_changes`` are written by triggers (``migrations/20261202_01_community_changes.sql``);
the suggestion index's overlay reads them to catch up without a rebuild.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from psycopg import AsyncConnection

from belonging.service.repository.members import PROFILE_COLUMNS

# Each touched member as they are now: their profile (NULL once erased), their ties and seats.
_MEMBER_NOW = (
    "SELECT t.member_id, m.member_id IS NOT NULL AS present, "
    + ", ".join(f"m.{c}" for c in PROFILE_COLUMNS)
    + """, m.created_at,
       ARRAY(SELECT member_b FROM connections c WHERE c.community_id = %(cid)s AND c.member_a = t.member_id
             UNION ALL
             SELECT member_a FROM connections c WHERE c.community_id = %(cid)s AND c.member_b = t.member_id) AS ties,
       ARRAY(SELECT group_id::text FROM group_memberships g
              WHERE g.community_id = %(cid)s AND g.member_id = t.member_id) AS groups
  FROM touched t
  LEFT JOIN members m ON m.community_id = %(cid)s AND m.member_id = t.member_id"""
)


@dataclass(frozen=True)
class Changes:
    """Members touched after a revision, up to ``revision`` (None when more than the limit were)."""

    revision: int
    members: list[dict[str, Any]] | None


async def since(conn: AsyncConnection, community_id: int, revision: int, limit: int) -> Changes:
    """The members touched after ``revision``, each as they are now, and the revision this reflects.

    One statement, so the rows and the revision come from one snapshot. When more than
    ``limit`` members were touched, ``members`` is None (the caller rebuilds instead).
    """
    cur = await conn.execute(
        """
        WITH touched AS (
            SELECT DISTINCT member_id FROM community_changes
             WHERE community_id = %(cid)s AND revision > %(since)s
             LIMIT %(limit)s + 1
        ), now AS (
        """ + _MEMBER_NOW + """
        )
        SELECT (SELECT revision FROM community_revisions WHERE community_id = %(cid)s),
               (SELECT count(*) FROM touched),
               coalesce((SELECT jsonb_agg(to_jsonb(now) || jsonb_build_object(
                                 'created_at', extract(epoch FROM now.created_at)))
                           FROM now), '[]'::jsonb)
        """,
        {"cid": community_id, "since": revision, "limit": limit},
    )
    row = await cur.fetchone()
    assert row is not None
    current, touched, members = row
    return Changes(int(current or 0), None if touched > limit else list(members))


async def revision(conn: AsyncConnection, community_id: int) -> int:
    cur = await conn.execute("SELECT revision FROM community_revisions WHERE community_id = %(cid)s",
                             {"cid": community_id})
    row = await cur.fetchone()
    return 0 if row is None else int(row[0])


async def member_now(conn: AsyncConnection, community_id: int, member_id: str) -> tuple[int, dict[str, Any] | None]:
    """The community's revision and one member as they are at it (profile, ties, seats, in the
    shape :func:`since` gives; None if absent), from one snapshot."""
    cur = await conn.execute(
        "WITH touched AS (SELECT %(mid)s::text COLLATE \"C\" AS member_id), now AS (" + _MEMBER_NOW + ")"
        " SELECT (SELECT revision FROM community_revisions WHERE community_id = %(cid)s),"
        " (SELECT to_jsonb(now) || jsonb_build_object('created_at', extract(epoch FROM now.created_at))"
        "    FROM now WHERE present)",
        {"cid": community_id, "mid": member_id},
    )
    row = await cur.fetchone()
    assert row is not None
    return int(row[0] or 0), row[1]


async def forget_before(conn: AsyncConnection, community_id: int, days: int) -> None:
    """Drop change rows older than ``days``: no index older than that is served (see shared_indexes)."""
    await conn.execute(
        "DELETE FROM community_changes WHERE community_id = %(cid)s"
        " AND changed_at < now() - make_interval(days => %(days)s)",
        {"cid": community_id, "days": days},
    )
