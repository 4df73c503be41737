"""Queries that read across communities, for background work only.

On Citus, a query that does not name one community runs on every shard ("fans out"). Requests
never do that; the Citus test run turns such queries into errors for the service's connections
(``BELONGING_MULTI_SHARD_QUERY_LOG_LEVEL=error``). The job queue's search for due jobs, the daily
snapshot scheduler and the metrics scrape read across communities on purpose, and say so here, for
one transaction at a time. On a single PostgreSQL the setting is an unused placeholder.
"""

from __future__ import annotations

from psycopg import AsyncConnection


async def allow_fan_out(conn: AsyncConnection) -> None:
    """Let this transaction (it must be open) run queries over every shard."""
    await conn.execute("SET LOCAL citus.multi_task_query_log_level TO off")
