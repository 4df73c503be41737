"""Intro rounds: their pairs, who was left out, and each pair's outcome.

A pair's row is locked with :func:`pair_for_outcome` (its members first, against erasure, then
the pair ``FOR UPDATE``), so parallel answers to one pair record one outcome.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from psycopg import AsyncConnection
from psycopg.rows import class_row
from psycopg.types.json import Jsonb


@dataclass(frozen=True)
class RoundRow:
    round_id: str
    created_at: datetime
    group_size: int
    avoid_repeat_rounds: int
    bridging_weight: float
    objective: float
    bound: float


@dataclass(frozen=True)
class PairRow:
    round_id: str
    pair_id: str
    member_ids: list[str]
    score: float
    reasons: dict[str, list[dict[str, Any]]]
    intro: str
    outcome: str | None


@dataclass(frozen=True)
class UnpairedRow:
    round_id: str
    member_id: str
    reason: str


@dataclass(frozen=True)
class MemberPairRow:
    """A member's pair in a round, with when the round was made."""

    round_id: str
    created_at: datetime
    pair_id: str
    member_ids: list[str]
    score: float
    reasons: dict[str, list[dict[str, Any]]]
    intro: str
    outcome: str | None


@dataclass(frozen=True)
class StoredRound:
    round: RoundRow
    pairs: list[PairRow]
    unpaired: list[UnpairedRow]


_PAIR_COLUMNS = (
    "p.round_id::text AS round_id, p.pair_id::text AS pair_id,"
    " (SELECT array_agg(pm.member_id ORDER BY pm.member_id) FROM round_pair_members pm"
    "   WHERE pm.community_id = %(cid)s AND pm.pair_id = p.pair_id) AS member_ids,"
    " p.score, p.reasons, p.intro, p.outcome"
)
_ROUND_COLUMNS = (
    "round_id::text AS round_id, created_at, group_size, avoid_repeat_rounds, bridging_weight, objective, bound"
)


async def lock_members(conn: AsyncConnection, community_id: int, member_ids: Sequence[str] | None) -> list[str]:
    """The round's members that exist (default: every member open to suggestions), locked against
    erasure until the transaction ends, in id order."""
    cur = await conn.execute(
        "SELECT member_id FROM members WHERE community_id = %(cid)s"
        " AND CASE WHEN %(ids)s::text[] IS NULL THEN open_to_suggestions ELSE member_id = ANY(%(ids)s) END"
        " ORDER BY member_id FOR KEY SHARE",
        {"cid": community_id, "ids": None if member_ids is None else list(member_ids)},
    )
    return [r[0] for r in await cur.fetchall()]


async def boundaries(
    conn: AsyncConnection, community_id: int, member_ids: Sequence[str]
) -> tuple[list[tuple[str, str]], list[str]]:
    """Pairs among ``member_ids`` never to introduce (ties, blocks, declined suggestions, read now),
    and which of them are not open to suggestions. One round trip."""
    params = {"cid": community_id, "ids": list(member_ids)}
    async with conn.pipeline():
        pairs = await conn.execute(
            """
            WITH taking_part AS (SELECT DISTINCT unnest(%(ids)s::text[]) AS member_id)
            SELECT c.member_a, c.member_b FROM connections c
              JOIN taking_part a ON a.member_id = c.member_a JOIN taking_part b ON b.member_id = c.member_b
             WHERE c.community_id = %(cid)s
            UNION SELECT k.member_id, k.blocked_id FROM blocks k
              JOIN taking_part a ON a.member_id = k.member_id JOIN taking_part b ON b.member_id = k.blocked_id
             WHERE k.community_id = %(cid)s
            UNION SELECT s.member_id, s.candidate_id FROM suggestions s
              JOIN taking_part a ON a.member_id = s.member_id JOIN taking_part b ON b.member_id = s.candidate_id
             WHERE s.community_id = %(cid)s AND s.outcome = 'declined'
            """,
            params,
        )
        closed = await conn.execute(
            "SELECT member_id FROM members WHERE community_id = %(cid)s AND member_id = ANY(%(ids)s)"
            " AND NOT open_to_suggestions",
            params,
        )
    return [(a, b) for a, b in await pairs.fetchall()], [r[0] for r in await closed.fetchall()]


