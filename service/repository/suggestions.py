"""Suggestions, their feedback, and the per-request facts that keep the hard rules exact."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from psycopg import AsyncConnection
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb


@dataclass(frozen=True)
class MemberBoundaries:
    """What must never be suggested to one member, read fresh for each request."""

    excluded: set[str]  # ties, blocks either way, declined either way
    pending: dict[str, str]  # candidate id -> id of a suggestion still awaiting feedback


async def boundaries(conn: AsyncConnection, community_id: int, member_id: str) -> MemberBoundaries:
    cur = await conn.execute(
        """
        SELECT member_b FROM connections WHERE community_id = %(cid)s AND member_a = %(mid)s
        UNION SELECT member_a FROM connections WHERE community_id = %(cid)s AND member_b = %(mid)s
        UNION SELECT blocked_id FROM blocks WHERE community_id = %(cid)s AND member_id = %(mid)s
        UNION SELECT member_id FROM blocks WHERE community_id = %(cid)s AND blocked_id = %(mid)s
        UNION SELECT candidate_id FROM suggestions
              WHERE community_id = %(cid)s AND member_id = %(mid)s AND outcome = 'declined'
        UNION SELECT member_id FROM suggestions
              WHERE community_id = %(cid)s AND candidate_id = %(mid)s AND outcome = 'declined'
        """,
        {"cid": community_id, "mid": member_id},
    )
    excluded = {r[0] for r in await cur.fetchall()}
    cur = await conn.execute(
        "SELECT DISTINCT ON (candidate_id) candidate_id, suggestion_id::text FROM suggestions"
        " WHERE community_id = %(cid)s AND member_id = %(mid)s AND outcome IS NULL"
        " AND created_at > now() - interval '7 days' ORDER BY candidate_id, created_at DESC",
        {"cid": community_id, "mid": member_id},
    )
    pending = {candidate: suggestion_id for candidate, suggestion_id in await cur.fetchall()}
    return MemberBoundaries(excluded, pending)


async def candidate_state(
    conn: AsyncConnection, community_id: int, candidate_ids: Sequence[str]
) -> dict[str, int]:
    """For each candidate still open to suggestions: how often they were proposed in the last 7 days."""
    cur = await conn.execute(
        """
        SELECT m.member_id,
               (SELECT count(*) FROM suggestions s
                 WHERE s.community_id = m.community_id AND s.candidate_id = m.member_id
                   AND s.created_at > now() - interval '7 days')
          FROM members m
         WHERE m.community_id = %(cid)s AND m.member_id = ANY(%(ids)s) AND m.open_to_suggestions
        """,
        {"cid": community_id, "ids": list(candidate_ids)},
    )
    return {member_id: int(count) for member_id, count in await cur.fetchall()}


async def insert(
    conn: AsyncConnection, community_id: int, member_id: str, rows: Sequence[dict[str, Any]], model_version: str
) -> list[str]:
    """Store new suggestions; returns their ids in order."""
    if not rows:
        return []
    cur = await conn.execute(
        """
        INSERT INTO suggestions (community_id, member_id, candidate_id, score, reasons, model_version)
        SELECT %(cid)s, %(mid)s, c.candidate_id, c.score, c.reasons, %(version)s
          FROM unnest(%(candidates)s::text[], %(scores)s::real[], %(reasons)s::jsonb[])
               WITH ORDINALITY AS c(candidate_id, score, reasons, position)
         ORDER BY c.position
        RETURNING suggestion_id::text, candidate_id
        """,
        {
            "cid": community_id, "mid": member_id, "version": model_version,
            "candidates": [r["member_id"] for r in rows],
            "scores": [r["score"] for r in rows],
            "reasons": [Jsonb(r["reasons"]) for r in rows],
        },
    )
    ids = {candidate: suggestion_id for suggestion_id, candidate in await cur.fetchall()}
    return [ids[r["member_id"]] for r in rows]


async def get(conn: AsyncConnection, community_id: int, suggestion_id: str) -> dict[str, Any] | None:
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(
            "SELECT suggestion_id::text AS suggestion_id, member_id, candidate_id, outcome FROM suggestions"
            " WHERE community_id = %(cid)s AND suggestion_id = %(sid)s FOR UPDATE",
            {"cid": community_id, "sid": suggestion_id},
        )
        return await cur.fetchone()


async def record_outcome(conn: AsyncConnection, community_id: int, suggestion_id: str, outcome: str) -> None:
    await conn.execute(
        "UPDATE suggestions SET outcome = %(outcome)s, outcome_at = now()"
        " WHERE community_id = %(cid)s AND suggestion_id = %(sid)s",
        {"cid": community_id, "sid": suggestion_id, "outcome": outcome},
    )


async def blocked_either_way(conn: AsyncConnection, community_id: int, a: str, b: str) -> bool:
    cur = await conn.execute(
        "SELECT EXISTS (SELECT 1 FROM blocks WHERE community_id = %(cid)s AND"
        " ((member_id = %(a)s AND blocked_id = %(b)s) OR (member_id = %(b)s AND blocked_id = %(a)s)))",
        {"cid": community_id, "a": a, "b": b},
    )
    row = await cur.fetchone()
    return bool(row and row[0])


async def declined_pairs(conn: AsyncConnection, community_id: int) -> list[tuple[str, str]]:
    cur = await conn.execute(
        "SELECT member_id, candidate_id FROM suggestions WHERE community_id = %(cid)s AND outcome = 'declined'",
        {"cid": community_id},
    )
    return [(a, b) for a, b in await cur.fetchall()]
