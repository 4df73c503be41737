"""Transaction-level advisory locks on a community's member and tie writes.

A bulk import reads what exists (which members are new, whether the community has ties yet)
and then writes on that basis with COPY, so nothing else may change members or ties between
its read and its commit. An import takes the community's write lock exclusively; a single
write that could collide with one (creating or erasing a member, creating a tie) takes it
shared, so single writes never wait for each other, only for an import, and an import waits
for the single writes already under way. Both are released when the transaction ends.

Lock keys are 64-bit hashes of a namespaced text, so they do not collide with other advisory
locks in the same database.
"""

from __future__ import annotations

from psycopg import AsyncConnection


async def import_exclusively(conn: AsyncConnection, community_id: int) -> None:
    """Wait until no other import or colliding single write is in flight in the community, then hold it."""
    await conn.execute(
        "SELECT pg_advisory_xact_lock(hashtextextended('belonging.community_writes:' || %(cid)s::text, 0))",
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
