"""Suggestions, their feedback, and the per-request facts that keep the hard rules exact."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from psycopg import AsyncConnection
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from belonging.service.repository import locks


@dataclass(frozen=True)
class Proposed:
    """What :func:`propose` recorded: ``(candidate_id, suggestion_id)`` in rank order, and whether
    the asking member still exists."""

    member_exists: bool
    recorded: list[tuple[str, str]]


async def propose(
    conn: AsyncConnection, community_id: int, member_id: str, ranked: Sequence[dict[str, Any]], *,
    limit: int, max_exposures: int, model_version: str,
) -> Proposed:
    """Record the first ``limit`` of ``ranked`` that may still be shown, in two round trips, committed.

    ``conn`` must be in autocommit (no transaction open): this opens and commits its own.

    A candidate is kept when they are still a member open to suggestions, not tied to the
    member, not blocked by or blocking them, not in a declined suggestion with them either way,
    and either already have a suggestion to this member awaiting feedback (its id is reused, no
    new exposure) or were proposed fewer than ``max_exposures`` times in the last 7 days.

    The cap and the reuse hold under any concurrency: the first round trip (``BEGIN``, the
    per-candidate exposure locks of ``locks.exposures``, the choice of candidates) counts with a
    snapshot taken after those locks, so it sees every exposure an earlier holder committed; the
    second records the new exposures and commits, releasing the locks. The member and the kept
    candidates are locked against erasure (``FOR KEY SHARE``) as they are read, so a member
    erased meanwhile is skipped rather than failing the request. Every statement names the
    community, so on Citus each runs on the community's shard alone (a data-modifying ``WITH``
    would not: Citus plans it through the coordinator). The commit does not wait for its WAL to
    reach disk (``synchronous_commit`` off for this transaction only), so a crash of PostgreSQL
    can lose the suggestions recorded in its last moments (see the README); feedback and every
    other write still commit synchronously.
    """
    params: dict[str, Any] = {"cid": community_id, "mid": member_id}
    candidates = [r["member_id"] for r in ranked]
    if not candidates or limit <= 0:
        cur = await conn.execute(
            "SELECT 1 FROM members WHERE community_id = %(cid)s AND member_id = %(mid)s", params)
        return Proposed(await cur.fetchone() is not None, [])
    created = None
    # Queued, then sent with one sync per round trip: the exposure locks are held only while the
    # server runs the two of them.
    async with conn.pipeline():
        async with conn.transaction():
            await conn.execute("SELECT set_config('synchronous_commit', 'off', true)")
            await locks.exposures(conn, community_id, candidates)
            exists = await conn.execute(
                "SELECT 1 FROM members WHERE community_id = %(cid)s AND member_id = %(mid)s", params)
            chosen = await conn.execute(
                """
                SELECT r.member_id, r.score, r.reasons, pending.suggestion_id::text
                  FROM (SELECT e->>'member_id' AS member_id, (e->>'score')::real AS score,
                               e->'reasons' AS reasons, position
                          FROM jsonb_array_elements(%(ranked)s::jsonb) WITH ORDINALITY AS x(e, position)) r
                  JOIN members me ON me.community_id = %(cid)s AND me.member_id = %(mid)s
                  JOIN members m ON m.community_id = %(cid)s AND m.member_id = r.member_id
                                AND m.open_to_suggestions AND m.member_id <> me.member_id
                  LEFT JOIN LATERAL (
                       SELECT s.suggestion_id FROM suggestions s
                        WHERE s.community_id = %(cid)s AND s.member_id = %(mid)s AND s.candidate_id = r.member_id
                          AND s.outcome IS NULL AND s.created_at > now() - interval '7 days'
                        ORDER BY s.created_at DESC LIMIT 1) pending ON true
                 WHERE NOT EXISTS (SELECT 1 FROM connections c WHERE c.community_id = %(cid)s
                                      AND ((c.member_a = me.member_id AND c.member_b = m.member_id)
                                        OR (c.member_a = m.member_id AND c.member_b = me.member_id)))
                   AND NOT EXISTS (SELECT 1 FROM blocks b WHERE b.community_id = %(cid)s
                                      AND ((b.member_id = me.member_id AND b.blocked_id = m.member_id)
                                        OR (b.member_id = m.member_id AND b.blocked_id = me.member_id)))
                   AND NOT EXISTS (SELECT 1 FROM suggestions d WHERE d.community_id = %(cid)s
                                      AND d.outcome = 'declined'
                                      AND ((d.member_id = me.member_id AND d.candidate_id = m.member_id)
                                        OR (d.member_id = m.member_id AND d.candidate_id = me.member_id)))
                   AND (pending.suggestion_id IS NOT NULL
                        OR (SELECT count(*) FROM suggestions e
                             WHERE e.community_id = %(cid)s AND e.candidate_id = r.member_id
                               AND e.created_at > now() - interval '7 days') < %(cap)s)
                 ORDER BY r.position
                 LIMIT %(limit)s
                 -- Erasing either member waits for this request, or this request skips them.
                 FOR KEY SHARE OF me, m
                """,
                params | {
                    "cap": max_exposures, "limit": limit,
                    # One JSON document, not three arrays: a jsonb[] of reasons is slow to encode.
                    "ranked": Jsonb([{"member_id": r["member_id"], "score": r["score"], "reasons": r["reasons"]}
                                     for r in ranked]),
                },
            )
            kept = await chosen.fetchall()  # the first round trip
            new = [(candidate, score, reasons) for candidate, score, reasons, pending in kept if pending is None]
            if new:
                # One multi-row VALUES: every row names the community, so it is one insert on one shard.
                values: list[Any] = []
                for candidate, score, reasons in new:
                    values += [community_id, member_id, candidate, score, Jsonb(reasons), model_version]
                created = await conn.execute(
                    "INSERT INTO suggestions (community_id, member_id, candidate_id, score, reasons, model_version)"
                    " VALUES " + ", ".join(["(%s, %s, %s, %s, %s, %s)"] * len(new))
                    + " RETURNING candidate_id, suggestion_id::text",
                    values,
                )
        # The insert and the commit travel together, the second round trip.
    ids: dict[str, str] = dict(await created.fetchall()) if created is not None else {}
    return Proposed(await exists.fetchone() is not None,
                    [(candidate, pending if pending is not None else ids[candidate])
                     for candidate, _, _, pending in kept])


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
