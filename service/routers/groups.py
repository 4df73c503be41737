"""Support groups and placements (organiser key); a member's group suggestions (platform key)."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Request, status
from pydantic import BaseModel, Field, field_validator

from belonging.matching.profiles import normalise_tag, normalise_tags
from belonging.service import support_groups
from belonging.service.deps import KEYED_ROUTE_ERRORS, Conn, OrganiserCommunity, PlatformCommunity
from belonging.service.errors import not_found, problem_response, problem_responses
from belonging.service.exclusive_operations import one_at_a_time
from belonging.service.params import GroupIdPath, MemberIdPath, PlacementIdPath
from belonging.service.repository import groups as repository
from belonging.service.repository.groups import SupportGroupRow
from belonging.service.routers.jobs import accepted_as_job, job_accepted
from belonging.service.schemas import Absent, MemberId, Reason, Strict, Text, Uuid, sometimes

router = APIRouter(prefix="/v1/communities/{slug}", tags=["groups"], responses=KEYED_ROUTE_ERRORS)
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


class SupportGroup(BaseModel):
    """A support group as organisers see it."""

    group_id: str = Field(description="The group's id.")
    name: str = Field(description="The group's name.")
    topics: list[str] = Field(description="Need tags the group serves.")
    capacity: int = Field(description="Seats.")
    format: Format = Field(description="How the group meets.")
    language: str | None = Field(description="The language the group meets in; null for any.")
    status: Literal["open", "closed"] = Field(description="Closed groups receive no placements.")
    version: int = Field(description="Moves on every change of the group or its seats.")
    member_ids: list[str] = Field(description="Members seated, in id order.")
    members: int = Field(description="How many members are seated.")
    seats_free: int = Field(description="Seats left; 0 when full (or over capacity after it was lowered).")


class SupportGroups(BaseModel):
    groups: list[SupportGroup] = Field(description="Every support group of the community.")


class Candidate(BaseModel):
    group_id: str = Field(description="A group the member was eligible for.")
    fit: float = Field(description="The member's fit in that group.")


class Assignment(BaseModel):
    member_id: str = Field(description="The member placed.")
    group_id: str = Field(description="The group they would join.")
    fit: float = Field(description="What the placement maximises for this member in this group, priority included.")
    reasons: list[Reason] = Field(description="Why this group, in plain words.")
    candidates: list[Candidate] | Absent = sometimes(
        "With `explain`: every group the member was eligible for, with its fit.")


class Unplaced(BaseModel):
    member_id: str = Field(description="A member left without a group.")
    reason: str = Field(description="Why, in plain words.")
    kind: str = Field(description="The kind of reason, nearest to a seat last: `no_need`, `no_group`, `closed`, "
                                  "`format`, `language`, `full`, `blocked`, `outcompeted`, `time_limit`.")
    candidates: list[Candidate] | Absent = sometimes(
        "With `explain`: every group the member was eligible for, with its fit.")


class ProposedGroup(BaseModel):
    """A new group an organiser could open for members no existing group could take."""

    name: str = Field(description="A suggested name.")
    topics: list[str] = Field(description="Need tags it would serve.")
    format: Format = Field(description="How it would meet.")
    language: str | None = Field(description="The language it would meet in; null for any.")
    capacity: int = Field(description="Suggested seats.")
    member_ids: list[str] = Field(description="Members who would join it.")


class SolverStats(BaseModel):
    """How the placement was found."""

    method: str = Field(description="`flow`, `lp`, `mip`, `greedy` or `none` (no eligible pair).")
    status: str = Field(description="`optimal` when the optimum is proven, else what stopped the solver.")
    mip_gap: float | None = Field(description="Proven relative gap to the best bound; 0 when optimal.")
    seconds: float = Field(description="Time for the whole placement.")
    solve_seconds: float = Field(description="Time in the solver.")
    pairs: int = Field(description="Eligible (member, group) pairs.")
    columns: int = Field(description="Pairs the solver needed as variables.")
    constraints: int = Field(description="Rows of the final model.")


class Placement(BaseModel):
    """A placement proposal for an organiser to review and apply."""

    placement_id: str = Field(description="Apply it with `POST .../placements/{placement_id}/apply`.")
    assignments: list[Assignment] = Field(description="Who joins which group.")
    unplaced: list[Unplaced] = Field(description="Members left without a group, and why.")
    proposed_groups: list[ProposedGroup] = Field(description="New groups for needs no group serves.")
    objective: float = Field(description="The sum of the chosen fits.")
    solver: SolverStats = Field(description="The method, its status and how long it took.")


class StoredPlacement(Placement):
    applied_at: datetime | None = Field(description="When it was applied; null while it is a proposal.")


class AppliedPlacement(BaseModel):
    placement_id: str = Field(description="The placement applied.")
    applied: int = Field(description="Seats filled.")


class GroupSuggestion(BaseModel):
    group_id: str = Field(description="A group the member could join.")
    fit: float = Field(description="How well it fits the member; higher is better.")
    reasons: list[Reason] = Field(description="Why, in plain words (may name the member's own private needs).")


class GroupSuggestions(BaseModel):
    member_id: str = Field(description="The member the groups are for.")
    groups: list[GroupSuggestion] = Field(description="Best fit first.")


def _group_out(group: SupportGroupRow) -> dict[str, Any]:
    return {**asdict(group), "members": len(group.member_ids), "seats_free": group.seats_free}


# --- groups -------------------------------------------------------------------------------------

@router.post("/groups", status_code=status.HTTP_201_CREATED, response_model=SupportGroup)
async def create_group(body: GroupIn, community: OrganiserCommunity, conn: Conn) -> dict:
    """Create a support group."""
    return _group_out(await support_groups.create_group(conn, community.community_id, body.model_dump()))


@router.get("/groups", response_model=SupportGroups)
async def list_groups(community: OrganiserCommunity, conn: Conn) -> dict:
    """Every support group with its members and free seats."""
    return {"groups": [_group_out(g) for g in await repository.all_groups(conn, community.community_id)]}


@router.get("/groups/{group_id}", response_model=SupportGroup, responses=problem_responses(404))
async def get_group(group_id: GroupIdPath, community: OrganiserCommunity, conn: Conn) -> dict:
    """One support group."""
    group = await repository.get(conn, community.community_id, group_id)
    if group is None:
        raise not_found(f"group {group_id!r}")
    return _group_out(group)


@router.patch("/groups/{group_id}", response_model=SupportGroup, responses=problem_responses(404))
async def patch_group(group_id: GroupIdPath, body: GroupPatch, community: OrganiserCommunity, conn: Conn) -> dict:
    """Change some of a group's fields."""
    changes = body.model_dump(exclude_unset=True)
    if changes.get("language") is not None:
        changes["language"] = normalise_tag(changes["language"]) or None
    return _group_out(await support_groups.change_group(conn, community.community_id, group_id, changes))


