"""Support groups and placements: the rules every route (and job) goes through.

Two invariants hold whatever the interleaving of hand adds, placement applies and block writes:
a group never holds more members than its capacity, and two members who block each other never
share a group.

Seats
    Every seat write (a hand add, an apply) first takes the community's seat-writes lock in
    shared mode, then locks the group row, and only then counts the seats and checks blocks, in
    separate statements of the same transaction, so it sees every seat committed before the lock
    was granted. Seat writes to one group exclude each other by the group row; writes to
    different groups run side by side.

Blocks
    A block write takes the same seat-writes lock exclusively, so it never runs between a seat
    write's block check and its commit. A block is always recorded (it is the member's boundary);
    when the two members already share groups, the member who was blocked leaves those groups,
    so the member who asked for the boundary keeps their support group.

Placements
    A proposal records the version of every group it saw. Applying it is refused with 409, and
    nothing is written, when any of those groups changed since, a member in it was erased, a
    group would be overfilled, or two members it would seat together (or seat with a current
    member) now block each other: the problem names the pairs, and the organiser proposes a new
    placement, which respects the new blocks.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from psycopg import AsyncConnection

from belonging.matching.groups import SupportGroup
from belonging.matching.placement import PlacementOptions, propose_placement, suggest_groups_for_member
from belonging.matching.profiles import MemberProfile
from belonging.service.errors import conflict, invalid, not_found
from belonging.service.indexes import CommunityModel, IndexCache, profile_of
from belonging.service.jobs import JobContext, handler
from belonging.service.repository import connections, jobs, locks, members
from belonging.service.repository import groups as repository
from belonging.service.repository import reports as report_repository
from belonging.service.repository.groups import PlacementRow, SupportGroupRow

SYNC_MAX_MEMBERS = 20_000
_REQUIRED = ("name", "topics", "capacity", "format", "status")


# --- groups -------------------------------------------------------------------------------------

async def create_group(conn: AsyncConnection, community_id: int, fields: dict[str, Any]) -> SupportGroupRow:
    return await repository.create(conn, community_id, fields)


async def _locked_group(conn: AsyncConnection, community_id: int, group_id: str) -> SupportGroupRow:
    """The group with its seats as committed now, its row locked until the transaction ends."""
    if not await repository.lock(conn, community_id, [group_id]):
        raise not_found(f"group {group_id!r}")
    group = await repository.get(conn, community_id, group_id)
    assert group is not None
    return group


async def change_group(
    conn: AsyncConnection, community_id: int, group_id: str, changes: dict[str, Any]
) -> SupportGroupRow:
    """Change some fields; the capacity never drops below the members already seated (422)."""
    group = await _locked_group(conn, community_id, group_id)
    for field in _REQUIRED:
        if field in changes and changes[field] is None:
            raise invalid(f"{field} cannot be null")
    if changes.get("capacity") is not None and changes["capacity"] < len(group.member_ids):
        raise invalid(f"capacity {changes['capacity']} is below the {len(group.member_ids)} members already "
                      "in the group; remove members first")
    if changes:
        await repository.update(conn, community_id, group_id, changes)
    updated = await repository.get(conn, community_id, group_id)
    assert updated is not None
    return updated


async def delete_group(conn: AsyncConnection, community_id: int, group_id: str) -> None:
    if not await repository.delete(conn, community_id, group_id):
        raise not_found(f"group {group_id!r}")


async def seat_member(conn: AsyncConnection, community_id: int, group_id: str, member_id: str) -> None:
    """Seat a member by hand: 404 for an unknown group or member, 409 when full or blocked; idempotent."""
    await locks.seat_writes(conn, community_id)
    group = await _locked_group(conn, community_id, group_id)
    if not await members.lock_existing(conn, community_id, [member_id]):
        raise not_found(f"member {member_id!r}")
    if member_id in group.member_ids:
        return
    if len(group.member_ids) >= group.capacity:
        raise conflict(f"the group is full ({group.capacity} seats); raise its capacity first")
    blocked = await repository.blocked_seats(conn, community_id, [(group_id, member_id)])
    if blocked:
        raise conflict(f"{member_id!r} has a block with {len(blocked)} member(s) of this group")
    await repository.add_member(conn, community_id, group_id, member_id)


async def unseat_member(conn: AsyncConnection, community_id: int, group_id: str, member_id: str) -> None:
    if not await repository.remove_member(conn, community_id, group_id, member_id):
        raise not_found(f"member {member_id!r} in group {group_id!r}")


async def record_block(conn: AsyncConnection, community_id: int, member_id: str, other_id: str) -> list[str]:
    """Record that ``member_id`` blocks ``other_id``; ``other_id`` leaves every group they share.

    Returns the ids of the groups ``other_id`` left. Both members must exist (404 otherwise).
    """
    await locks.seat_writes(conn, community_id, exclusive=True)
    await connections.block(conn, community_id, member_id, other_id)
    left = await repository.shared_groups(conn, community_id, member_id, other_id)
    for group_id in left:
        await repository.remove_member(conn, community_id, group_id, other_id)
    return left


# --- placements ---------------------------------------------------------------------------------

def as_support_group(row: SupportGroupRow) -> SupportGroup:
    """The group as the matching engine sees it; an over-full group (capacity lowered after members
    joined) counts as full, not as invalid."""
    return SupportGroup(group_id=row.group_id, name=row.name, topics=tuple(row.topics),
                        capacity=max(row.capacity, len(row.member_ids)), format=row.format,
                        language=row.language, member_ids=tuple(row.member_ids), status=row.status)


def _degrees(model: CommunityModel) -> dict[str, int]:
    return dict(zip(model.graph.member_ids, model.graph.degrees().tolist(), strict=True))


def _check_placement_request(groups: list[SupportGroupRow], model: CommunityModel, params: dict[str, Any]) -> None:
    known_groups = {g.group_id for g in groups}
    unknown_groups = [g for g in params.get("group_ids") or [] if g not in known_groups]
    if unknown_groups:
        raise invalid(f"group {unknown_groups[0]!r} does not exist")
    unknown_members = [m for m in params.get("member_ids") or [] if m not in model.graph.position]
    if unknown_members:
        raise invalid(f"member {unknown_members[0]!r} does not exist")
    for attribute in (params.get("spread_attribute"), params.get("avoid_lone_attribute")):
        if attribute is not None and attribute not in model.graph.attributes:
            raise invalid(f"unknown attribute {attribute!r}; known: "
                          + (", ".join(sorted(model.graph.attributes)) or "none yet"))


def _options(params: dict[str, Any]) -> PlacementOptions:
    return PlacementOptions(
        max_new_groups_per_member=params["max_new_groups_per_member"], spread_attribute=params["spread_attribute"],
        avoid_lone_attribute=params["avoid_lone_attribute"], target_group_size=params["target_group_size"],
        min_new_group_size=min(3, params["target_group_size"]), time_limit_s=params["time_limit_s"],
        explain=params["explain"],
    )


@dataclass(frozen=True)
class PlacementQueued:
    """A placement too large to solve within the request: poll the job."""

    job_id: str


def _members_to_place(model: CommunityModel, params: dict[str, Any]) -> int:
    named = params.get("member_ids")
    return len(named) if named is not None else len(model.profiles)


async def _solve(groups: list[SupportGroupRow], model: CommunityModel, params: dict[str, Any]) -> dict[str, Any]:
    """The placement (solved in a worker thread) as JSON-ready data."""
    options = _options(params)

    def solve() -> dict[str, Any]:
        placement = propose_placement(
            model.profiles, [as_support_group(g) for g in groups], blocks=[frozenset(p) for p in model.source.blocks],
            degrees=_degrees(model), member_ids=params.get("member_ids"), group_ids=params.get("group_ids"),
            options=options)
        return placement.to_dict()

    return await asyncio.to_thread(solve)


async def _store(
    conn: AsyncConnection, community_id: int, groups: list[SupportGroupRow], params: dict[str, Any],
    result: dict[str, Any],
) -> dict[str, Any]:
    versions = {g.group_id: g.version for g in groups}
    placement_id = await repository.store_placement(conn, community_id, params, result, versions)
    return {"placement_id": placement_id, **result}


async def propose(
    conn: AsyncConnection, indexes: IndexCache, community_id: int, revision: int, params: dict[str, Any]
) -> dict[str, Any] | PlacementQueued:
    """Solve a placement and store it; returns ``{"placement_id", **placement}``.

    ``params`` are the fields of a placement request; unknown groups, members or attributes are
    a 422. Over ``SYNC_MAX_MEMBERS`` members the placement is queued as a job instead.
    """
    groups = await repository.all_groups(conn, community_id)
    model = await indexes.get(community_id, revision, fresh=True)
    _check_placement_request(groups, model, params)
    if _members_to_place(model, params) > SYNC_MAX_MEMBERS:
        return PlacementQueued(await jobs.enqueue(conn, community_id, "placement", params))
    return await _store(conn, community_id, groups, params, await _solve(groups, model, params))


@handler("placement")
async def _placement_job(job: JobContext) -> dict[str, Any]:
    async with job.pool.connection() as conn:
        revision, _ = await report_repository.revision_and_settings(conn, job.community_id)
        groups = await repository.all_groups(conn, job.community_id)
    model = await job.app_state.indexes.get(job.community_id, revision, fresh=True)
    # Groups or members named in the request may have gone since it was accepted.
    _check_placement_request(groups, model, job.params)
    await job.progress(0.1)
    result = await _solve(groups, model, job.params)
    async with job.pool.connection() as conn:
        return await _store(conn, job.community_id, groups, job.params, result)


async def get_placement(conn: AsyncConnection, community_id: int, placement_id: str) -> PlacementRow:
    placement = await repository.get_placement(conn, community_id, placement_id)
    if placement is None:
        raise not_found(f"placement {placement_id!r}")
    return placement


async def apply_placement(conn: AsyncConnection, community_id: int, placement_id: str) -> int:
    """Seat a proposal's assignments in the caller's transaction; returns how many.

    409 (and nothing written) when it was applied already, a group changed since it was made,
    a member in it was erased, a group would hold more members than its capacity, or two members
    it would seat in one group now block each other (``blocked_pairs`` names them).
    """
    placement = await repository.get_placement(conn, community_id, placement_id, lock=True)
    if placement is None:
        raise not_found(f"placement {placement_id!r}")
    if placement.applied_at is not None:
        raise conflict("this placement was already applied")
    assignments = [(a["group_id"], a["member_id"]) for a in placement.result["assignments"]]
    if not assignments:
        return 0
    group_ids = sorted({g for g, _ in assignments})
    await locks.seat_writes(conn, community_id)
    await repository.lock(conn, community_id, group_ids)
    current = {g.group_id: g for g in await repository.by_ids(conn, community_id, group_ids)}
    seen = placement.group_versions
    changed = [g for g in group_ids if g not in current or current[g].version != seen.get(g)]
    if changed:
        raise conflict(f"{len(changed)} group(s) changed (capacity, members or deleted) since this proposal; "
                       "propose a new placement", changed_groups=changed)
    placed = sorted({m for _, m in assignments})
    if len(await members.lock_existing(conn, community_id, placed)) < len(placed):
        raise conflict("a member in this proposal was erased since; propose a new placement")
    arriving = {g: sum(1 for group_id, _ in assignments if group_id == g) for g in group_ids}
    overfull = [g for g in group_ids if len(current[g].member_ids) + arriving[g] > current[g].capacity]
    if overfull:
        raise conflict(f"{len(overfull)} group(s) would hold more members than seats; propose a new placement",
                       changed_groups=overfull)
    blocked = await repository.blocked_seats(conn, community_id, assignments)
    if blocked:
        pairs = "; ".join(f"{b.member_id!r} and {b.other_id!r}" for b in blocked[:5])
        raise conflict(f"{len(blocked)} pair(s) this proposal would put in one group now block each other "
                       f"({pairs}); propose a new placement, which keeps them apart",
                       blocked_pairs=[{"group_id": b.group_id, "member_ids": [b.member_id, b.other_id]}
                                      for b in blocked])
    await repository.apply_assignments(conn, community_id, placement_id, assignments)
    return len(assignments)


# --- a member's own view ------------------------------------------------------------------------

@dataclass(frozen=True)
class FitInputs:
    """What the fit of some members to the groups depends on, and nothing more."""

    profiles: dict[str, MemberProfile]
    """The members' and the groups' current members' profiles (those still members)."""
    blocks: list[tuple[str, str]]
    """Every block naming one of the members."""
    degrees: dict[str, int]
    """The members' ties (members without ties are left out)."""


