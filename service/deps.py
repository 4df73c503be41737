"""Dependencies declared once: the request's connection and transaction, and who is calling."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from psycopg import AsyncConnection

from belonging.service import auth, rate_limits
from belonging.service.errors import ApiError, problem_response, problem_responses
from belonging.service.keys import KnownKeys
from belonging.service.params import SlugPath
from belonging.service.repository import communities
from belonging.service.repository.communities import CommunityRow, StoredKey

_bearer = HTTPBearer(auto_error=False, description="Admin token, platform key or organiser key.")


async def _connection(request: Request) -> AsyncIterator[AsyncConnection]:
    """One connection per request; the transaction commits before the response is sent."""
    async with request.app.state.pool.connection() as conn:
        async with conn.transaction():
            yield conn


@asynccontextmanager
async def autocommit_connection(request: Request) -> AsyncIterator[AsyncConnection]:
    """A pooled connection in autocommit for the block: each statement commits by itself.

    For the hot path that writes in one statement of its own (suggestions): no transaction is
    left open across the request, and locks live only as long as that statement. Opened by the
    route itself rather than as a dependency, whose machinery costs that route about half a
    millisecond a request.
    """
    async with request.app.state.pool.connection() as conn:
        await conn.set_autocommit(True)
        try:
            yield conn
        finally:
            if not conn.broken:  # a broken connection is dropped by the pool, as it is
                await conn.set_autocommit(False)


# scope="function": the commit happens before the response leaves, so an acknowledged write
# is a committed write.
Conn = Annotated[AsyncConnection, Depends(_connection, scope="function")]
Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]


def bad_key() -> ApiError:
    return ApiError(401, "Unauthorised", "send a valid key as 'Authorization: Bearer <key>'")


def _token(credentials: HTTPAuthorizationCredentials | None) -> str:
    if credentials is None or not credentials.credentials:
        raise bad_key()
    return credentials.credentials


async def require_admin(request: Request, credentials: Credentials) -> None:
    if not auth.tokens_equal(_token(credentials), request.app.state.admin_token):
        raise ApiError(403, "Forbidden", "this route needs the admin token")


async def community_for_key(
    conn: AsyncConnection, slug: str, token: str, role: str, *, admin_token: str | None = None
) -> CommunityRow:
    """The community ``slug`` if ``token`` is one of its active ``role`` keys, with its current revision.

    One query finds the key and its community (small tables, on Citus a copy on every node), one
    more reads the revision on the community's own shard.
    """
    owner = await key_owner(conn, slug, token, role, admin_token=admin_token)
    return await owner.community(conn)


async def key_owner(
    conn: AsyncConnection, slug: str, token: str, role: str, *, admin_token: str | None = None
) -> StoredKey:
    """The active ``role`` key ``token`` is, if it opens community ``slug``; one query.

    The key is checked first, by its own id, and the slug only after: a missing, malformed,
    unknown, revoked or wrong key gets 401, and a valid key that does not open this community in
    this role (another community's key, the other role, the admin token) gets 403. Neither
    answer depends on whether ``slug`` exists, so slugs cannot be enumerated.
    """
    parsed = auth.parse_key(token)
    if parsed is None:
        if admin_token is not None and auth.tokens_equal(token, admin_token):
            raise _forbidden(slug, role)
        raise bad_key()
    stored = await communities.active_keys(conn, parsed.key_id)
    owner = next((k for k in stored if k.role == parsed.role and auth.secret_matches(parsed.secret, k.secret_hash)),
                 None)
    if owner is None:
        raise bad_key()
    _check_opens(owner, slug, role)
    return owner


def _forbidden(slug: str, role: str) -> ApiError:
    return ApiError(403, "Forbidden", f"this key does not open this route; it needs the {role} key "
                                      f"of community {slug!r}")


def _check_opens(owner: StoredKey, slug: str, role: str) -> None:
    if owner.role != role or owner.slug != slug:
        raise _forbidden(slug, role)


@dataclass(frozen=True)
class PlatformKey:
    """The platform key of a request, and the community it opens, as this process knows them."""

    key: auth.ParsedKey
    owner: StoredKey


async def platform_key(request: Request, slug: SlugPath, credentials: Credentials) -> PlatformKey:
    """The request's platform key for ``slug``: from :class:`~belonging.service.keys.KnownKeys` with
    no query when this process has checked it before, else checked with one (on a connection of
    its own, returned at once).

    The route must have the database confirm the key is still active in the statement that uses
    it (``record_suggestions`` does), and forget it when it is not.
    """
    token = _token(credentials)
    parsed = auth.parse_key(token)
    known: KnownKeys = request.app.state.known_keys
    owner = known.get(parsed) if parsed is not None else None
    if owner is None:
        async with autocommit_connection(request) as conn:
            owner = await key_owner(conn, slug, token, "platform", admin_token=request.app.state.admin_token)
        assert parsed is not None  # key_owner accepted it
        known.remember(parsed, owner)
    else:
        _check_opens(owner, slug, "platform")
    assert parsed is not None  # found, or key_owner accepted it
    _count_use(request, owner.community_id, parsed.key_id)
    return PlatformKey(parsed, owner)


def _count_use(request: Request, community_id: int, key_id: str) -> None:
    """Spend one request of the key's rate limit (429 when it is spent) and note that the key was used."""
    rate_limits.spend(request.app.state.rate_limiter, key_id, request.scope.setdefault("state", {}))
    request.app.state.key_usage.seen(community_id, key_id)


async def _authorised(
    request: Request, slug: str, conn: AsyncConnection, credentials: HTTPAuthorizationCredentials | None,
    role: str,
) -> CommunityRow:
    token = _token(credentials)
    owner = await key_owner(conn, slug, token, role, admin_token=request.app.state.admin_token)
    parsed = auth.parse_key(token)
    assert parsed is not None  # key_owner accepted it
    _count_use(request, owner.community_id, parsed.key_id)
    return await owner.community(conn)


async def platform_community(request: Request, slug: SlugPath, conn: Conn, credentials: Credentials) -> CommunityRow:
    return await _authorised(request, slug, conn, credentials, "platform")


async def organiser_community(
    request: Request, slug: SlugPath, conn: Conn, credentials: Credentials
) -> CommunityRow:
    return await _authorised(request, slug, conn, credentials, "organiser")


async def organiser_or_admin_community(
    request: Request, slug: SlugPath, conn: Conn, credentials: Credentials
) -> CommunityRow:
    """The community ``slug`` for its organiser key or the admin token (404 for the admin if it does not exist)."""
    token = _token(credentials)
    if auth.parse_key(token) is None and auth.tokens_equal(token, request.app.state.admin_token):
        community = await communities.by_slug(conn, slug)
        if community is None:
            raise ApiError(404, "Not found", f"community {slug!r} does not exist")
        return community
    return await _authorised(request, slug, conn, credentials, "organiser")

#: What every route behind a key can answer, whatever it does: its router's ``responses=``.
KEYED_ROUTE_ERRORS = {**problem_responses(403, 422),
                      401: problem_response(401, headers={"WWW-Authenticate": "`Bearer`: the scheme to use."}),
                      429: problem_response(429, headers={"Retry-After": "Seconds to wait before trying again."})}

AdminOnly = Depends(require_admin)
PlatformCommunity = Annotated[CommunityRow, Depends(platform_community)]
#: The platform key of the request, known to this process or checked with one query.
KnownPlatformKey = Annotated[PlatformKey, Depends(platform_key)]
OrganiserCommunity = Annotated[CommunityRow, Depends(organiser_community)]
OrganiserOrAdminCommunity = Annotated[CommunityRow, Depends(organiser_or_admin_community)]
