"""Communities, their keys, settings and revision counter.

Communities and keys are small tables read by every request (on Citus, reference tables: a copy
on every node); the revision lives in ``community_revisions``, beside the community's own rows
(on Citus, on the community's shard), so it is read by the community's id, never by a join.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from psycopg import AsyncConnection, errors
from psycopg.rows import class_row
from psycopg.types.json import Jsonb

from belonging.service.auth import IssuedKey
from belonging.service.errors import conflict


@dataclass(frozen=True)
class CommunityRow:
    community_id: int
    slug: str
    name: str
    settings: dict[str, Any]
    revision: int


async def create(conn: AsyncConnection, slug: str, name: str, keys: list[IssuedKey]) -> CommunityRow:
    try:
        async with conn.cursor(row_factory=class_row(CommunityRow)) as cur:
            await cur.execute(
                "INSERT INTO communities (slug, name) VALUES (%(slug)s, %(name)s)"
                " RETURNING community_id, slug, name, settings, 0 AS revision",
                {"slug": slug, "name": name},
            )
            community = await cur.fetchone()
    except errors.UniqueViolation:
        raise conflict(f"a community with slug {slug!r} already exists; choose another slug") from None
    assert community is not None
    await conn.execute("INSERT INTO community_revisions (community_id) VALUES (%(cid)s)",
                       {"cid": community.community_id})
    async with conn.cursor() as cur:
        await cur.executemany(
            "INSERT INTO api_keys (community_id, key_id, role, secret_hash)"
            " VALUES (%(community_id)s, %(key_id)s, %(role)s, %(secret_hash)s)",
            [
                {"community_id": community.community_id, "key_id": k.key_id, "role": k.role,
                 "secret_hash": k.secret_hash}
                for k in keys
            ],
        )
    return community


async def current_revision(conn: AsyncConnection, community_id: int) -> int:
    cur = await conn.execute("SELECT revision FROM community_revisions WHERE community_id = %(cid)s",
                             {"cid": community_id})
    row = await cur.fetchone()
    return int(row[0]) if row else 0


async def by_slug(conn: AsyncConnection, slug: str) -> CommunityRow | None:
    cur = await conn.execute(
        "SELECT community_id, slug, name, settings FROM communities WHERE slug = %(slug)s", {"slug": slug}
    )
    row = await cur.fetchone()
    if row is None:
        return None
    community_id, found_slug, name, settings = row
    return CommunityRow(community_id, found_slug, name, settings, await current_revision(conn, community_id))


@dataclass(frozen=True)
class StoredKey:
    community_id: int
    slug: str
    name: str
    settings: dict[str, Any]
    role: str
    secret_hash: bytes

    async def community(self, conn: AsyncConnection) -> CommunityRow:
        """The key's community with its current revision."""
        return CommunityRow(self.community_id, self.slug, self.name, self.settings,
                            await current_revision(conn, self.community_id))


async def active_keys(conn: AsyncConnection, key_id: str) -> list[StoredKey]:
    """Every active key with id ``key_id`` (one, unless two communities drew the same id), with its community.

    A rotated key stays active until the end of its grace period (``revoked_at`` in the future).
    """
    cur = await conn.execute(
        "SELECT c.community_id, c.slug, c.name, c.settings, k.role, k.secret_hash FROM api_keys k"
        " JOIN communities c ON c.community_id = k.community_id"
        " WHERE k.key_id = %(key_id)s AND (k.revoked_at IS NULL OR k.revoked_at > now())",
        {"key_id": key_id},
    )
    return [StoredKey(cid, slug, name, settings, role, bytes(secret_hash))
            for cid, slug, name, settings, role, secret_hash in await cur.fetchall()]


async def update_settings(conn: AsyncConnection, community_id: int, settings: dict[str, Any]) -> None:
    await conn.execute(
        "UPDATE communities SET settings = %(settings)s WHERE community_id = %(cid)s",
        {"settings": Jsonb(settings), "cid": community_id},
    )
