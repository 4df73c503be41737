"""The rows behind the impact report: suggestions, rounds and first ties within a window.

A window runs from the start of ``since`` to the end of ``until`` (whole days, UTC). Every
function returns one row per event, with the members it concerns, so that the report can count
them for the whole community and for each attribute group alike.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from psycopg import AsyncConnection
from psycopg.rows import dict_row


def _bounds(community_id: int, since: date, until: date) -> dict[str, Any]:
    """The window as instants: from the start of ``since`` to the end of ``until`` (UTC)."""
    ends = (datetime.combine(until, time(), UTC) + timedelta(days=1) if until < date.max
            else datetime.max.replace(tzinfo=UTC))
    return {"cid": community_id, "starts": datetime.combine(since, time(), UTC), "ends": ends}


async def suggestions(conn: AsyncConnection, community_id: int, since: date, until: date) -> list[dict[str, Any]]:
    """Suggestions shown in the window or answered in it: ``member_id`` (who was shown it),
    ``shown`` (created in the window) and ``outcome`` (set only when answered in the window)."""
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(
            """SELECT s.member_id,
                   s.created_at >= %(starts)s AND s.created_at < %(ends)s AS shown,
                   CASE WHEN s.outcome_at >= %(starts)s AND s.outcome_at < %(ends)s THEN s.outcome END AS outcome
              FROM suggestions s
             WHERE s.community_id = %(cid)s
               AND ((s.created_at >= %(starts)s AND s.created_at < %(ends)s)
                    OR (s.outcome_at >= %(starts)s AND s.outcome_at < %(ends)s))""",
            _bounds(community_id, since, until),
        )
        return await cur.fetchall()


async def round_pairs(conn: AsyncConnection, community_id: int, since: date, until: date) -> list[dict[str, Any]]:
    """Pairs of the rounds created in the window: ``round_id``, ``outcome`` (whenever answered,
    null while unanswered) and ``member_ids``. A round without pairs gives one row with a null
    ``outcome`` and no ``member_ids``, so that it still counts as held."""
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(
            """SELECT r.round_id, p.pair_id, p.outcome,
                   coalesce((SELECT array_agg(pm.member_id ORDER BY pm.member_id) FROM round_pair_members pm
                              WHERE pm.community_id = %(cid)s AND pm.pair_id = p.pair_id),
                            '{}') AS member_ids
              FROM rounds r
              LEFT JOIN round_pairs p ON p.community_id = %(cid)s AND p.round_id = r.round_id
             WHERE r.community_id = %(cid)s AND r.created_at >= %(starts)s AND r.created_at < %(ends)s""",
            _bounds(community_id, since, until),
        )
        return await cur.fetchall()


#: Every member's earliest tie they still have (``first_at``): one pass over the community's ties,
#: grouped by hash. The kind of that tie is looked up only for the members who need it.
_FIRST_TIES = """tie_ends AS (
    SELECT member_a AS member_id, created_at FROM connections WHERE community_id = %(cid)s
    UNION ALL
    SELECT member_b, created_at FROM connections WHERE community_id = %(cid)s),
