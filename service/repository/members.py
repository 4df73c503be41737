"""Members: upsert, read, erase, page through, bulk load."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from psycopg import AsyncConnection
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from belonging.service.repository import locks
from belonging.service.repository.copy import copy_rows

PROFILE_COLUMNS = (
    "display_name", "interests", "needs", "offers", "private_needs", "attributes", "formats",
    "languages", "open_to_suggestions", "belonging_score",
)
_SELECT = (
    "SELECT member_id, " + ", ".join(PROFILE_COLUMNS) + ", created_at, updated_at FROM members"
)


def _params(community_id: int, member_id: str, profile: dict[str, Any]) -> dict[str, Any]:
    params = {column: profile.get(column) for column in PROFILE_COLUMNS}
    params["attributes"] = Jsonb(profile.get("attributes") or {})
    params.update(community_id=community_id, member_id=member_id)
    return params


async def upsert(
    conn: AsyncConnection, community_id: int, member_id: str, profile: dict[str, Any]
) -> tuple[dict[str, Any], bool]:
    """Create or replace a member's profile. Returns (member, created).

    Waits for an import into the community to finish (see ``locks``).
    """
    assignments = ", ".join(f"{c} = EXCLUDED.{c}" for c in PROFILE_COLUMNS)
    async with conn.pipeline(), conn.cursor(row_factory=dict_row) as cur:
        await locks.write_beside_imports(conn, community_id)
        await cur.execute(
            "INSERT INTO members (community_id, member_id, " + ", ".join(PROFILE_COLUMNS) + ")"
            " VALUES (%(community_id)s, %(member_id)s, "
            + ", ".join(f"%({c})s" for c in PROFILE_COLUMNS) + ")"
            " ON CONFLICT (community_id, member_id) DO UPDATE SET "
            + assignments + ", updated_at = EXCLUDED.updated_at"
            " RETURNING member_id, " + ", ".join(PROFILE_COLUMNS)
            + ", created_at, updated_at, (xmax = 0) AS created",
            _params(community_id, member_id, profile),
        )
        row = await cur.fetchone()
    assert row is not None
    created = row.pop("created")
    return row, created


async def get(conn: AsyncConnection, community_id: int, member_id: str) -> dict[str, Any] | None:
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(
            _SELECT + " WHERE community_id = %(cid)s AND member_id = %(mid)s",
            {"cid": community_id, "mid": member_id},
        )
        return await cur.fetchone()


async def exists(conn: AsyncConnection, community_id: int, member_ids: Sequence[str]) -> set[str]:
    """Which of ``member_ids`` are members of the community."""
    cur = await conn.execute(
        "SELECT member_id FROM members WHERE community_id = %(cid)s AND member_id = ANY(%(ids)s)",
        {"cid": community_id, "ids": list(member_ids)},
    )
    return {r[0] for r in await cur.fetchall()}


async def lock_existing(conn: AsyncConnection, community_id: int, member_ids: Sequence[str]) -> set[str]:
    """Which of ``member_ids`` are members, each kept from being erased until the transaction ends."""
    cur = await conn.execute(
        "SELECT member_id FROM members WHERE community_id = %(cid)s AND member_id = ANY(%(ids)s)"
        " ORDER BY member_id FOR KEY SHARE",
        {"cid": community_id, "ids": list(member_ids)},
    )
    return {r[0] for r in await cur.fetchall()}


async def delete(conn: AsyncConnection, community_id: int, member_id: str) -> bool:
    """Erase a member and everything about them.

    Foreign keys cascade to ties, blocks, suggestions and group seats; a trigger deletes the
    placement proposals and job results that name the member (they are recomputable); report
    snapshots hold aggregates only. Waits for an import into the community to finish (see ``locks``).
    """
    async with conn.pipeline():
        await locks.write_beside_imports(conn, community_id)
        await locks.erasures(conn, community_id)
        cur = await conn.execute("DELETE FROM members WHERE community_id = %(cid)s AND member_id = %(mid)s",
                                 {"cid": community_id, "mid": member_id})
    return bool(cur.rowcount)


async def page(
    conn: AsyncConnection, community_id: int, limit: int, after: str | None
) -> list[dict[str, Any]]:
    """Up to ``limit`` members in id order, starting after ``after``."""
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(
            _SELECT + " WHERE community_id = %(cid)s AND (%(after)s::text IS NULL"
            " OR member_id > %(after)s) ORDER BY member_id LIMIT %(limit)s",
            {"cid": community_id, "after": after, "limit": limit},
        )
        return await cur.fetchall()


async def all_ids(conn: AsyncConnection, community_id: int) -> set[str]:
    cur = await conn.execute(
        "SELECT member_id FROM members WHERE community_id = %(cid)s", {"cid": community_id}
    )
    return {r[0] for r in await cur.fetchall()}


async def all_profiles(conn: AsyncConnection, community_id: int) -> list[dict[str, Any]]:
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(
            _SELECT + " WHERE community_id = %(cid)s ORDER BY member_id", {"cid": community_id}
        )
        return await cur.fetchall()


async def profiles(conn: AsyncConnection, community_id: int, member_ids: Sequence[str]) -> list[dict[str, Any]]:
    """The profiles of those of ``member_ids`` who are members, by member id."""
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(
            _SELECT + " WHERE community_id = %(cid)s AND member_id = ANY(%(ids)s) ORDER BY member_id",
            {"cid": community_id, "ids": list(member_ids)},
        )
        return await cur.fetchall()


def _copy_row(community_id: int, member_id: str, profile: dict[str, Any]) -> tuple[Any, ...]:
    return (
        community_id, member_id, profile.get("display_name"), profile["interests"],
        profile["needs"], profile["offers"], profile["private_needs"],
        profile["attributes"], profile["formats"], profile["languages"],
        profile["open_to_suggestions"], profile.get("belonging_score"),
    )


_COPY_COLUMNS = "(community_id, member_id, " + ", ".join(PROFILE_COLUMNS) + ")"


async def bulk_load(
    conn: AsyncConnection, community_id: int, profiles: dict[str, dict[str, Any]]
) -> tuple[int, int]:
    """Create or replace many members with COPY, in the caller's transaction.

    New members are copied straight into the table; members that already exist go through a
    temporary table and one UPDATE. Returns (created, updated).
    """
    existing = await all_ids(conn, community_id)
    new_ids = [m for m in profiles if m not in existing]
    old_ids = [m for m in profiles if m in existing]
    if new_ids:
        await copy_rows(conn, "COPY members " + _COPY_COLUMNS + " FROM STDIN",
                        (_copy_row(community_id, m, profiles[m]) for m in new_ids))
    if old_ids:
        await conn.execute(
            "CREATE TEMP TABLE member_import (LIKE members INCLUDING DEFAULTS) ON COMMIT DROP"
        )
        await copy_rows(conn, "COPY member_import " + _COPY_COLUMNS + " FROM STDIN",
                        (_copy_row(community_id, m, profiles[m]) for m in old_ids))
        assignments = ", ".join(f"{c} = i.{c}" for c in PROFILE_COLUMNS)
        await conn.execute(
            "UPDATE members m SET " + assignments + ", updated_at = now() FROM member_import i"
            " WHERE m.community_id = %(cid)s AND i.community_id = %(cid)s AND m.member_id = i.member_id",
            {"cid": community_id},
        )
    return len(new_ids), len(old_ids)
