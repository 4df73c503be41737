"""Key lifecycle: rotation with a grace period, and recording when each key was last used.

Rotation issues a new key and lets the previous ones of that role work until the grace period
ends; then they get 401 like any unknown key, and dashboard sessions opened with them end.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from datetime import datetime

from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool

from belonging.service import auth
from belonging.service.repository import api_keys

log = logging.getLogger("belonging.keys")

#: The longest grace period: a week gives a platform's deploy cycle time to roll the new key out.
MAX_GRACE_SECONDS = 7 * 24 * 3600
#: ``last_used_at`` is written at most once per key and process in this many seconds.
TOUCH_EVERY_S = 60.0


@dataclass(frozen=True)
class RotatedKey:
    role: str
    key: str
    previous_key_valid_until: datetime


async def rotate(conn: AsyncConnection, community_id: int, role: str, grace_seconds: int) -> RotatedKey:
    """Issue a new ``role`` key; the previous ones keep working for ``grace_seconds``."""
    if not 0 <= grace_seconds <= MAX_GRACE_SECONDS:
        raise ValueError(f"grace_seconds must lie between 0 and {MAX_GRACE_SECONDS}")
    issued = auth.issue_key(role)
    valid_until = await api_keys.rotate(conn, community_id, issued, grace_seconds)
    return RotatedKey(role, issued.token, valid_until)


class KeyUsage:
    """Records when keys were last used without adding a query to the request.

    Authentication stays one query: at most once a minute per key, this process writes
    ``last_used_at`` on a pooled connection of its own, after the request's check, in a short
    transaction that holds the key's row for no longer than the update.
    """

    def __init__(self, pool: AsyncConnectionPool, every_s: float = TOUCH_EVERY_S) -> None:
        self.pool = pool
        self.every_s = every_s
        self._touched: dict[tuple[int, str], float] = {}
        self._tasks: set[asyncio.Task] = set()

    def seen(self, community_id: int, key_id: str) -> None:
        now = time.monotonic()
        last = self._touched.get((community_id, key_id))
        if last is not None and now - last < self.every_s:
            return
        self._touched[(community_id, key_id)] = now
        task = asyncio.get_running_loop().create_task(self._touch(community_id, key_id))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _touch(self, community_id: int, key_id: str) -> None:
        try:
            async with self.pool.connection() as conn:
                await api_keys.touch(conn, community_id, key_id)
        except Exception:
            # A missed timestamp is written on the key's next use after the interval; it never
            # fails a request.
            log.warning("could not record a key's last use", exc_info=True)

    async def close(self) -> None:
        """Let pending writes finish (they take milliseconds)."""
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