async def recent_groups(conn: AsyncConnection, community_id: int, rounds: int) -> list[list[list[str]]]:
    """The groups of the last ``rounds`` rounds, most recent round first."""
    if rounds <= 0:
        return []
    cur = await conn.execute(
        """
        WITH recent AS (
            SELECT round_id, created_at FROM rounds WHERE community_id = %(cid)s
             ORDER BY created_at DESC, round_id LIMIT %(n)s
        )
        SELECT r.round_id, array_agg(pm.member_id ORDER BY pm.member_id)
          FROM recent r
          JOIN round_pairs p ON p.community_id = %(cid)s AND p.round_id = r.round_id
          JOIN round_pair_members pm ON pm.community_id = %(cid)s AND pm.pair_id = p.pair_id
         GROUP BY r.round_id, r.created_at, p.pair_id
         ORDER BY r.created_at DESC, r.round_id
        """,
        {"cid": community_id, "n": rounds},
    )
    grouped: dict[Any, list[list[str]]] = {}
    for round_id, members in await cur.fetchall():
        grouped.setdefault(round_id, []).append(list(members))
    return list(grouped.values())


async def insert(
    conn: AsyncConnection, community_id: int, *, group_size: int, avoid_repeat_rounds: int,
    bridging_weight: float, objective: float, bound: float,
    groups: Sequence[dict[str, Any]], unpaired: Sequence[tuple[str, str]],
) -> str:
    """Store a round; ``groups`` are dicts of ``member_ids``, ``score``, ``reasons`` and ``intro``, in order.

    Returns the round's id. The members must be locked against erasure (:func:`lock_members`).
    """
    cur = await conn.execute(
        "INSERT INTO rounds (community_id, group_size, avoid_repeat_rounds, bridging_weight, objective, bound)"
        " VALUES (%(cid)s, %(size)s, %(avoid)s, %(bridging)s, %(objective)s, %(bound)s) RETURNING round_id::text",
        {"cid": community_id, "size": group_size, "avoid": avoid_repeat_rounds, "bridging": bridging_weight,
         "objective": objective, "bound": bound},
    )
    row = await cur.fetchone()
    assert row is not None
    round_id: str = row[0]
    params = {"cid": community_id, "rid": round_id}
    async with conn.pipeline():
        if groups:
            await conn.execute(
                """
                WITH inserted AS (
                    INSERT INTO round_pairs (community_id, round_id, position, score, reasons, intro)
                    SELECT %(cid)s, %(rid)s, g.position, g.score, g.reasons, g.intro
                      FROM unnest(%(scores)s::real[], %(reasons)s::jsonb[], %(intros)s::text[])
                           WITH ORDINALITY AS g(score, reasons, intro, position)
                    RETURNING pair_id, position
                )
                INSERT INTO round_pair_members (community_id, pair_id, member_id)
                SELECT %(cid)s, i.pair_id, m.member_id
                  FROM inserted i
                  JOIN unnest(%(positions)s::integer[], %(members)s::text[]) AS m(position, member_id)
                    ON m.position = i.position
                """,
                params | {
                    "scores": [g["score"] for g in groups],
                    "reasons": [Jsonb(g["reasons"]) for g in groups],
                    "intros": [g["intro"] for g in groups],
                    "positions": [k for k, g in enumerate(groups, start=1) for _ in g["member_ids"]],
                    "members": [m for g in groups for m in g["member_ids"]],
                },
            )
        if unpaired:
            await conn.execute(
                "INSERT INTO round_unpaired (community_id, round_id, member_id, reason)"
                " SELECT %(cid)s, %(rid)s, member_id, reason FROM unnest(%(members)s::text[], %(reasons)s::text[])"
                " AS u(member_id, reason)",
                params | {"members": [m for m, _ in unpaired], "reasons": [r for _, r in unpaired]},
            )
    return round_id


async def get(conn: AsyncConnection, community_id: int, round_id: str) -> StoredRound | None:
    stored = await _rounds(conn, community_id, "round_id = %(rid)s", {"rid": round_id}, limit=1)
    return stored[0] if stored else None


async def newest(conn: AsyncConnection, community_id: int, limit: int) -> list[StoredRound]:
    return await _rounds(conn, community_id, "true", {}, limit=limit)


