"""Suggestions, their feedback, and the per-request facts that keep the hard rules exact."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from psycopg import AsyncConnection
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from belonging.service.repository import locks


async def boundaries(conn: AsyncConnection, community_id: int, member_id: str) -> set[str] | None:
    """Members never to suggest to ``member_id``: ties, blocks and declined pairs, either way.

    None when the member does not exist. Both reads go to the server in one round trip.
    """
    params = {"cid": community_id, "mid": member_id}
    async with conn.pipeline():
        member = await conn.execute(
            "SELECT 1 FROM members WHERE community_id = %(cid)s AND member_id = %(mid)s", params
        )
        excluded = await conn.execute(
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
            params,
        )
    if await member.fetchone() is None:
        return None
    return {r[0] for r in await excluded.fetchall()}


async def propose(
    conn: AsyncConnection, community_id: int, member_id: str, ranked: Sequence[dict[str, Any]], *,
    limit: int, max_exposures: int, model_version: str,
) -> list[tuple[str, str]]:
    """Record the first ``limit`` of ``ranked`` that may still be shown, in two round trips.

    A candidate is kept when they are still a member open to suggestions and either already
    have a suggestion to this member awaiting feedback (its id is reused, no new exposure) or
    were proposed fewer than ``max_exposures`` times in the last 7 days. Returns
    ``(candidate_id, suggestion_id)`` in rank order.

    The cap and the reuse hold under any concurrency: the first statement locks every ranked
    candidate's exposures (``locks.exposures``); the second counts with a snapshot taken after
    those locks, so it sees every exposure an earlier holder committed, and the third records the
    new exposures before the locks are released at commit. The first two travel in one pipeline.
    The member and the kept candidates are locked against erasure (``FOR KEY SHARE``) as they are
    read, so a member erased meanwhile is skipped rather than failing the request. Each statement
    names the community, so on Citus each runs on the community's shard alone.
    """
    if not ranked or limit <= 0:
        return []
    candidates = [r["member_id"] for r in ranked]
    async with conn.pipeline():
        await locks.exposures(conn, community_id, candidates)
        cur = await conn.execute(
            """
            SELECT r.candidate_id, r.score, r.reasons, pending.suggestion_id::text
              FROM unnest(%(candidates)s::text[], %(scores)s::real[], %(reasons)s::jsonb[])
                   WITH ORDINALITY AS r(candidate_id, score, reasons, position)
              JOIN members me ON me.community_id = %(cid)s AND me.member_id = %(mid)s
              JOIN members m ON m.community_id = %(cid)s AND m.member_id = r.candidate_id
                            AND m.open_to_suggestions
              LEFT JOIN LATERAL (
                   SELECT s.suggestion_id FROM suggestions s
                    WHERE s.community_id = %(cid)s AND s.member_id = %(mid)s AND s.candidate_id = r.candidate_id
                      AND s.outcome IS NULL AND s.created_at > now() - interval '7 days'
                    ORDER BY s.created_at DESC LIMIT 1) pending ON true
             WHERE pending.suggestion_id IS NOT NULL
                OR (SELECT count(*) FROM suggestions e
                     WHERE e.community_id = %(cid)s AND e.candidate_id = r.candidate_id
                       AND e.created_at > now() - interval '7 days') < %(cap)s
             ORDER BY r.position
             LIMIT %(limit)s
             -- Erasing either member waits for this request, or this request skips them.
             FOR KEY SHARE OF me, m
            """,
            {
                "cid": community_id, "mid": member_id, "cap": max_exposures, "limit": limit,
                "candidates": candidates,
                "scores": [r["score"] for r in ranked],
                "reasons": [Jsonb(r["reasons"]) for r in ranked],
            },
        )
    kept = await cur.fetchall()
    new = [(candidate, score, reasons) for candidate, score, reasons, pending in kept if pending is None]
    created: dict[str, str] = {}
    if new:
        # One multi-row VALUES: every row names the community, so it is one insert on one shard.
        values = ", ".join(["(%s, %s, %s, %s, %s, %s)"] * len(new))
        params: list[Any] = []
        for candidate, score, reasons in new:
            params += [community_id, member_id, candidate, score, Jsonb(reasons), model_version]
        inserted = await conn.execute(
            "INSERT INTO suggestions (community_id, member_id, candidate_id, score, reasons, model_version)"
            " VALUES " + values + " RETURNING candidate_id, suggestion_id::text",
            params,
        )
        created = dict(await inserted.fetchall())
    return [(candidate, pending if pending is not None else created[candidate])
            for candidate, _, _, pending in kept]


async def get(conn: AsyncConnection, community_id: int, suggestion_id: str) -> dict[str, Any] | None:
    """The suggestion, locked for its feedback until the transaction ends; None if it does not exist.

    Its two members are locked against erasure first, and only then the suggestion: erasing a
    member locks the member, then the suggestions it cascades to, so taking the two in the
    other order could deadlock with it. A member erased meanwhile takes the suggestion along,
    and the answer is None. Both statements travel in one round trip.
    """
    params = {"cid": community_id, "sid": suggestion_id}
    async with conn.pipeline(), conn.cursor(row_factory=dict_row) as cur:
        await conn.execute(
            """
            SELECT 1 FROM members
             WHERE community_id = %(cid)s
               AND member_id IN (SELECT unnest(ARRAY[member_id, candidate_id]) FROM suggestions
                                  WHERE community_id = %(cid)s AND suggestion_id = %(sid)s)
             ORDER BY member_id
               FOR KEY SHARE
            """,
            params,
        )
        await cur.execute(
            "SELECT suggestion_id::text AS suggestion_id, member_id, candidate_id, outcome FROM suggestions"
            " WHERE community_id = %(cid)s AND suggestion_id = %(sid)s FOR UPDATE",
            params,
        )
        return await cur.fetchone()


async def record_outcome(conn: AsyncConnection, community_id: int, suggestion_id: str, outcome: str) -> None:
    await conn.execute(
        "UPDATE suggestions SET outcome = %(outcome)s, outcome_at = now()"
        " WHERE community_id = %(cid)s AND suggestion_id = %(sid)s",
        {"cid": community_id, "sid": suggestion_id, "outcome": outcome},
    )


async def declined_pairs(conn: AsyncConnection, community_id: int) -> list[tuple[str, str]]:
    cur = await conn.execute(
        "SELECT member_id, candidate_id FROM suggestions WHERE community_id = %(cid)s AND outcome = 'declined'",
        {"cid": community_id},
    )
    return [(a, b) for a, b in await cur.fetchall()]
