"""Member profiles (platform key)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response, status

from belonging.service import imports, ndjson
from belonging.service.deps import KEYED_ROUTE_ERRORS, Conn, PlatformCommunity
from belonging.service.errors import not_found, problem_responses
from belonging.service.exclusive_operations import one_at_a_time
from belonging.service.openapi import ndjson_body
from belonging.service.params import MemberCursor, MemberIdPath, encode_cursor
from belonging.service.repository import members
from belonging.service.schemas import ImportResult, Member, MemberImportLine, MemberIn, MemberPage

router = APIRouter(prefix="/v1/communities/{slug}/members", tags=["members"], responses=KEYED_ROUTE_ERRORS)


@router.put("/{member_id}", response_model=Member, responses={201: {"model": Member}})
async def put_member(
    member_id: MemberIdPath, profile: MemberIn, community: PlatformCommunity, conn: Conn,
    response: Response,
) -> dict:
    """Create or replace a member's profile (201 created, 200 replaced)."""
    member, created = await members.upsert(conn, community.community_id, member_id, profile.model_dump())
    response.status_code = status.HTTP_201_CREATED if created else status.HTTP_200_OK
    return member


@router.get("/{member_id}", response_model=Member, responses=problem_responses(404))
async def get_member(member_id: MemberIdPath, community: PlatformCommunity, conn: Conn) -> dict:
    """A member's profile."""
    member = await members.get(conn, community.community_id, member_id)
    if member is None:
        raise not_found(f"member {member_id!r}")
    return member


@router.delete("/{member_id}", status_code=status.HTTP_204_NO_CONTENT, responses=problem_responses(404))
async def delete_member(member_id: MemberIdPath, community: PlatformCommunity, conn: Conn) -> None:
    """Erase a member with their connections, blocks, suggestions and group seats."""
    if not await members.delete(conn, community.community_id, member_id):
        raise not_found(f"member {member_id!r}")


@router.get("", response_model=MemberPage)
async def list_members(
    community: PlatformCommunity, conn: Conn,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    after: MemberCursor = None,
) -> dict:
    """Members in id order, a page at a time."""
    rows = await members.page(conn, community.community_id, limit + 1, after)
    next_cursor = encode_cursor(rows[limit - 1]["member_id"]) if len(rows) > limit else None
    return {"members": rows[:limit], "next_cursor": next_cursor}


@router.post(
    "/import", response_model=ImportResult,
    openapi_extra=ndjson_body(MemberImportLine, "One member profile with `member_id` per line."),
    responses=ndjson.IMPORT_ERRORS,
    dependencies=[one_at_a_time("import", "platform")],
)
async def import_members(request: Request, community: PlatformCommunity, conn: Conn) -> dict:
    """Create or replace members from NDJSON (one profile with `member_id` per line), all or nothing."""
    body = await ndjson.read_body(request, request.app.state.settings.max_import_bytes)
    return await imports.import_members(conn, community.community_id, body)
