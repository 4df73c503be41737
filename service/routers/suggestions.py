"""Peer suggestions and feedback (platform key)."""

from __future__ import annotations

import json
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel, Field

from belonging.matching.suggest import Suggestion, suggest_for
from belonging.service.deps import (
    KEYED_ROUTE_ERRORS,
    AutocommitConn,
    Conn,
    KnownPlatformKey,
    PlatformCommunity,
    bad_key,
)
from belonging.service.errors import ApiError, conflict, not_found, problem_response, problem_responses
from belonging.service.keys import KnownKeys
from belonging.service.params import MemberIdPath, SuggestionIdPath
from belonging.service.repository import communities, connections
from belonging.service.repository import suggestions as repository
from belonging.service.schemas import CommunitySettings, Reason, Strict
from belonging.service.shared_indexes import Missing, SharedIndexes

router = APIRouter(prefix="/v1/communities/{slug}", tags=["suggestions"], responses=KEYED_ROUTE_ERRORS)
# Ask the engine for more than the limit: candidates at their exposure cap, or who opted out,
# blocked or declined since the index was built, are dropped when the suggestions are recorded.
HEADROOM = 2
# Rankings made before the statement that records them finds them out of date, at most.
ATTEMPTS = 3


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
    member_id: MemberIdPath, request: Request, caller: KnownPlatformKey, conn: AutocommitConn,
    limit: Annotated[int, Query(ge=1, le=100)] = 10,
) -> Response:
    """People for this member to meet, best first, each with reasons they can understand."""
    known: KnownKeys = request.app.state.known_keys
    indexes: SharedIndexes = request.app.state.shared_indexes
    owner = caller.owner
    community_id = owner.community_id
    # In steady state one round trip: the member is ranked on the mapped build as this process
    # knows them, and one statement checks what the ranking assumed and records. When it finds
    # the settings or the member changed, the process learns what changed and ranks again. The
    # last attempt records without those two checks: its ranking is milliseconds old, and the
    # hard rules are checked as always.
    for attempt in range(ATTEMPTS):
        last = attempt == ATTEMPTS - 1
        settings = CommunitySettings.from_stored(owner.settings)
        if limit > settings.max_suggestions_per_request:
            # Refused by the settings this process last saw: read them before refusing.
            owner = known.resettle(owner, caller.key.key_id, await communities.settings_of(conn, community_id))
            settings = CommunitySettings.from_stored(owner.settings)
        if limit > settings.max_suggestions_per_request:
            raise ApiError(422, "Invalid input", f"limit may be at most {settings.max_suggestions_per_request} "
                           "(the community's max_suggestions_per_request setting)")
        asking = await indexes.asking(conn, community_id, member_id)
        if isinstance(asking.target, Missing):
            raise not_found(f"member {member_id!r}")
        index = asking.served.index
        ranked = suggest_for(index, asking.target, limit=limit * HEADROOM + 5, bridging_weight=settings.bridging_weight)
        outcome = await repository.record(
            conn, community_id, member_id, ranked, key_id=caller.key.key_id, secret_hash=owner.secret_hash,
            settings=None if last else owner.settings, read_at=None if last else asking.read_at, limit=limit,
            max_exposures=settings.max_exposures_per_week, model_version=index.model_version)
        if outcome.status == "ok":
            indexes.behind(community_id, outcome.revision)
            return _suggestions(member_id, ranked, outcome.recorded, index.model_version, settings)
        if outcome.status == "unauthorised":
            known.forget(owner, caller.key.key_id)
            raise bad_key()
        if outcome.status == "missing":
            raise not_found(f"member {member_id!r}")
        if outcome.status == "settings":
            assert outcome.settings is not None
            owner = known.resettle(owner, caller.key.key_id, outcome.settings)
        else:  # stale: the member changed after the process last read them
            await indexes.catch_up(conn, community_id, outcome.revision)
    raise AssertionError("the last attempt checks neither settings nor freshness")


def _suggestions(member_id: str, ranked: list[Suggestion], recorded: list[tuple[str, str]], model_version: str,
                 settings: CommunitySettings) -> Response:
    """The ``Suggestions`` body, encoded directly (the route's ``response_model`` documents it)."""
    by_id = {s.member_id: s for s in ranked}
    rows = []
    for candidate, suggestion_id in recorded:
        shown = by_id[candidate]
        rows.append({"suggestion_id": suggestion_id, "member_id": candidate, "score": round(shown.score, 4),
                     "reasons": shown.reasons, "crosses_silo": shown.crosses_silo})
    body = {"member_id": member_id, "suggestions": rows, "model_version": model_version,
            "settings": {"bridging_weight": settings.bridging_weight,
                         "max_exposures_per_week": settings.max_exposures_per_week}}
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
