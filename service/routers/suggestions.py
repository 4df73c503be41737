"""Peer suggestions and feedback (platform key)."""

from __future__ import annotations

import json
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel, Field

from belonging.service import suggestions
from belonging.service.deps import (
    KEYED_ROUTE_ERRORS,
    Conn,
    KnownPlatformKey,
    PlatformCommunity,
    autocommit_connection,
    bad_key,
)
from belonging.service.errors import conflict, not_found, problem_response, problem_responses
from belonging.service.params import MemberIdPath, SuggestionIdPath
from belonging.service.repository import connections
from belonging.service.repository import suggestions as repository
from belonging.service.schemas import Reason, Strict

router = APIRouter(prefix="/v1/communities/{slug}", tags=["suggestions"], responses=KEYED_ROUTE_ERRORS)


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
    member_id: MemberIdPath, request: Request, caller: KnownPlatformKey,
    limit: Annotated[int, Query(ge=1, le=100)] = 10,
) -> Response:
    """People for this member to meet, best first, each with reasons they can understand."""
    try:
        async with autocommit_connection(request) as conn:
            shown = await suggestions.suggest(conn, request.app.state.known_keys, request.app.state.shared_indexes,
                                              caller.key.key_id, caller.owner, member_id, limit)
    except suggestions.RefusedKey:
        raise bad_key() from None
    rows = [{"suggestion_id": suggestion_id, "member_id": s.member_id, "score": round(s.score, 4),
             "reasons": s.reasons, "crosses_silo": s.crosses_silo} for s, suggestion_id in shown.suggestions]
    body = {"member_id": member_id, "suggestions": rows, "model_version": shown.model_version,
            "settings": {"bridging_weight": shown.settings.bridging_weight,
                         "max_exposures_per_week": shown.settings.max_exposures_per_week}}
    # Encoded here, once: the route's ``response_model`` documents the body.
    return Response(json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode(),
                    media_type="application/json")


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
