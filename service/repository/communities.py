"""Communities, their keys, settings and revision counter."""

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
                " RETURNING community_id, slug, name, settings, revision",
                {"slug": slug, "name": name},
            )
            community = await cur.fetchone()
    except errors.UniqueViolation:
        raise conflict(f"a community with slug {slug!r} already exists; choose another slug") from None
    assert community is not None
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


async def by_slug(conn: AsyncConnection, slug: str) -> CommunityRow | None:
    async with conn.cursor(row_factory=class_row(CommunityRow)) as cur:
        await cur.execute(
            "SELECT community_id, slug, name, settings, revision FROM communities WHERE slug = %(slug)s",
            {"slug": slug},
        )
        return await cur.fetchone()


@dataclass(frozen=True)
class StoredKey:
    community: CommunityRow
    role: str
    secret_hash: bytes


async def active_keys(conn: AsyncConnection, key_id: str) -> list[StoredKey]:
    """Every active key with id ``key_id`` (one, unless two communities drew the same id), with its community.

    A rotated key stays active until the end of its grace period (``revoked_at`` in the future).
    """
    cur = await conn.execute(
        "SELECT c.community_id, c.slug, c.name, c.settings, c.revision, k.role, k.secret_hash FROM api_keys k"
        " JOIN communities c ON c.community_id = k.community_id"
        " WHERE k.key_id = %(key_id)s AND (k.revoked_at IS NULL OR k.revoked_at > now())",
        {"key_id": key_id},
    )
    return [StoredKey(CommunityRow(*row[:5]), row[5], bytes(row[6])) for row in await cur.fetchall()]


async def update_settings(conn: AsyncConnection, community_id: int, settings: dict[str, Any]) -> None:
    await conn.execute(
        "UPDATE communities SET settings = %(settings)s WHERE community_id = %(cid)s",
        {"settings": Jsonb(settings), "cid": community_id},
    )
