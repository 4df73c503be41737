"""Transaction-level advisory locks: who waits for whom when rows alone cannot say.

Imports. A bulk import reads what exists (which members are new, whether the community has
ties yet) and then writes on that basis with COPY, so nothing may change members or ties
between its read and its commit. An import takes the community's write lock exclusively; a
single write that could collide with one (creating or erasing a member, creating a tie) takes
it shared, so single writes never wait for each other, only for an import, and an import waits
for the single writes already under way.

Seats. A group's capacity is held by locking the group row and counting after the lock; "no two
members who block each other share a group" spans rows of two tables, so seat writes take the
community's seat lock shared (they exclude each other per group, by the group row) and block
writes take it exclusively: no seat write runs between a block and the check that honours it.

Exposures. How often a member was proposed to others is a count over suggestion rows, and a
count has no row to lock; a request locks each candidate it may record before counting.

All locks are released when the transaction ends. Keys are 64-bit hashes of a namespaced text,
so a clash with another advisory lock in the database is practically impossible (and would only
make two transactions wait for each other, never break a rule).
"""

from __future__ import annotations

from collections.abc import Sequence

from psycopg import AsyncConnection


async def import_exclusively(conn: AsyncConnection, community_id: int) -> None:
    """Wait until no other import or colliding single write is in flight in the community, then hold it."""
    await conn.execute(
        "SELECT pg_advisory_xact_lock(hashtextextended('belonging.community_writes:' || %(cid)s::text, 0))",
        {"cid": community_id},
    )


async def erasures(conn: AsyncConnection, community_id: int) -> None:
    """One member erasure at a time per community, until the transaction ends.

    An erasure cascades through ties, seats and round pairs, which may name the member being
    erased next, and moves the revision on the way: two at once could each hold what the other's
    cascade needs next. Erasures are rare; queueing them costs nothing a user would notice.
    """
    await conn.execute(
        "SELECT pg_advisory_xact_lock(hashtextextended('belonging.erasures:' || %(cid)s::text, 0))",
        {"cid": community_id},
    )


async def write_beside_imports(conn: AsyncConnection, community_id: int) -> None:
    """Wait for an import in the community to finish; any number of single writes hold this at once.

    Inside a pipeline the statement travels with the write that follows it: no extra round trip.
    """
    await conn.execute(
        "SELECT pg_advisory_xact_lock_shared(hashtextextended('belonging.community_writes:' || %(cid)s::text, 0))",
        {"cid": community_id},
    )


async def exposures(conn: AsyncConnection, community_id: int, candidate_ids: Sequence[str]) -> None:
    """Hold the exposure counters of ``candidate_ids`` until the transaction ends.

    Keys are taken in sorted order, so two requests with overlapping candidates queue instead
    of deadlocking. Count exposures in a later statement: its snapshot is taken after the wait,
    so it sees what earlier holders committed. Inside a pipeline this adds no round trip.
    """
    await conn.execute(
        """
        SELECT count(pg_advisory_xact_lock(key)) FROM (
            SELECT DISTINCT hashtextextended('belonging.exposure:' || %(cid)s::text || ':' || candidate_id, 0) AS key
              FROM unnest(%(candidates)s::text[]) AS c(candidate_id)
             ORDER BY key) AS keys
        """,
        {"cid": community_id, "candidates": list(candidate_ids)},
    )


async def seat_writes(conn: AsyncConnection, community_id: int, *, exclusive: bool = False) -> None:
    """Hold the community's seat lock until the transaction ends: shared for seat writes,
    exclusive for block writes."""
    function = "pg_advisory_xact_lock" if exclusive else "pg_advisory_xact_lock_shared"
    await conn.execute(
        "SELECT " + function + "(hashtextextended('belonging.seat_writes:' || %(cid)s::text, 0))",
        {"cid": community_id},
    )


async def try_index_build(conn: AsyncConnection, machine: str, community_id: int) -> bool:
    """Claim the right to build ``community_id``'s suggestion index on ``machine``; False if taken.

    Unlike the locks above this one is held by the session, not a transaction: a build reads a
    snapshot and then computes for seconds outside any transaction. It ends with the connection,
    so a builder that dies (killed server included) releases it.
    """
    cur = await conn.execute(
        "SELECT pg_try_advisory_lock(hashtextextended('belonging.index_build:' || %(machine)s || ':'"
        " || %(cid)s::text, 0))",
        {"machine": machine, "cid": community_id},
    )
    row = await cur.fetchone()
    return bool(row and row[0])


async def try_lead(conn: AsyncConnection, machine: str) -> bool:
    """Claim leadership among the processes of ``machine``; False if another of them holds it.

    The leader runs the background jobs (the job queue, the daily snapshots): one process per
    machine, and every machine's leader takes jobs from the same queue. Session-level, like
    index builds: it is held on a connection of the leader's own for as long as it lives.
    """
    cur = await conn.execute("SELECT pg_try_advisory_lock(hashtextextended('belonging.leader:' || %(machine)s, 0))",
                             {"machine": machine})
    row = await cur.fetchone()
    return bool(row and row[0])
