"""A community's keys: rotate one with a grace period, list them (organiser key or admin token)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from fastapi import APIRouter, status
from pydantic import BaseModel, Field

from belonging.service import keys
from belonging.service.deps import KEYED_ROUTE_ERRORS, Conn, OrganiserOrAdminCommunity
from belonging.service.errors import problem_responses
from belonging.service.repository import api_keys
from belonging.service.schemas import Strict

router = APIRouter(prefix="/v1/communities/{slug}/keys", tags=["keys"], responses=KEYED_ROUTE_ERRORS)


class KeyRotationIn(Strict):
    role: Literal["platform", "organiser"] = Field(description="Which of the community's keys to replace.")
    grace_seconds: int = Field(
        0, ge=0, le=keys.MAX_GRACE_SECONDS,
        description="How long the previous key keeps working (at most a week); 0 stops it now.")


class KeyRotated(BaseModel):
    role: Literal["platform", "organiser"] = Field(description="Which key was replaced.")
    key: str = Field(description="The new key. Shown this once; stored hashed.")
    previous_key_valid_until: datetime = Field(
        description="When the previous key (and any dashboard session opened with it) stops working.")


class ApiKey(BaseModel):
    key_id: str = Field(description="The key's public id (the part after its role letter); never its secret.")
    role: Literal["platform", "organiser"] = Field(description="What the key opens: the platform or the organiser API.")
    created_at: datetime = Field(description="When the key was made.")
    last_used_at: datetime | None = Field(description="Recorded at most about once a minute.")
    revoked_at: datetime | None = Field(
        description="When the key stopped (or, in its grace period, will stop) working; null while current.")
    active: bool = Field(description="Whether the key opens the API now.")


class ApiKeyList(BaseModel):
    keys: list[ApiKey] = Field(description="Every key of the community, newest first.")


@router.post("/rotate", status_code=status.HTTP_201_CREATED, response_model=KeyRotated, responses={
    201: {"description": "The new key, shown once."}, **problem_responses(404)})
async def rotate_key(body: KeyRotationIn, community: OrganiserOrAdminCommunity, conn: Conn) -> KeyRotated:
    """Replace the platform or organiser key; the previous one works until the grace period ends."""
    rotated = await keys.rotate(conn, community.community_id, body.role, body.grace_seconds)
    return KeyRotated(role=body.role, key=rotated.key,
                      previous_key_valid_until=rotated.previous_key_valid_until)


@router.get("", response_model=ApiKeyList, responses={
    200: {"description": "Every key of the community, newest first."}, **problem_responses(404)})
async def list_keys(community: OrganiserOrAdminCommunity, conn: Conn) -> ApiKeyList:
    """The community's keys: id, role, when created, last used and revoked; never secrets."""
    rows = await api_keys.list_keys(conn, community.community_id)
    return ApiKeyList(keys=[ApiKey.model_validate(row, from_attributes=True) for row in rows])