async def fit_inputs(
    conn: AsyncConnection, community_id: int, member_ids: list[str], groups: list[SupportGroupRow]
) -> FitInputs:
    """Read what the fit of ``member_ids`` to ``groups`` depends on, never the whole community:
    a member's own view and the dashboard's members at risk are asked for on every visit."""
    seated = {m for g in groups for m in g.member_ids}
    rows = await members.profiles(conn, community_id, sorted(seated.union(member_ids)))
    return FitInputs({row["member_id"]: profile_of(row) for row in rows},
                     await connections.blocks_naming(conn, community_id, member_ids),
                     await connections.degrees(conn, community_id, member_ids))


async def group_suggestions(conn: AsyncConnection, community_id: int, member_id: str) -> list[dict[str, Any]]:
    """Support groups this member could join, best fit first, with reasons (404 for an unknown member).

    Reads only what the fit depends on (:func:`fit_inputs`): a platform may ask on every page.
    """
    groups = await repository.all_groups(conn, community_id)
    found = await fit_inputs(conn, community_id, [member_id], groups)
    if member_id not in found.profiles:
        raise not_found(f"member {member_id!r}")
    return await asyncio.to_thread(
        suggest_groups_for_member, found.profiles[member_id], [as_support_group(g) for g in groups],
        members=list(found.profiles.values()), blocks=[frozenset(p) for p in found.blocks], degrees=found.degrees)

