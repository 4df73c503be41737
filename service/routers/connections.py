"""Connections between members and blocks (platform key)."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response, status

from belonging.service import imports, ndjson, support_groups
from belonging.service.deps import KEYED_ROUTE_ERRORS, Conn, PlatformCommunity
from belonging.service.errors import ApiError, invalid, not_found, problem_responses
from belonging.service.exclusive_operations import one_at_a_time
from belonging.service.openapi import ndjson_body
from belonging.service.params import MemberIdPath
from belonging.service.repository import connections, members
from belonging.service.schemas import (
    Connection,
    ConnectionIn,
    ImportResult,
    MemberConnections,
)

router = APIRouter(prefix="/v1/communities/{slug}", tags=["connections"], responses=KEYED_ROUTE_ERRORS)


async def _require_members(conn: Conn, community_id: int, *member_ids: str) -> None:
    found = await members.exists(conn, community_id, member_ids)
    missing = [m for m in member_ids if m not in found]
    if missing:
        raise ApiError(404, "Not found", f"member {missing[0]!r} does not exist; PUT the member first")


def _not_self(a: str, b: str, what: str) -> None:
    if a == b:
        raise invalid(f"a member cannot {what} themself; give two different member ids")


@router.put("/connections", response_model=Connection,
            responses={201: {"model": Connection, "description": "The tie is new."}, **problem_responses(404)})
async def put_connection(
    tie: ConnectionIn, community: PlatformCommunity, conn: Conn, response: Response
) -> dict:
    """Create or replace the undirected tie between `a` and `b` (idempotent)."""
    _not_self(tie.a, tie.b, "be connected to")
    await _require_members(conn, community.community_id, tie.a, tie.b)
    created = await connections.upsert(conn, community.community_id, tie.a, tie.b, tie.weight, tie.kind)
    response.status_code = status.HTTP_201_CREATED if created else status.HTTP_200_OK
    return tie.model_dump()


@router.delete("/connections/{a}/{b}", status_code=status.HTTP_204_NO_CONTENT,
               responses=problem_responses(404))
async def delete_connection(a: MemberIdPath, b: MemberIdPath, community: PlatformCommunity, conn: Conn) -> None:
    """Remove the tie between `a` and `b` (either order)."""
    if not await connections.delete(conn, community.community_id, a, b):
        raise not_found(f"a connection between {a!r} and {b!r}")


@router.get("/members/{member_id}/connections", response_model=MemberConnections,
            responses=problem_responses(404))
async def list_connections(member_id: MemberIdPath, community: PlatformCommunity, conn: Conn) -> dict:
    """The member's ties: the other member, weight and kind."""
    await _require_members(conn, community.community_id, member_id)
    ties = await connections.of_member(conn, community.community_id, member_id)
    return {"member_id": member_id, "connections": ties}


@router.post(
    "/connections/import", response_model=ImportResult,
    openapi_extra=ndjson_body(ConnectionIn, "One tie `{\"a\", \"b\", \"weight\"?, \"kind\"?}` per line."),
    responses=ndjson.IMPORT_ERRORS,
    dependencies=[one_at_a_time("import", "platform")],
)
async def import_connections(request: Request, community: PlatformCommunity, conn: Conn) -> dict:
    """Create or replace ties from NDJSON (`{"a", "b", "weight"?, "kind"?}` per line), all or nothing."""
    body = await ndjson.read_body(request, request.app.state.settings.max_import_bytes)
    return await imports.import_connections(conn, community.community_id, body)


@router.put("/members/{member_id}/blocks/{other_id}", status_code=status.HTTP_204_NO_CONTENT,
            responses=problem_responses(404))
async def put_block(
    member_id: MemberIdPath, other_id: MemberIdPath, community: PlatformCommunity, conn: Conn
) -> None:
    """`member_id` never wants to be suggested to, or grouped with, `other_id` (works both ways).

    When the two already share support groups, `other_id` leaves them.
    """
    _not_self(member_id, other_id, "block")
    await _require_members(conn, community.community_id, member_id, other_id)
    await support_groups.record_block(conn, community.community_id, member_id, other_id)


@router.delete("/members/{member_id}/blocks/{other_id}", status_code=status.HTTP_204_NO_CONTENT,
               responses=problem_responses(404))
async def delete_block(
    member_id: MemberIdPath, other_id: MemberIdPath, community: PlatformCommunity, conn: Conn
) -> None:
    """Lift a block that `member_id` set on `other_id`."""
    if not await connections.unblock(conn, community.community_id, member_id, other_id):
        raise not_found(f"a block by {member_id!r} on {other_id!r}")
