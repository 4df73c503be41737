"""The rows behind the impact report: suggestions, rounds and first ties within a window.

A window runs from the start of ``since`` to the end of ``until`` (whole days, UTC). Every
function returns one row per event, with the members it concerns, so that the report can count
them for the whole community and for each attribute group alike.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from psycopg import AsyncConnection
from psycopg.rows import dict_row

_WINDOW = """bounds AS (
    SELECT %(since)s::date::timestamp AT TIME ZONE 'UTC' AS starts,
           (%(until)s::date + 1)::timestamp AT TIME ZONE 'UTC' AS ends)"""


def _params(community_id: int, since: date, until: date) -> dict[str, Any]:
    return {"cid": community_id, "since": since, "until": until}


async def suggestions(conn: AsyncConnection, community_id: int, since: date, until: date) -> list[dict[str, Any]]:
    """Suggestions shown in the window or answered in it: ``member_id`` (who was shown it),
    ``shown`` (created in the window) and ``outcome`` (set only when answered in the window)."""
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(
            f"""WITH {_WINDOW}
            SELECT s.member_id,
                   s.created_at >= w.starts AND s.created_at < w.ends AS shown,
                   CASE WHEN s.outcome_at >= w.starts AND s.outcome_at < w.ends THEN s.outcome END AS outcome
              FROM suggestions s, bounds w
             WHERE s.community_id = %(cid)s
               AND ((s.created_at >= w.starts AND s.created_at < w.ends)
                    OR (s.outcome_at >= w.starts AND s.outcome_at < w.ends))""",
            _params(community_id, since, until),
        )
        return await cur.fetchall()


async def round_pairs(conn: AsyncConnection, community_id: int, since: date, until: date) -> list[dict[str, Any]]:
    """Pairs of the rounds created in the window: ``round_id``, ``outcome`` (whenever answered,
    null while unanswered) and ``member_ids``. A round without pairs gives one row with a null
    ``outcome`` and no ``member_ids``, so that it still counts as held."""
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(
            f"""WITH {_WINDOW}
            SELECT r.round_id, p.pair_id, p.outcome,
                   coalesce((SELECT array_agg(pm.member_id ORDER BY pm.member_id) FROM round_pair_members pm
                              WHERE pm.community_id = %(cid)s AND pm.pair_id = p.pair_id),
                            '{{}}') AS member_ids
              FROM rounds r CROSS JOIN bounds w
              LEFT JOIN round_pairs p ON p.community_id = %(cid)s AND p.round_id = r.round_id
             WHERE r.community_id = %(cid)s AND r.created_at >= w.starts AND r.created_at < w.ends""",
            _params(community_id, since, until),
        )
        return await cur.fetchall()


async def members_and_first_ties(
    conn: AsyncConnection, community_id: int, since: date, until: date
) -> list[dict[str, Any]]:
    """Members who joined in the window or whose first tie was made in it: ``member_id``,
    ``joined`` (created in the window), ``created_at``, and ``first_tie_at`` and ``first_tie_kind``
    (the earliest tie the member still has, null when they have none), ``first_tie_in_window``."""
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(
            f"""WITH {_WINDOW},
            tie_ends AS (
                SELECT member_a AS member_id, created_at, kind FROM connections WHERE community_id = %(cid)s
                UNION ALL
                SELECT member_b, created_at, kind FROM connections WHERE community_id = %(cid)s),
            first_tie AS (
                SELECT DISTINCT ON (member_id) member_id, created_at, kind FROM tie_ends
                 ORDER BY member_id, created_at, kind)
            SELECT m.member_id, m.created_at,
                   m.created_at >= w.starts AND m.created_at < w.ends AS joined,
                   f.created_at AS first_tie_at, f.kind AS first_tie_kind,
                   coalesce(f.created_at >= w.starts AND f.created_at < w.ends, false) AS first_tie_in_window
              FROM members m CROSS JOIN bounds w
              LEFT JOIN first_tie f ON f.member_id = m.member_id
             WHERE m.community_id = %(cid)s
               AND ((m.created_at >= w.starts AND m.created_at < w.ends)
                    OR (f.created_at >= w.starts AND f.created_at < w.ends))""",
            _params(community_id, since, until),
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