async def _rounds(
    conn: AsyncConnection, community_id: int, where: str, params: dict[str, Any], *, limit: int
) -> list[StoredRound]:
    params = {"cid": community_id, "limit": limit, **params}
    async with conn.cursor(row_factory=class_row(RoundRow)) as cur:
        await cur.execute(
            f"SELECT {_ROUND_COLUMNS} FROM rounds WHERE community_id = %(cid)s AND {where}"
            " ORDER BY created_at DESC, round_id LIMIT %(limit)s",
            params,
        )
        rounds = await cur.fetchall()
    if not rounds:
        return []
    ids = [r.round_id for r in rounds]
    async with conn.cursor(row_factory=class_row(PairRow)) as cur:
        await cur.execute(
            f"SELECT {_PAIR_COLUMNS} FROM round_pairs p"
            " WHERE p.community_id = %(cid)s AND p.round_id = ANY(%(ids)s::uuid[]) ORDER BY p.round_id, p.position",
            {"cid": community_id, "ids": ids},
        )
        pairs = await cur.fetchall()
    async with conn.cursor(row_factory=class_row(UnpairedRow)) as cur:
        await cur.execute(
            "SELECT round_id::text AS round_id, member_id, reason FROM round_unpaired"
            " WHERE community_id = %(cid)s AND round_id = ANY(%(ids)s::uuid[]) ORDER BY round_id, member_id",
            {"cid": community_id, "ids": ids},
        )
        unpaired = await cur.fetchall()
    return [StoredRound(r, [p for p in pairs if p.round_id == r.round_id],
                        [u for u in unpaired if u.round_id == r.round_id]) for r in rounds]


async def current_pair(conn: AsyncConnection, community_id: int, member_id: str) -> MemberPairRow | str | None:
    """The member's pair in the newest round that took them in; the reason they were left out of
    that round instead (a string); None if no round took them in."""
    params = {"cid": community_id, "mid": member_id}
    cur = await conn.execute(
        """
        WITH taking_part AS (
            SELECT p.round_id, p.pair_id, NULL::text AS reason
              FROM round_pair_members me
              JOIN round_pairs p ON p.community_id = %(cid)s AND p.pair_id = me.pair_id
             WHERE me.community_id = %(cid)s AND me.member_id = %(mid)s
            UNION ALL
            SELECT u.round_id, NULL::uuid, u.reason FROM round_unpaired u
             WHERE u.community_id = %(cid)s AND u.member_id = %(mid)s
        )
        SELECT t.pair_id, t.reason FROM taking_part t
          JOIN rounds r ON r.community_id = %(cid)s AND r.round_id = t.round_id
         ORDER BY r.created_at DESC, r.round_id LIMIT 1
        """,
        params,
    )
    latest = await cur.fetchone()
    if latest is None:
        return None
    pair_id, reason = latest
    if pair_id is None:
        return str(reason)
    async with conn.cursor(row_factory=class_row(MemberPairRow)) as pairs:
        await pairs.execute(
            f"SELECT r.created_at, {_PAIR_COLUMNS} FROM round_pairs p"
            " JOIN rounds r ON r.community_id = %(cid)s AND r.round_id = p.round_id"
            " WHERE p.community_id = %(cid)s AND p.pair_id = %(pid)s",
            params | {"pid": pair_id},
        )
        return await pairs.fetchone()


async def pair_for_outcome(conn: AsyncConnection, community_id: int, round_id: str, pair_id: str) -> PairRow | None:
    """The pair, locked for its outcome until the transaction ends; None if it does not exist.

    Its members are locked against erasure first, and only then the pair: erasing a member
    locks the member, then the pair rows it cascades to, so the other order could deadlock.
    """
    params = {"cid": community_id, "rid": round_id, "pid": pair_id}
    async with conn.pipeline():
        await conn.execute(
            "SELECT 1 FROM members WHERE community_id = %(cid)s AND member_id IN"
            " (SELECT member_id FROM round_pair_members WHERE community_id = %(cid)s AND pair_id = %(pid)s)"
            " ORDER BY member_id FOR KEY SHARE",
            params,
        )
        async with conn.cursor(row_factory=class_row(PairRow)) as cur:
            await cur.execute(
                f"SELECT {_PAIR_COLUMNS} FROM round_pairs p"
                " WHERE p.community_id = %(cid)s AND p.round_id = %(rid)s AND p.pair_id = %(pid)s FOR UPDATE OF p",
                params,
            )
            return await cur.fetchone()


async def record_outcome(conn: AsyncConnection, community_id: int, pair_id: str, outcome: str) -> None:
    await conn.execute(
        "UPDATE round_pairs SET outcome = %(outcome)s, outcome_at = now()"
        " WHERE community_id = %(cid)s AND pair_id = %(pid)s AND outcome IS NULL",
        {"cid": community_id, "pid": pair_id, "outcome": outcome},
    )
