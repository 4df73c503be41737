"""Support groups and placements (organiser key); a member's group suggestions (platform key)."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Request, status
from pydantic import Field, field_validator

from belonging.matching.groups import SupportGroup
from belonging.matching.placement import PlacementOptions, propose_placement, suggest_groups_for_member
from belonging.matching.profiles import normalise_tag, normalise_tags
from belonging.service.deps import Conn, OrganiserCommunity, PlatformCommunity
from belonging.service.errors import ApiError, conflict, not_found
from belonging.service.indexes import CommunityModel
from belonging.service.params import GroupIdPath, MemberIdPath, PlacementIdPath
from belonging.service.repository import connections, members
from belonging.service.repository import groups as repository
from belonging.service.schemas import MemberId, Strict, Text, Uuid

router = APIRouter(prefix="/v1/communities/{slug}", tags=["groups"])
Format = Literal["online", "in_person"]


def _topics(values: list[str]) -> list[str]:
    topics = normalise_tags(values)
    if not topics:
        raise ValueError("give at least one topic (the need tags the group serves)")
    if len(topics) > 20 or any(len(t) > 64 for t in topics):
        raise ValueError("at most 20 topics of at most 64 characters")
    return topics


class GroupIn(Strict):
    name: Annotated[Text, Field(min_length=1, max_length=200)]
    topics: list[Text] = Field(description="Need tags the group serves.")
    capacity: int = Field(ge=1, le=10_000, description="Seats, at least 1.")
    format: Format
    language: Annotated[Text, Field(max_length=16)] | None = None
    status: Literal["open", "closed"] = "open"

    _normalise_topics = field_validator("topics")(_topics)

    @field_validator("language")
    @classmethod
    def _language(cls, value: str | None) -> str | None:
        return normalise_tag(value) or None if value is not None else None


class GroupPatch(Strict):
    name: Annotated[Text, Field(min_length=1, max_length=200)] | None = None
    topics: list[Text] | None = None
    capacity: int | None = Field(default=None, ge=1, le=10_000)
    format: Format | None = None
    language: Annotated[Text, Field(max_length=16)] | None = None
    status: Literal["open", "closed"] | None = None

    @field_validator("topics")
    @classmethod
    def _normalise_topics(cls, value: list[str] | None) -> list[str] | None:
        return None if value is None else _topics(value)


class PlacementIn(Strict):
    member_ids: list[MemberId] | None = Field(
        default=None, max_length=100_000, description="Members to place; default: everyone with an unserved need.")
    group_ids: list[Uuid] | None = Field(
        default=None, max_length=10_000, description="Groups that may receive members; default: all open groups.")
    explain: bool = Field(default=False, description="List every eligible group and its fit per assignment.")
    spread_attribute: Text | None = Field(default=None, description="Spread this attribute's values across groups.")
    avoid_lone_attribute: Text | None = Field(
        default=None, description="Avoid leaving a member as the only one of their value in a group.")
    max_new_groups_per_member: int = Field(default=1, ge=1, le=10)
    target_group_size: int = Field(default=8, ge=2, le=1000, description="Size of proposed new groups.")
    time_limit_s: float = Field(default=10.0, gt=0, le=120)


def _group_out(row: dict[str, Any]) -> dict[str, Any]:
    return {**row, "members": len(row["member_ids"]), "seats_free": max(0, row["capacity"] - len(row["member_ids"]))}


def _support_group(row: dict[str, Any]) -> SupportGroup:
    return SupportGroup(group_id=row["group_id"], name=row["name"], topics=tuple(row["topics"]),
                        capacity=max(row["capacity"], len(row["member_ids"])), format=row["format"],
                        language=row["language"], member_ids=tuple(row["member_ids"]), status=row["status"])


async def _model(request: Request, community_id: int, revision: int) -> CommunityModel:
    return await request.app.state.indexes.get(community_id, revision, fresh=True)


def _degrees(model: CommunityModel) -> dict[str, int]:
    return dict(zip(model.graph.member_ids, model.graph.degrees().tolist(), strict=True))


# --- groups -------------------------------------------------------------------------------------

@router.post("/groups", status_code=status.HTTP_201_CREATED)
async def create_group(body: GroupIn, community: OrganiserCommunity, conn: Conn) -> dict:
    """Create a support group."""
    return _group_out(await repository.create(conn, community.community_id, body.model_dump()))


@router.get("/groups")
async def list_groups(community: OrganiserCommunity, conn: Conn) -> dict:
    """Every support group with its members and free seats."""
    return {"groups": [_group_out(g) for g in await repository.all_groups(conn, community.community_id)]}


@router.get("/groups/{group_id}")
async def get_group(group_id: GroupIdPath, community: OrganiserCommunity, conn: Conn) -> dict:
    """One support group."""
    group = await repository.get(conn, community.community_id, group_id)
    if group is None:
        raise not_found(f"group {group_id!r}")
    return _group_out(group)


@router.patch("/groups/{group_id}")
async def patch_group(group_id: GroupIdPath, body: GroupPatch, community: OrganiserCommunity, conn: Conn) -> dict:
    """Change some of a group's fields."""
    group = await repository.get(conn, community.community_id, group_id, lock=True)
    if group is None:
        raise not_found(f"group {group_id!r}")
    changes = body.model_dump(exclude_unset=True)
    if "language" in changes and changes["language"] is not None:
        changes["language"] = normalise_tag(changes["language"]) or None
    for field in ("name", "topics", "capacity", "format", "status"):
        if field in changes and changes[field] is None:
            raise ApiError(422, "Invalid input", f"{field} cannot be null")
    if changes.get("capacity") is not None and changes["capacity"] < len(group["member_ids"]):
        raise ApiError(422, "Invalid input", f"capacity {changes['capacity']} is below the "
                       f"{len(group['member_ids'])} members already in the group; remove members first")
    if changes:
        await repository.update(conn, community.community_id, group_id, changes)
    updated = await repository.get(conn, community.community_id, group_id)
    assert updated is not None
    return _group_out(updated)


