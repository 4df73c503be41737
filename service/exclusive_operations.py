"""Expensive operations (silo report, what-if, placement, imports, rounds): one at a time per community.

A second request for the same operation in the same community, from any worker or machine, gets
429 with ``Retry-After`` while the first runs. The lock is a PostgreSQL transaction-level advisory
lock taken on the request's own connection, so it ends with the request's transaction, whether it
commits, rolls back or loses its connection.
"""

from __future__ import annotations

from typing import Any, Literal

from fastapi import Depends

from belonging.service.deps import Conn, OrganiserCommunity, PlatformCommunity
from belonging.service.errors import ApiError
from belonging.service.repository import operation_locks
from belonging.service.repository.communities import CommunityRow

#: What a client is told to wait: these operations take seconds, not minutes (larger ones run as jobs).
RETRY_AFTER_S = 5
Operation = Literal["silo_report", "what_if", "placement", "import", "round"]


async def _hold(conn: Conn, community: CommunityRow, operation: Operation) -> None:
    if not await operation_locks.try_lock(conn, operation, community.community_id):
        raise ApiError(429, "Too many requests",
                       f"another {operation.replace('_', ' ')} of this community is running; "
                       f"retry in {RETRY_AFTER_S} s", headers={"Retry-After": str(RETRY_AFTER_S)})


def one_at_a_time(operation: Operation, role: Literal["platform", "organiser"]) -> Any:
    """A route dependency: the route runs only while no other ``operation`` of its community does."""
    if role == "platform":
        async def hold_for_platform(community: PlatformCommunity, conn: Conn) -> None:
            await _hold(conn, community, operation)

        return Depends(hold_for_platform)

    async def hold_for_organiser(community: OrganiserCommunity, conn: Conn) -> None:
        await _hold(conn, community, operation)

    return Depends(hold_for_organiser)
