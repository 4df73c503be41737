"""Dependencies declared once: the request's connection and transaction, and who is calling."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from psycopg import AsyncConnection

from belonging.service import auth
from belonging.service.errors import ApiError
from belonging.service.params import SlugPath
from belonging.service.repository import communities
from belonging.service.repository.communities import CommunityRow

_bearer = HTTPBearer(auto_error=False, description="Admin token, platform key or organiser key.")


async def _connection(request: Request) -> AsyncIterator[AsyncConnection]:
    """One connection per request; the transaction commits before the response is sent."""
    async with request.app.state.pool.connection() as conn:
        async with conn.transaction():
            yield conn


# scope="function": the commit happens before the response leaves, so an acknowledged write
# is a committed write.
Conn = Annotated[AsyncConnection, Depends(_connection, scope="function")]
Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]


def _token(credentials: HTTPAuthorizationCredentials | None) -> str:
    if credentials is None or not credentials.credentials:
        raise ApiError(401, "Unauthorised", "send 'Authorization: Bearer <key>'")
    return credentials.credentials


async def require_admin(request: Request, credentials: Credentials) -> None:
    if not auth.tokens_equal(_token(credentials), request.app.state.admin_token):
        raise ApiError(403, "Forbidden", "this route needs the admin token")


async def community_for_key(conn: AsyncConnection, slug: str, token: str, role: str) -> CommunityRow:
    """The community ``slug`` if ``token`` is one of its active ``role`` keys (one query).

    Raises 404 for an unknown community and 403 for any other key.
    """
    parsed = auth.parse_key(token)
    found = await communities.by_slug_with_key(conn, slug, parsed.key_id if parsed else "", role)
    if found is None:
        raise ApiError(404, "Not found", f"community {slug!r} does not exist")
    community, stored = found
    if parsed is None or parsed.role != role or stored is None or not auth.secret_matches(parsed.secret, stored):
        raise ApiError(403, "Forbidden", f"this route needs the {role} key of community {slug!r}")
    return community


async def _authorised(
    slug: str, conn: AsyncConnection, credentials: HTTPAuthorizationCredentials | None, role: str
) -> CommunityRow:
    return await community_for_key(conn, slug, _token(credentials), role)


async def platform_community(slug: SlugPath, conn: Conn, credentials: Credentials) -> CommunityRow:
    return await _authorised(slug, conn, credentials, "platform")


async def organiser_community(slug: SlugPath, conn: Conn, credentials: Credentials) -> CommunityRow:
    return await _authorised(slug, conn, credentials, "organiser")


AdminOnly = Depends(require_admin)
PlatformCommunity = Annotated[CommunityRow, Depends(platform_community)]
OrganiserCommunity = Annotated[CommunityRow, Depends(organiser_community)]
