"""A community's API keys: rotation with a grace period, listing, and when each was last used.

A key opens the API while its ``revoked_at`` is unset or still in the future; rotating sets the
old keys' ``revoked_at`` to the end of the grace period.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from psycopg import AsyncConnection
from psycopg.rows import class_row

from belonging.service.auth import IssuedKey

# The first key of the two-key advisory lock that serialises a community's rotations, so two
# rotations at once leave one active key per role, not two. Any constant nothing else uses.
_ROTATION_LOCK = 7_240_401


@dataclass(frozen=True)
class KeyRow:
    key_id: str
    role: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None
    active: bool


async def rotate(conn: AsyncConnection, community_id: int, new_key: IssuedKey, grace_seconds: int) -> datetime:
    """Store ``new_key`` and revoke the community's other keys of its role after ``grace_seconds``.

    A key already due to stop sooner keeps its earlier end. Dashboard sessions opened with a key
    that stops now are closed at once; the others end with their key. Returns when the previous
    keys stop working.
    """
    params = {"cid": community_id, "role": new_key.role, "key_id": new_key.key_id,
              "secret_hash": new_key.secret_hash, "grace": grace_seconds, "lock": _ROTATION_LOCK}
    await conn.execute("SELECT pg_advisory_xact_lock(%(lock)s, hashint8(%(cid)s))", params)
    cur = await conn.execute("SELECT now() + make_interval(secs => %(grace)s)", params)
    row = await cur.fetchone()
    assert row is not None
    valid_until: datetime = row[0]
    await conn.execute(
        "UPDATE api_keys SET revoked_at = least(coalesce(revoked_at, 'infinity'), %(until)s)"
        " WHERE community_id = %(cid)s AND role = %(role)s AND (revoked_at IS NULL OR revoked_at > now())",
        {**params, "until": valid_until},
    )
    await conn.execute(
        "INSERT INTO api_keys (community_id, key_id, role, secret_hash)"
        " VALUES (%(cid)s, %(key_id)s, %(role)s, %(secret_hash)s)",
        params,
    )
    await conn.execute(
        "DELETE FROM dashboard_sessions s USING api_keys k"
        " WHERE s.community_id = %(cid)s AND k.community_id = s.community_id AND k.key_id = s.key_id"
        " AND k.revoked_at <= now()",
        params,
    )
    return valid_until


async def list_keys(conn: AsyncConnection, community_id: int) -> list[KeyRow]:
    """Every key of the community, newest first; never their secrets."""
    async with conn.cursor(row_factory=class_row(KeyRow)) as cur:
        await cur.execute(
            "SELECT key_id, role, created_at, last_used_at, revoked_at,"
            " (revoked_at IS NULL OR revoked_at > now()) AS active"
            " FROM api_keys WHERE community_id = %(cid)s ORDER BY created_at DESC, key_id",
            {"cid": community_id},
        )
        return await cur.fetchall()


async def touch(conn: AsyncConnection, community_id: int, key_id: str) -> None:
    """Record that the key was used now, unless that was recorded in the last minute."""
    await conn.execute(
        "UPDATE api_keys SET last_used_at = now()"
        " WHERE community_id = %(cid)s AND key_id = %(key_id)s"
        " AND (last_used_at IS NULL OR last_used_at < now() - interval '1 minute')",
        {"cid": community_id, "key_id": key_id},
    )