first_ties AS (SELECT member_id, min(created_at) AS first_at FROM tie_ends GROUP BY member_id)"""
#: The kind of ``f.member_id``'s first tie (``first_kind``; with two made at once, the first kind in order).
_FIRST_KIND = """LEFT JOIN LATERAL (
    SELECT kind AS first_kind FROM connections c
     WHERE f.first_at >= %(starts)s AND f.first_at < %(ends)s  -- looked up only when in the window
       AND c.community_id = %(cid)s AND (c.member_a = f.member_id OR c.member_b = f.member_id)
       AND c.created_at = f.first_at
     ORDER BY kind LIMIT 1) k ON true"""


async def members_and_first_ties(
    conn: AsyncConnection, community_id: int, since: date, until: date
) -> list[dict[str, Any]]:
    """Members who joined in the window or whose first tie was made in it: ``member_id``,
    ``joined`` (created in the window), ``created_at``, and ``first_tie_at`` (the earliest tie the
    member still has, null when they have none), ``first_tie_in_window`` and, when it is,
    ``first_tie_kind``."""
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(
            f"""WITH {_FIRST_TIES}
            SELECT m.member_id, m.created_at,
                   m.created_at >= %(starts)s AND m.created_at < %(ends)s AS joined,
                   f.first_at AS first_tie_at, k.first_kind AS first_tie_kind,
                   coalesce(f.first_at >= %(starts)s AND f.first_at < %(ends)s, false) AS first_tie_in_window
              FROM members m
              LEFT JOIN first_ties f ON f.member_id = m.member_id
              {_FIRST_KIND}
             WHERE m.community_id = %(cid)s
               AND ((m.created_at >= %(starts)s AND m.created_at < %(ends)s)
                    OR (f.first_at >= %(starts)s AND f.first_at < %(ends)s))""",
            _bounds(community_id, since, until),
        )
        return await cur.fetchall()


async def attribute_values(conn: AsyncConnection, community_id: int, names: list[str]) -> dict[str, dict[str, str]]:
    """For each attribute in ``names``: every member who has it, and their value."""
    if not names:
        return {}
    cur = await conn.execute(
        "SELECT m.member_id, a.name, m.attributes ->> a.name FROM members m"
        " CROSS JOIN unnest(%(names)s::text[]) AS a(name)"
        " WHERE m.community_id = %(cid)s AND m.attributes ? a.name",
        {"cid": community_id, "names": names},
    )
    values: dict[str, dict[str, str]] = {name: {} for name in names}
    for member_id, name, value in await cur.fetchall():
        values[name][member_id] = value
    return values


async def attribute_names(conn: AsyncConnection, community_id: int) -> list[str]:
    """The attributes members of the community have."""
    cur = await conn.execute(
        "SELECT DISTINCT jsonb_object_keys(attributes) AS name FROM members WHERE community_id = %(cid)s ORDER BY 1",
        {"cid": community_id},
    )
    return [r[0] for r in await cur.fetchall()]



async def weekly_counts(conn: AsyncConnection, community_id: int, since: date, until: date) -> list[dict[str, Any]]:
    """Events per week of the window, one row per (``week``, ``what``) with its ``count``.

    Weeks start at the start of ``since`` (UTC). ``what`` is ``shown``, ``accepted`` or
    ``declined`` for suggestions (shown when created, answered when answered), ``round`` for a
    round held, ``pair``, ``met``, ``not_met`` or ``skipped`` for the pairs of a round held
    that week, ``joined`` for a member created, and ``first_tie`` for a member whose earliest
    tie they still have was made that week: the events the impact report counts.
    """
    params = _bounds(community_id, since, until)
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(
            f"""WITH {_FIRST_TIES},
            events AS (
                SELECT created_at AS at, 'shown' AS what FROM suggestions
                 WHERE community_id = %(cid)s AND created_at >= %(starts)s AND created_at < %(ends)s
                UNION ALL
                SELECT outcome_at, outcome FROM suggestions
                 WHERE community_id = %(cid)s AND outcome_at >= %(starts)s AND outcome_at < %(ends)s
                UNION ALL
                SELECT created_at, 'round' FROM rounds
                 WHERE community_id = %(cid)s AND created_at >= %(starts)s AND created_at < %(ends)s
                UNION ALL
                SELECT r.created_at, o.what FROM rounds r
                  JOIN round_pairs p ON p.community_id = %(cid)s AND p.round_id = r.round_id
                 CROSS JOIN LATERAL (VALUES ('pair'), (p.outcome)) AS o(what)
                 WHERE r.community_id = %(cid)s AND r.created_at >= %(starts)s AND r.created_at < %(ends)s
                   AND o.what IS NOT NULL
                UNION ALL
                SELECT created_at, 'joined' FROM members
                 WHERE community_id = %(cid)s AND created_at >= %(starts)s AND created_at < %(ends)s
                UNION ALL
                SELECT first_at, 'first_tie' FROM first_ties
                 WHERE first_at >= %(starts)s AND first_at < %(ends)s)
            SELECT date_bin('7 days', at, %(starts)s) AS week, what, count(*) AS count
              FROM events GROUP BY 1, 2 ORDER BY 1, 2""",
            params,
        )
        return await cur.fetchall()