@router.delete("/groups/{group_id}", status_code=status.HTTP_204_NO_CONTENT, responses=problem_responses(404))
async def delete_group(group_id: GroupIdPath, community: OrganiserCommunity, conn: Conn) -> None:
    """Delete a group and its memberships."""
    await support_groups.delete_group(conn, community.community_id, group_id)


@router.put("/groups/{group_id}/members/{member_id}", status_code=status.HTTP_204_NO_CONTENT, responses={
    **problem_responses(404),
    409: problem_response(409, "The group is full, or the member has a block with one of its members.")})
async def add_group_member(
    group_id: GroupIdPath, member_id: MemberIdPath, community: OrganiserCommunity, conn: Conn
) -> None:
    """Add a member to a group by hand (capacity and blocks still apply)."""
    await support_groups.seat_member(conn, community.community_id, group_id, member_id)


@router.delete("/groups/{group_id}/members/{member_id}", status_code=status.HTTP_204_NO_CONTENT,
               responses=problem_responses(404))
async def remove_group_member(
    group_id: GroupIdPath, member_id: MemberIdPath, community: OrganiserCommunity, conn: Conn
) -> None:
    """Take a member out of a group."""
    await support_groups.unseat_member(conn, community.community_id, group_id, member_id)


# --- placements ---------------------------------------------------------------------------------

@router.post("/placements", status_code=status.HTTP_201_CREATED, response_model=Placement,
             responses=accepted_as_job(f"a placement over more than {support_groups.SYNC_MAX_MEMBERS:,} members"),
             dependencies=[one_at_a_time("placement", "organiser")])
async def create_placement(body: PlacementIn, request: Request, community: OrganiserCommunity, conn: Conn) -> Any:
    """Propose an optimal placement of members into groups, for an organiser to review and apply."""
    outcome = await support_groups.propose(conn, request.app.state.indexes, community.community_id,
                                           community.revision, body.model_dump())
    if isinstance(outcome, support_groups.PlacementQueued):
        return job_accepted(community.slug, outcome.job_id)
    return outcome


@router.get("/placements/{placement_id}", response_model=StoredPlacement, responses=problem_responses(404))
async def get_placement(placement_id: PlacementIdPath, community: OrganiserCommunity, conn: Conn) -> dict:
    """A stored placement proposal and whether it was applied."""
    placement = await support_groups.get_placement(conn, community.community_id, placement_id)
    return {"placement_id": placement_id, **placement.result, "applied_at": placement.applied_at}


@router.post("/placements/{placement_id}/apply", response_model=AppliedPlacement, responses={
    **problem_responses(404),
    409: problem_response(409, "Applied already, or since it was proposed a group changed (`changed_groups`), a "
                               "member was erased, or two members it seats together now block each other "
                               "(`blocked_pairs`); nothing was written: propose a new placement.")})
async def apply_placement(placement_id: PlacementIdPath, community: OrganiserCommunity, conn: Conn) -> dict:
    """Apply a proposal in one transaction; 409 if groups changed since it was made."""
    applied = await support_groups.apply_placement(conn, community.community_id, placement_id)
    return {"placement_id": placement_id, "applied": applied}


# --- a member's own view ------------------------------------------------------------------------

@router.get("/members/{member_id}/groups/suggestions", response_model=GroupSuggestions,
            responses=problem_responses(404))
async def get_group_suggestions(member_id: MemberIdPath, community: PlatformCommunity, conn: Conn) -> dict:
    """Support groups this member could join, best fit first, with reasons."""
    ranked = await support_groups.group_suggestions(conn, community.community_id, member_id)
    return {"member_id": member_id, "groups": ranked}
