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
    """Record the first ``limit`` of ``ranked`` that may still be shown, in one round trip, committed.

    ``conn`` must be in autocommit (no transaction open): this opens and commits its own.

    A candidate is kept when they are still a member open to suggestions, not tied to the
    member, not blocked by or blocking them, not in a declined suggestion with them either way,
    and either already have a suggestion to this member awaiting feedback (its id is reused, no
    new exposure) or were proposed fewer than ``max_exposures`` times in the last 7 days.

    The cap and the reuse hold under any concurrency: the first statement locks every ranked
    candidate's exposures (``locks.exposures``); the recording statement counts and records
    with a snapshot taken after those locks, so it sees every exposure an earlier holder
    committed. The member and the kept candidates are locked against erasure (``FOR KEY
    SHARE``) as they are read, so a member erased meanwhile is skipped rather than failing the
    request. The commit does not wait for its WAL to reach disk (``synchronous_commit = off`` for
    this transaction only), so a crash of PostgreSQL can lose the suggestions recorded in its
    last moments (see the README); feedback and every other write still commit synchronously.
    """
    params = {"cid": community_id, "mid": member_id}
    candidates = [r["member_id"] for r in ranked]
    if not candidates or limit <= 0:
        cur = await conn.execute(
            "SELECT 1 FROM members WHERE community_id = %(cid)s AND member_id = %(mid)s", params)
        return Proposed(await cur.fetchone() is not None, [])
    # Queued, then sent with one sync: BEGIN, the locks, the recording and COMMIT travel
    # together, and the exposure locks are held only while the server runs them.
    async with conn.pipeline(), conn.transaction():
        await locks.exposures(conn, community_id, candidates)
        cur = await conn.execute(
            """
            WITH ranked AS (
                -- One JSON document, not three arrays: a jsonb[] of reasons is slow to encode.
                SELECT e->>'member_id' AS candidate_id, (e->>'score')::real AS score, e->'reasons' AS reasons,
                       position
                  FROM jsonb_array_elements(%(ranked)s::jsonb) WITH ORDINALITY AS r(e, position)
            ), kept AS (
                SELECT r.*, pending.suggestion_id AS pending_id
                  FROM ranked r
                  JOIN members me ON me.community_id = %(cid)s AND me.member_id = %(mid)s
                  JOIN members m ON m.community_id = %(cid)s AND m.member_id = r.candidate_id
                                AND m.open_to_suggestions AND m.member_id <> me.member_id
                  LEFT JOIN LATERAL (
                       SELECT s.suggestion_id FROM suggestions s
                        WHERE s.community_id = %(cid)s AND s.member_id = %(mid)s AND s.candidate_id = r.candidate_id
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
                             WHERE e.community_id = %(cid)s AND e.candidate_id = r.candidate_id
                               AND e.created_at > now() - interval '7 days') < %(cap)s)
                 ORDER BY r.position
                 LIMIT %(limit)s
                 -- Erasing either member waits for this request, or this request skips them.
                 FOR KEY SHARE OF me, m
            ), inserted AS (
                INSERT INTO suggestions (community_id, member_id, candidate_id, score, reasons, model_version)
                SELECT %(cid)s, %(mid)s, candidate_id, score, reasons, %(version)s
                  FROM kept WHERE pending_id IS NULL
                RETURNING suggestion_id, candidate_id
            )
            -- The rows kept, in rank order; or, when none are, one row of NULLs if the member is
            -- gone. The commit does not wait for the WAL flush (for this transaction only).
            SELECT candidate_id, suggestion_id FROM (
                SELECT k.candidate_id, coalesce(k.pending_id, i.suggestion_id)::text AS suggestion_id,
                       k.position
                  FROM kept k LEFT JOIN inserted i USING (candidate_id)
                UNION ALL
                SELECT NULL, NULL, 0
                 WHERE NOT EXISTS (SELECT 1 FROM members WHERE community_id = %(cid)s AND member_id = %(mid)s)
            ) answer, (SELECT set_config('synchronous_commit', 'off', true)) AS setting
             ORDER BY position
            """,
            params | {
                "version": model_version, "cap": max_exposures, "limit": limit,
                "ranked": Jsonb([{"member_id": r["member_id"], "score": r["score"], "reasons": r["reasons"]}
                                 for r in ranked]),
            },
        )
    rows = await cur.fetchall()
    return Proposed(not (rows and rows[0][0] is None),
                    [(candidate, suggestion_id) for candidate, suggestion_id in rows if candidate is not None])


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
