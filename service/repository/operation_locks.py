"""Transaction-level advisory locks that let one expensive operation per community run at a time."""

from __future__ import annotations

from psycopg import AsyncConnection

#: The first key of each operation's two-key advisory lock; the second is the community id. Any
#: constants work as long as nothing else uses them.
OPERATION_LOCKS = {
    "silo_report": 7_240_501,
    "what_if": 7_240_502,
    "placement": 7_240_503,
    "import": 7_240_504,
    "round": 7_240_505,
    # Taken with community 0: one process at a time queues the daily snapshots of every community.
    "daily_schedule": 7_240_506,
}


def lock_key(operation: str, community_id: int) -> tuple[int, int]:
    """The advisory lock's two int4 keys. Community ids are a sequence, so below 2**31 they never collide."""
    return OPERATION_LOCKS[operation], community_id % 2**31


async def try_lock(conn: AsyncConnection, operation: str, community_id: int) -> bool:
    """Take the community's lock for ``operation`` until this transaction ends; False if another holds it."""
    first, second = lock_key(operation, community_id)
    cur = await conn.execute("SELECT pg_try_advisory_xact_lock(%(first)s, %(second)s)",
                             {"first": first, "second": second})
    row = await cur.fetchone()
    assert row is not None
    return bool(row[0])


async def wait_for_lock(conn: AsyncConnection, operation: str, community_id: int) -> None:
    """Take the community's lock for ``operation`` until this transaction ends, waiting for any holder."""
    first, second = lock_key(operation, community_id)
    await conn.execute("SELECT pg_advisory_xact_lock(%(first)s, %(second)s)", {"first": first, "second": second})
