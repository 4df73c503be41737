"""Support groups and placements (organiser key); a member's group suggestions (platform key)."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Request, status
from pydantic import Field, field_validator

from belonging.matching.profiles import normalise_tag, normalise_tags
from belonging.service import support_groups
from belonging.service.deps import Conn, OrganiserCommunity, PlatformCommunity
from belonging.service.errors import not_found
from belonging.service.exclusive_operations import one_at_a_time
from belonging.service.params import GroupIdPath, MemberIdPath, PlacementIdPath
from belonging.service.repository import groups as repository
from belonging.service.repository.groups import SupportGroupRow
from belonging.service.routers.jobs import job_accepted
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


def _group_out(group: SupportGroupRow) -> dict[str, Any]:
    return {**asdict(group), "members": len(group.member_ids), "seats_free": group.seats_free}


# --- groups -------------------------------------------------------------------------------------

@router.post("/groups", status_code=status.HTTP_201_CREATED)
async def create_group(body: GroupIn, community: OrganiserCommunity, conn: Conn) -> dict:
    """Create a support group."""
    return _group_out(await support_groups.create_group(conn, community.community_id, body.model_dump()))


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
    changes = body.model_dump(exclude_unset=True)
    if changes.get("language") is not None:
        changes["language"] = normalise_tag(changes["language"]) or None
    return _group_out(await support_groups.change_group(conn, community.community_id, group_id, changes))


@router.delete("/groups/{group_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_group(group_id: GroupIdPath, community: OrganiserCommunity, conn: Conn) -> None:
    """Delete a group and its memberships."""
    await support_groups.delete_group(conn, community.community_id, group_id)


@router.put("/groups/{group_id}/members/{member_id}", status_code=status.HTTP_204_NO_CONTENT)
async def add_group_member(
    group_id: GroupIdPath, member_id: MemberIdPath, community: OrganiserCommunity, conn: Conn
) -> None:
    """Add a member to a group by hand (capacity and blocks still apply)."""
    await support_groups.seat_member(conn, community.community_id, group_id, member_id)


@router.delete("/groups/{group_id}/members/{member_id}", status_code=status.HTTP_204_NO_CONTENT)
async def remove_group_member(
    group_id: GroupIdPath, member_id: MemberIdPath, community: OrganiserCommunity, conn: Conn
) -> None:
    """Take a member out of a group."""
    await support_groups.unseat_member(conn, community.community_id, group_id, member_id)


# --- placements ---------------------------------------------------------------------------------

@router.post("/placements", status_code=status.HTTP_201_CREATED, responses={
    202: {"description": f"A placement over more than {support_groups.SYNC_MAX_MEMBERS:,} members runs as a job;"
                         " poll `status_url`."}}, dependencies=[one_at_a_time("placement", "organiser")])
async def create_placement(body: PlacementIn, request: Request, community: OrganiserCommunity, conn: Conn) -> Any:
    """Propose an optimal placement of members into groups, for an organiser to review and apply."""
    outcome = await support_groups.propose(conn, request.app.state.indexes, community.community_id,
                                           community.revision, body.model_dump())
    if isinstance(outcome, support_groups.PlacementQueued):
        return job_accepted(community.slug, outcome.job_id)
    return outcome


@router.get("/placements/{placement_id}")
async def get_placement(placement_id: PlacementIdPath, community: OrganiserCommunity, conn: Conn) -> dict:
    """A stored placement proposal and whether it was applied."""
    placement = await support_groups.get_placement(conn, community.community_id, placement_id)
    return {"placement_id": placement_id, **placement.result, "applied_at": placement.applied_at}


@router.post("/placements/{placement_id}/apply")
async def apply_placement(placement_id: PlacementIdPath, community: OrganiserCommunity, conn: Conn) -> dict:
    """Apply a proposal in one transaction; 409 if groups changed since it was made."""
    applied = await support_groups.apply_placement(conn, community.community_id, placement_id)
    return {"placement_id": placement_id, "applied": applied}


# --- a member's own view ------------------------------------------------------------------------

@router.get("/members/{member_id}/groups/suggestions")
async def member_group_suggestions(
    member_id: MemberIdPath, request: Request, community: PlatformCommunity, conn: Conn,
) -> dict:
    """Support groups this member could join, best fit first, with reasons."""
    ranked = await support_groups.group_suggestions(conn, request.app.state.indexes, community.community_id,
                                                    community.revision, member_id)
    return {"member_id": member_id, "groups": ranked}