@router.delete("/groups/{group_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_group(group_id: GroupIdPath, community: OrganiserCommunity, conn: Conn) -> None:
    """Delete a group and its memberships."""
    if not await repository.delete(conn, community.community_id, group_id):
        raise not_found(f"group {group_id!r}")


@router.put("/groups/{group_id}/members/{member_id}", status_code=status.HTTP_204_NO_CONTENT)
async def add_group_member(
    group_id: GroupIdPath, member_id: MemberIdPath, community: OrganiserCommunity, conn: Conn
) -> None:
    """Add a member to a group by hand (capacity and blocks still apply)."""
    group = await repository.get(conn, community.community_id, group_id, lock=True)
    if group is None:
        raise not_found(f"group {group_id!r}")
    if not await members.exists(conn, community.community_id, [member_id]):
        raise not_found(f"member {member_id!r}")
    if member_id in group["member_ids"]:
        return
    if len(group["member_ids"]) >= group["capacity"]:
        raise conflict(f"the group is full ({group['capacity']} seats); raise its capacity first")
    blocked = await connections.blocked_with(conn, community.community_id, member_id, group["member_ids"])
    if blocked:
        raise conflict(f"{member_id!r} has a block with {len(blocked)} member(s) of this group")
    await repository.add_member(conn, community.community_id, group_id, member_id)


@router.delete("/groups/{group_id}/members/{member_id}", status_code=status.HTTP_204_NO_CONTENT)
async def remove_group_member(
    group_id: GroupIdPath, member_id: MemberIdPath, community: OrganiserCommunity, conn: Conn
) -> None:
    """Take a member out of a group."""
    if not await repository.remove_member(conn, community.community_id, group_id, member_id):
        raise not_found(f"member {member_id!r} in group {group_id!r}")


# --- placements ---------------------------------------------------------------------------------

@router.post("/placements", status_code=status.HTTP_201_CREATED)
async def create_placement(body: PlacementIn, request: Request, community: OrganiserCommunity, conn: Conn) -> dict:
    """Propose an optimal placement of members into groups, for an organiser to review and apply."""
    rows = await repository.all_groups(conn, community.community_id)
    known_groups = {g["group_id"] for g in rows}
    unknown_groups = [g for g in body.group_ids or [] if g not in known_groups]
    if unknown_groups:
        raise ApiError(422, "Invalid input", f"group {unknown_groups[0]!r} does not exist")
    model = await _model(request, community.community_id, community.revision)
    unknown_members = [m for m in body.member_ids or [] if m not in model.graph.position]
    if unknown_members:
        raise ApiError(422, "Invalid input", f"member {unknown_members[0]!r} does not exist")
    for attribute in (body.spread_attribute, body.avoid_lone_attribute):
        if attribute is not None and attribute not in model.graph.attributes:
            raise ApiError(422, "Invalid input", f"unknown attribute {attribute!r}; known: "
                           + (", ".join(sorted(model.graph.attributes)) or "none yet"))
    options = PlacementOptions(
        max_new_groups_per_member=body.max_new_groups_per_member, spread_attribute=body.spread_attribute,
        avoid_lone_attribute=body.avoid_lone_attribute, target_group_size=body.target_group_size,
        min_new_group_size=min(3, body.target_group_size), time_limit_s=body.time_limit_s, explain=body.explain,
    )

    def solve() -> dict[str, Any]:
        placement = propose_placement(
            model.profiles, [_support_group(g) for g in rows], blocks=[frozenset(p) for p in model.source.blocks],
            degrees=_degrees(model), member_ids=body.member_ids, group_ids=body.group_ids, options=options)
        return placement.to_dict()

    result = await asyncio.to_thread(solve)
    versions = {g["group_id"]: g["version"] for g in rows}
    placement_id = await repository.store_placement(conn, community.community_id, body.model_dump(), result,
                                                    versions)
    return {"placement_id": placement_id, **result}


@router.get("/placements/{placement_id}")
async def get_placement(placement_id: PlacementIdPath, community: OrganiserCommunity, conn: Conn) -> dict:
    """A stored placement proposal and whether it was applied."""
    placement = await repository.get_placement(conn, community.community_id, placement_id)
    if placement is None:
        raise not_found(f"placement {placement_id!r}")
    return {"placement_id": placement_id, **placement["result"], "applied_at": placement["applied_at"]}


@router.post("/placements/{placement_id}/apply")
async def apply_placement(placement_id: PlacementIdPath, community: OrganiserCommunity, conn: Conn) -> dict:
    """Apply a proposal in one transaction; 409 if groups changed since it was made."""
    placement = await repository.get_placement(conn, community.community_id, placement_id, lock=True)
    if placement is None:
        raise not_found(f"placement {placement_id!r}")
    if placement["applied_at"] is not None:
        raise conflict("this placement was already applied")
    assignments = [(a["group_id"], a["member_id"]) for a in placement["result"]["assignments"]]
    group_ids = sorted({g for g, _ in assignments})
    current = await repository.lock_versions(conn, community.community_id, group_ids)
    seen = placement["group_versions"]
    changed = [g for g in group_ids if current.get(g) != seen.get(g)]
    if changed:
        raise conflict(f"{len(changed)} group(s) changed (capacity, members or deleted) since this proposal; "
                       "propose a new placement", changed_groups=changed)
    present = await members.exists(conn, community.community_id, [m for _, m in assignments])
    if len(present) < len({m for _, m in assignments}):
        raise conflict("a member in this proposal was erased since; propose a new placement")
    if assignments:
        await repository.apply_assignments(conn, community.community_id, placement_id, assignments)
    return {"placement_id": placement_id, "applied": len(assignments)}


# --- a member's own view ------------------------------------------------------------------------

@router.get("/members/{member_id}/groups/suggestions")
async def member_group_suggestions(
    member_id: MemberIdPath, request: Request, community: PlatformCommunity, conn: Conn,
) -> dict:
    """Support groups this member could join, best fit first, with reasons."""
    rows = await repository.all_groups(conn, community.community_id)
    model = await _model(request, community.community_id, community.revision)
    if member_id not in model.graph.position:
        raise not_found(f"member {member_id!r}")
    member = model.profiles[model.graph.position[member_id]]
    ranked = await asyncio.to_thread(
        suggest_groups_for_member, member, [_support_group(g) for g in rows], members=model.profiles,
        blocks=[frozenset(p) for p in model.source.blocks], degrees=_degrees(model))
    return {"member_id": member_id, "groups": ranked}
