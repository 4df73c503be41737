"""Intro rounds (organiser key); a member's pair and its outcome (platform key)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request, status
from pydantic import BaseModel, Field

from belonging.service import rounds as service
from belonging.service.deps import KEYED_ROUTE_ERRORS, Conn, OrganiserCommunity, PlatformCommunity
from belonging.service.errors import ApiError, not_found, problem_response, problem_responses
from belonging.service.exclusive_operations import one_at_a_time
from belonging.service.params import MemberIdPath, PairIdPath, RoundIdPath
from belonging.service.repository import rounds as repository
from belonging.service.routers.jobs import accepted_as_job, job_accepted
from belonging.service.schemas import CommunitySettings, MemberId, Reason, Strict

router = APIRouter(prefix="/v1/communities/{slug}", tags=["rounds"], responses=KEYED_ROUTE_ERRORS)
Outcome = Literal["met", "not_met", "skipped"]


class RoundIn(Strict):
    member_ids: list[MemberId] | None = Field(
        default=None, max_length=100_000, description="Who takes part; default: every member open to suggestions.")
    group_size: int = Field(
        default=2, ge=2, le=2, description="Members per group: 2 (one trio may absorb an odd member out).")
    avoid_repeat_rounds: int = Field(
        default=4, ge=0, le=100, description="No two members grouped in this many latest rounds meet again.")
    bridging_weight: float | None = Field(
        default=None, ge=0, le=1, description="How strongly pairs across silos are favoured; default: the "
                                              "community's bridging weight.")


class RoundPair(BaseModel):
    """Members introduced to each other."""

    pair_id: str = Field(description="Send the pair's outcome on this id.")
    member_ids: list[str] = Field(description="The members introduced, two (or three when one absorbs an odd "
                                              "member out), in id order.")
    score: float = Field(description="How good a fit, 0..1 (the mean suggestion score of its pairs).")
    reasons: dict[str, list[Reason]] = Field(
        description="For each member, why they would get on with the others, in plain words.")
    intro: str = Field(description="One introduction text the platform can send to all of them.")
    outcome: Outcome | None = Field(description="What the members answered; null until they did.")


class UnpairedMember(BaseModel):
    member_id: str = Field(description="A member asked to take part who is in no pair.")
    reason: str = Field(description="Why, in plain words.")


class RoundOut(BaseModel):
    """An intro round: who meets whom, who was left out and why."""

    round_id: str = Field(description="The round's id.")
    created_at: datetime = Field(description="When the round was made.")
    group_size: int = Field(description="Members per group.")
    avoid_repeat_rounds: int = Field(description="How many latest rounds' pairs were not repeated.")
    bridging_weight: float = Field(description="The bridging weight the round was made with.")
    pairs: list[RoundPair] = Field(description="Who meets whom, best first.")
    unpaired: list[UnpairedMember] = Field(description="Members asked to take part who are in no pair, with why.")
    objective: float = Field(description="What the round maximised: the sum of the pairs' scores, weighted up "
                                         "for isolated and new members.")
    bound: float = Field(description="No round over the same candidates can reach more than this objective.")


class Rounds(BaseModel):
    rounds: list[RoundOut] = Field(description="Newest first.")


class MemberRound(BaseModel):
    """A member's pair in the latest round that includes them."""

    round_id: str = Field(description="The round.")
    created_at: datetime = Field(description="When the round was made.")
    pair_id: str = Field(description="Send the pair's outcome on this id.")
    member_ids: list[str] = Field(description="Everyone in the pair, the member included, in id order.")
    score: float = Field(description="How good a fit, 0..1.")
    reasons: list[Reason] = Field(description="Why the member would get on with the others, in plain words.")
    intro: str = Field(description="The introduction text for the pair.")
    outcome: Outcome | None = Field(description="What the members answered; null until they did.")


class OutcomeIn(Strict):
    outcome: Outcome


class PairOutcome(BaseModel):
    pair_id: str = Field(description="The pair the outcome is on.")
    outcome: Outcome = Field(description="The outcome recorded.")
    connection_created: bool = Field(description="Whether this answer created or strengthened the pair's ties.")


@router.post("/rounds", status_code=status.HTTP_201_CREATED, response_model=RoundOut,
             responses=accepted_as_job(f"a round over more than {service.SYNC_MAX_MEMBERS:,} members"),
             dependencies=[one_at_a_time("round", "organiser")])
async def create_round(body: RoundIn, request: Request, community: OrganiserCommunity, conn: Conn) -> Any:
    """Introduce members to each other, the isolated and new first, respecting every boundary."""
    bridging = body.bridging_weight
    if bridging is None:
        bridging = CommunitySettings.from_stored(community.settings).bridging_weight
    asked = service.RoundRequest(body.member_ids, body.group_size, body.avoid_repeat_rounds, bridging)
    stored = await service.create_round(conn, request.app.state.indexes, community.community_id,
                                        community.revision, asked)
    if isinstance(stored, service.RoundQueued):
        return job_accepted(community.slug, stored.job_id)
    return service.round_out(stored)


@router.get("/rounds", response_model=Rounds)
async def list_rounds(
    community: OrganiserCommunity, conn: Conn,
    limit: Annotated[int, Query(ge=1, le=100, description="At most this many rounds.")] = 20,
) -> dict:
    """The latest rounds, newest first."""
    return {"rounds": [service.round_out(r) for r in await repository.newest(conn, community.community_id, limit)]}


@router.get("/rounds/{round_id}", response_model=RoundOut, responses=problem_responses(404))
async def get_round(round_id: RoundIdPath, community: OrganiserCommunity, conn: Conn) -> dict:
    """One round, with each pair's outcome so far."""
    stored = await repository.get(conn, community.community_id, round_id)
    if stored is None:
        raise not_found(f"round {round_id!r}")
    return service.round_out(stored)


@router.get("/members/{member_id}/rounds/current", response_model=MemberRound, responses={
    404: problem_response(404, "No round took the member in, or the latest that did left them out (`detail` "
                               "says why).")})
async def get_current_round(member_id: MemberIdPath, community: PlatformCommunity, conn: Conn) -> dict[str, Any]:
    """The member's pair in the latest round that takes them in; 404 if none has, or if they were left out of it."""
    pair = await repository.current_pair(conn, community.community_id, member_id)
    if pair is None:
        raise not_found(f"a round with member {member_id!r}")
    if isinstance(pair, str):
        raise ApiError(404, "Not found", f"member {member_id!r} is in no pair of the latest round that took them "
                                         f"in: {pair}")
    return {"round_id": pair.round_id, "created_at": pair.created_at, "pair_id": pair.pair_id,
            "member_ids": pair.member_ids, "score": pair.score, "reasons": pair.reasons.get(member_id, []),
            "intro": pair.intro, "outcome": pair.outcome}


@router.post("/rounds/{round_id}/pairs/{pair_id}/outcome", response_model=PairOutcome, responses={
    **problem_responses(404),
    409: problem_response(409, "The pair's outcome was given already, with another answer.")})
async def send_pair_outcome(
    round_id: RoundIdPath, pair_id: PairIdPath, body: OutcomeIn, community: PlatformCommunity, conn: Conn,
) -> dict:
    """Record whether the pair met (creates or strengthens their ties), did not meet, or skipped the round."""
    created = await service.record_outcome(conn, community.community_id, round_id, pair_id, body.outcome)
    return {"pair_id": pair_id, "outcome": body.outcome, "connection_created": created}
