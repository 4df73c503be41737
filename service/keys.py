"""Key lifecycle: rotation with a grace period, recording when each key was last used, and
remembering where the platform keys lead.

Rotation issues a new key and lets the previous ones of that role work until the grace period
ends; then they get 401 like any unknown key, and dashboard sessions opened with them end.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from dataclasses import dataclass
from datetime import datetime

from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool

from belonging.service import auth
from belonging.service.repository import api_keys
from belonging.service.repository.communities import StoredKey

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


class KnownKeys:
    """Where the platform keys this process has checked lead, so the suggestion route asks the
    database nothing before its one statement.

    An entry is found by the key's id and the hash of its secret, so only the exact key that was
    checked finds it. It says which community the key opens and that community's settings as
    last read; whether the key is still active, and whether those settings are still current, is
    checked by the statement that uses the entry (``record_suggestions``), which says so when
    they are not (:meth:`forget`, :meth:`resettle`). A key revoked a moment ago is therefore
    refused by its very next request.
    """

    def __init__(self, max_entries: int = 10_000) -> None:
        self.max_entries = max_entries
        self._known: dict[tuple[str, bytes], StoredKey] = {}

    def get(self, key: auth.ParsedKey) -> StoredKey | None:
        return self._known.get((key.key_id, auth.hash_secret(key.secret)))

    def remember(self, key: auth.ParsedKey, stored: StoredKey) -> None:
        if len(self._known) >= self.max_entries:
            self._known.clear()  # a bound, not a policy: entries are one query each to refill
        self._known[(key.key_id, stored.secret_hash)] = stored

    def forget(self, stored: StoredKey, key_id: str) -> None:
        self._known.pop((key_id, stored.secret_hash), None)

    def resettle(self, stored: StoredKey, key_id: str, settings: dict) -> StoredKey:
        """``stored`` with the community's current ``settings``, remembered so."""
        updated = dataclasses.replace(stored, settings=settings)
        self._known[(key_id, stored.secret_hash)] = updated
        return updated
