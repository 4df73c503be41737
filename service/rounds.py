"""Intro rounds: the rules every round route goes through.

A round is planned by :func:`belonging.matching.rounds.plan_round` on the community's index,
and every hard rule is also read fresh from PostgreSQL in the request's transaction: the ties,
blocks and declined suggestions among the round's members, who opted out, and the pairs of the
last ``avoid_repeat_rounds`` rounds. The round's members are locked against erasure while the
round is planned and stored, so a stored pair never names a member who is gone.

Rounds over more than ``SYNC_MAX_MEMBERS`` members run as jobs; the job takes the same
one-round-at-a-time lock as the route (waiting for it) and stores the round the same way.

An outcome is set once. ``met`` creates or strengthens the tie between every two members of
the pair (kind ``round``), except between two who have since blocked each other.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from psycopg import AsyncConnection

from belonging.matching.index import SuggestionIndex
from belonging.matching.rounds import Round, plan_round
from belonging.service.errors import conflict, invalid, not_found
from belonging.service.indexes import CommunityModel, IndexCache
from belonging.service.jobs import JobContext, handler
from belonging.service.repository import connections, jobs, operation_locks
from belonging.service.repository import reports as report_repository
from belonging.service.repository import rounds as repository
from belonging.service.repository.rounds import StoredRound

#: The weight a ``met`` outcome adds to the tie between two members of the pair.
MET_TIE_WEIGHT = 1.0
TIE_KIND = "round"
#: Rounds over more members than this run as jobs.
SYNC_MAX_MEMBERS = 2_000


@dataclass(frozen=True)
class RoundRequest:
    member_ids: list[str] | None
    group_size: int
    avoid_repeat_rounds: int
    bridging_weight: float


@dataclass(frozen=True)
class RoundQueued:
    job_id: str


def _prepare(model: CommunityModel) -> None:
    model.suggestion_index()


async def create_round(
    conn: AsyncConnection, indexes: IndexCache, community_id: int, revision: int, asked: RoundRequest
) -> StoredRound | RoundQueued:
    """Plan a round over the asked members (default: everyone open to suggestions) and store it.

    Unknown members are a 422; over ``SYNC_MAX_MEMBERS`` members the round is queued as a job.
    """
    wanted = None if asked.member_ids is None else sorted(set(asked.member_ids))
    members = await repository.lock_members(conn, community_id, wanted)
    if wanted is not None and len(members) < len(wanted):
        unknown = sorted(set(wanted) - set(members))
        raise invalid(f"unknown member ids: {', '.join(unknown[:20])}", unknown_member_ids=unknown[:100])
    if len(members) > SYNC_MAX_MEMBERS:
        params = {"member_ids": wanted, "group_size": asked.group_size,
                  "avoid_repeat_rounds": asked.avoid_repeat_rounds, "bridging_weight": asked.bridging_weight}
        return RoundQueued(await jobs.enqueue(conn, community_id, "round", params))
    return await _plan_and_store(conn, indexes, community_id, revision, asked, members)


@handler("round")
async def _round_job(job: JobContext) -> dict[str, Any]:
    asked = RoundRequest(**job.params)
    async with job.pool.connection() as conn:
        await operation_locks.wait_for_lock(conn, "round", job.community_id)
        revision, _ = await report_repository.revision_and_settings(conn, job.community_id)
        # Members named in the request may have been erased since it was accepted: they take no part.
        members = await repository.lock_members(conn, job.community_id, asked.member_ids)
        await job.progress(0.1)
        stored = await _plan_and_store(conn, job.app_state.indexes, job.community_id, revision, asked, members)
    out = round_out(stored)
    return out | {"created_at": stored.round.created_at.isoformat()}


async def _plan_and_store(
    conn: AsyncConnection, indexes: IndexCache, community_id: int, revision: int, asked: RoundRequest,
    members: list[str],
) -> StoredRound:
    excluded, not_open = await repository.boundaries(conn, community_id, members)
    history = await repository.recent_groups(conn, community_id, asked.avoid_repeat_rounds)
    model = await indexes.get(community_id, revision, fresh=True, prepare=_prepare)
    index = model.suggestion_index()
    profiles = {p.member_id: p for p in model.profiles}
    taking_part = [m for m in members if m in index.position]

    def plan(index: SuggestionIndex) -> Round:
        return plan_round(index, member_ids=taking_part, profiles=profiles, excluded_pairs=excluded,
                          not_open=not_open, history=history, avoid_repeat_rounds=asked.avoid_repeat_rounds,
                          bridging_weight=asked.bridging_weight)

    planned = await asyncio.to_thread(plan, index)
    groups = [{"member_ids": sorted(g.member_ids), "score": g.score, "intro": g.intro,
               "reasons": {m: list(reasons) for m, reasons in g.reasons.items()}} for g in planned.groups]
    round_id = await repository.insert(
        conn, community_id, group_size=asked.group_size, avoid_repeat_rounds=asked.avoid_repeat_rounds,
        bridging_weight=asked.bridging_weight, objective=planned.objective, bound=planned.bound,
        groups=groups, unpaired=[(u.member_id, u.reason) for u in planned.unpaired])
    stored = await repository.get(conn, community_id, round_id)
    assert stored is not None
    return stored


async def record_outcome(
    conn: AsyncConnection, community_id: int, round_id: str, pair_id: str, outcome: str
) -> bool:
    """Record the pair's outcome once; True when it created or strengthened a tie.

    The same answer again changes nothing; a different answer is a 409.
    """
    pair = await repository.pair_for_outcome(conn, community_id, round_id, pair_id)
    if pair is None:
        raise not_found(f"pair {pair_id!r} of round {round_id!r}")
    if pair.outcome is not None:
        if pair.outcome != outcome:
            raise conflict(f"this pair's outcome is already {pair.outcome!r}; an outcome cannot be changed")
        return False
    created = False
    if outcome == "met":
        members = pair.member_ids
        for k, a in enumerate(members):
            blocked = set(await connections.blocked_with(conn, community_id, a, members[k + 1:]))
            for b in members[k + 1:]:
                if b not in blocked:
                    await connections.strengthen(conn, community_id, a, b, MET_TIE_WEIGHT, TIE_KIND)
                    created = True
    await repository.record_outcome(conn, community_id, pair_id, outcome)
    return created


def round_out(stored: StoredRound) -> dict[str, Any]:
    """A stored round as the API shows it to organisers."""
    r = stored.round
    return {
        "round_id": r.round_id, "created_at": r.created_at, "group_size": r.group_size,
        "avoid_repeat_rounds": r.avoid_repeat_rounds, "bridging_weight": r.bridging_weight,
        "pairs": [{"pair_id": p.pair_id, "member_ids": p.member_ids, "score": p.score, "reasons": p.reasons,
                   "intro": p.intro, "outcome": p.outcome} for p in stored.pairs],
        "unpaired": [{"member_id": u.member_id, "reason": u.reason} for u in stored.unpaired],
        "objective": r.objective, "bound": r.bound,
    }
