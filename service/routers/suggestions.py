"""Peer suggestions and feedback (platform key)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field

from belonging.matching.suggest import suggest_for
from belonging.service.deps import (
    KEYED_ROUTE_ERRORS,
    AutocommitConn,
    Conn,
    PlatformCommunity,
    PlatformCommunityAutocommit,
)
from belonging.service.errors import ApiError, conflict, not_found, problem_response, problem_responses
from belonging.service.params import MemberIdPath, SuggestionIdPath
from belonging.service.repository import changes, connections
from belonging.service.repository import suggestions as repository
from belonging.service.schemas import CommunitySettings, Reason, Strict
from belonging.service.shared_indexes import MISSING, Missing, SharedIndexes

router = APIRouter(prefix="/v1/communities/{slug}", tags=["suggestions"], responses=KEYED_ROUTE_ERRORS)
# Ask the engine for more than the limit: candidates at their exposure cap, or who opted out,
# blocked or declined since the index was built, are dropped when the suggestions are recorded.
HEADROOM = 2


class SuggestionOut(BaseModel):
    """A person to meet, with the reasons to show the member."""

    suggestion_id: str = Field(description="Send feedback on this id.")
    member_id: str = Field(description="The member suggested.")
    score: float = Field(description="How good a fit, for ordering; higher is better.")
    reasons: list[Reason] = Field(description="Why, in plain words.")
    crosses_silo: bool = Field(description="The two are in parts of the community with no ties between them yet.")


class SuggestionSettings(BaseModel):
    bridging_weight: float = Field(description="The community's bridging weight.")
    max_exposures_per_week: int = Field(description="How often one member may be proposed to others in a week.")


class Suggestions(BaseModel):
    member_id: str = Field(description="The member the suggestions are for.")
    suggestions: list[SuggestionOut] = Field(description="Best first; fewer than `limit` when fewer fit.")
    model_version: str = Field(description="The ranking model that made them.")
    settings: SuggestionSettings = Field(description="The settings these suggestions were made with.")


class FeedbackIn(Strict):
    outcome: Literal["accepted", "declined"]


class Feedback(BaseModel):
    suggestion_id: str = Field(description="The suggestion the feedback is on.")
    outcome: Literal["accepted", "declined"] = Field(description="The outcome recorded.")
    connection_created: bool = Field(description="Whether this feedback created the connection.")


@router.get("/members/{member_id}/suggestions", response_model=Suggestions, responses=problem_responses(404))
async def get_suggestions(
    member_id: MemberIdPath, request: Request, community: PlatformCommunityAutocommit, conn: AutocommitConn,
    limit: Annotated[int, Query(ge=1, le=100)] = 10,
) -> dict:
    """People for this member to meet, best first, each with reasons they can understand."""
    settings = CommunitySettings.from_stored(community.settings)
    if limit > settings.max_suggestions_per_request:
        raise ApiError(422, "Invalid input", f"limit may be at most {settings.max_suggestions_per_request} "
                       "(the community's max_suggestions_per_request setting)")
    indexes: SharedIndexes = request.app.state.shared_indexes
    served = await indexes.serve(conn, community.community_id, community.revision)
    target = indexes.target(served, member_id)
    if target is None:
        # More changed since the build than the overlay holds: read this member on their own.
        row = await changes.member_now(conn, community.community_id, member_id)
        target = MISSING if row is None else indexes.target_from_row(served, row)
    if isinstance(target, Missing):
        raise not_found(f"member {member_id!r}")
    index = served.index
    proposed = suggest_for(index, target, limit=limit * HEADROOM + 5, bridging_weight=settings.bridging_weight)
    ranked = [{"member_id": s.member_id, "score": round(float(s.score), 4), "reasons": s.reasons,
               "crosses_silo": bool(s.crosses_silo)} for s in proposed]
    outcome = await repository.propose(conn, community.community_id, member_id, ranked, limit=limit,
                                       max_exposures=settings.max_exposures_per_week,
                                       model_version=index.model_version)
    if not outcome.member_exists:
        raise not_found(f"member {member_id!r}")
    by_id = {r["member_id"]: r for r in ranked}
    rows = [by_id[candidate] | {"suggestion_id": suggestion_id} for candidate, suggestion_id in outcome.recorded]
    return {"member_id": member_id, "suggestions": rows, "model_version": index.model_version,
            "settings": {"bridging_weight": settings.bridging_weight,
                         "max_exposures_per_week": settings.max_exposures_per_week}}


@router.post("/suggestions/{suggestion_id}/feedback", response_model=Feedback, responses={
    **problem_responses(404),
    409: problem_response(409, "Feedback was given already with the other outcome, or (accepting) one of the "
                               "two members has since blocked the other.")})
async def send_feedback(
    suggestion_id: SuggestionIdPath, body: FeedbackIn,
    community: PlatformCommunity, conn: Conn,
) -> dict:
    """Record whether the member accepted (creates the connection) or declined (never proposed again)."""
    suggestion = await repository.get(conn, community.community_id, suggestion_id)
    if suggestion is None:
        raise not_found(f"suggestion {suggestion_id!r}")
    if suggestion["outcome"] is not None and suggestion["outcome"] != body.outcome:
        raise conflict(f"this suggestion was already {suggestion['outcome']}; feedback cannot be changed")
    created = False
    if suggestion["outcome"] is None:
        a, b = suggestion["member_id"], suggestion["candidate_id"]
        if body.outcome == "accepted":
            if await connections.blocked_with(conn, community.community_id, a, [b]):
                raise conflict("one of the two members has since blocked the other; no connection was made")
            await connections.strengthen(conn, community.community_id, a, b, 1.0, "suggested")
            created = True
        await repository.record_outcome(conn, community.community_id, suggestion_id, body.outcome)
    return {"suggestion_id": suggestion_id, "outcome": body.outcome, "connection_created": created}
